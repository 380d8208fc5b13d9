"""Unix sockets beyond `eio.net` (Eio's ``Eio_unix.Net``): socket pairs, adopting OS sockets, passing descriptors.

- `socketpair_stream` / `socketpair_datagram`: two connected sockets;
- `import_socket_stream` / `import_socket_listening` / `import_socket_datagram`:
  an existing OS socket (a `socket.socket` or a descriptor number, made by
  another library or inherited) as an eio socket;
- `send_msg` / `recv_msg_with_fds`: bytes with descriptors (``SCM_RIGHTS``)
  over a Unix-domain socket, to another process or within this one.

Names are Eio's, in Python spelling; the module is ``eio.unix.net`` as
Eio's is ``Eio_unix.Net``. Every socket made here belongs to a switch
and is closed when it finishes, and waits for readiness through the running
loop, so it works on every backend with OS descriptors (io_uring, trio,
asyncio, selectors). The mock's in-memory loop has none: there these
functions raise `RuntimeError` saying so.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from typing import TypeVar

from .._core._loop import current_loop
from .._core._switch import Switch
from .._io_errors import Io, from_oserror
from ._fd import Fd
from ._net import UnixDatagramSocket, UnixListeningSocket, UnixSocket, UnixStreamSocket
from ._resources import FdLike, fd_of

__all__ = [
    "import_socket_datagram",
    "import_socket_listening",
    "import_socket_stream",
    "recv_msg_with_fds",
    "send_msg",
    "socketpair_datagram",
    "socketpair_stream",
]

S = TypeVar("S", bound=UnixSocket)

_DEFAULT_FAMILY = getattr(socket, "AF_UNIX", socket.AF_INET)  # Windows emulates pairs over loopback TCP


def _check_sw(sw: object, who: str) -> Switch:
    if not isinstance(sw, Switch):
        raise TypeError(f"{who}: sw must be an eio.Switch, got {type(sw).__name__}")
    return sw


def _need_descriptors(who: str) -> None:
    """A clear error on a loop without readiness waits (the mock's), before any socket exists."""
    poller = current_loop().poller
    if not hasattr(poller, "wait_readable"):
        raise RuntimeError(f"{who} needs a backend with OS descriptors; this loop's poller ({type(poller).__name__}) has none")


def _pair(sw: Switch, family: int, kind: int, cls: type[S], who: str) -> tuple[S, S]:
    sw.check()
    _need_descriptors(who)
    try:
        a, b = socket.socketpair(family, kind)
    except OSError as ex:
        raise from_oserror(ex, f"creating a socket pair ({who})") from ex
    for s in (a, b):
        s.setblocking(False)
    try:
        first = cls(a, sw)
    except BaseException:
        b.close()
        raise
    return first, cls(b, sw)


def socketpair_stream(sw: Switch, *, family: int = _DEFAULT_FAMILY) -> tuple[UnixStreamSocket, UnixStreamSocket]:
    """Two connected stream sockets, both closed when ``sw`` finishes (Eio's ``socketpair_stream``).

    What one writes the other reads; each is an `eio.net.StreamSocket`
    (``shutdown(..., "send")`` gives the other end-of-file). ``family``:
    ``socket.AF_UNIX`` by default (needed for `send_msg` with descriptors).
    """
    return _pair(
        _check_sw(sw, "eio.unix.net.socketpair_stream"), family, socket.SOCK_STREAM, UnixStreamSocket, "socketpair_stream"
    )


def socketpair_datagram(sw: Switch, *, family: int = _DEFAULT_FAMILY) -> tuple[UnixDatagramSocket, UnixDatagramSocket]:
    """Two connected datagram sockets, both closed when ``sw`` finishes (Eio's ``socketpair_datagram``).

    Each `eio.net.send` with ``dst=None`` arrives whole at the other as one message.
    """
    return _pair(
        _check_sw(sw, "eio.unix.net.socketpair_datagram"), family, socket.SOCK_DGRAM, UnixDatagramSocket, "socketpair_datagram"
    )


# -- adopting OS sockets --------------------------------------------------------------------------


def _adopt(sw: object, sock: object, close_unix: bool, who: str) -> socket.socket:
    """``sock`` (a `socket.socket`, a descriptor number, an `eio.unix.Fd`) as a non-blocking socket we own."""
    sw = _check_sw(sw, who)
    sw.check()
    _need_descriptors(who)
    if not isinstance(close_unix, bool):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"{who}: close_unix must be a bool, got {close_unix!r}")
    if isinstance(sock, socket.socket):
        if sock.fileno() < 0:
            raise ValueError(f"{who}: the socket {sock!r} is closed")
        adopted = sock if close_unix else sock.dup()
    else:
        if isinstance(sock, Fd):
            number, close_unix = sock.fileno(), False  # its switch still owns the original
        elif isinstance(sock, int) and not isinstance(sock, bool):
            number = sock
        else:
            raise TypeError(f"{who}: expected a socket.socket, a descriptor (int) or an eio.unix.Fd, got {sock!r}")
        try:
            os.fstat(number)
        except (OSError, ValueError):
            raise ValueError(f"{who}: descriptor {number} is not open") from None
        if not close_unix:
            number = os.dup(number)
        try:
            adopted = socket.socket(fileno=number)
        except OSError as ex:
            if not close_unix:
                os.close(number)
            raise ValueError(
                f"{who}: descriptor {sock if isinstance(sock, int) else number} is not a socket ({ex.strerror})"
            ) from None
    try:
        adopted.setblocking(False)
    except OSError as ex:
        if adopted is not sock:
            adopted.close()
        raise from_oserror(ex, who) from ex
    return adopted


def _check_kind(sock: socket.socket, kind: int, what: str, original: object, who: str) -> None:
    if sock.type != kind:
        raise ValueError(f"{who}: {original!r} is not a {what}")


def import_socket_stream(sw: Switch, sock: socket.socket | int | Fd, *, close_unix: bool = True) -> UnixStreamSocket:
    """An existing connected stream socket as an eio one (Eio's ``import_socket_stream``), closed when ``sw`` finishes.

    ``sock`` is a `socket.socket`, a descriptor number or an `eio.unix.Fd`
    (such as one from `recv_msg_with_fds`). It is put in non-blocking mode.
    With ``close_unix=True`` (the default) eio takes it over: don't use or
    close it yourself any more. With ``close_unix=False`` eio works on a
    duplicate and the original stays yours; an `eio.unix.Fd` is always
    duplicated (its own switch closes it). `ValueError` if it is not open,
    not a socket, or not a stream socket.
    """
    who = "eio.unix.net.import_socket_stream"
    adopted = _adopt(sw, sock, close_unix, who)
    try:
        _check_kind(adopted, socket.SOCK_STREAM, "stream socket", sock, who)
        return UnixStreamSocket(adopted, sw)
    except BaseException:
        if adopted is not sock or close_unix:
            adopted.close()
        raise


def import_socket_listening(sw: Switch, sock: socket.socket | int | Fd, *, close_unix: bool = True) -> UnixListeningSocket:
    """An existing listening socket (bound, ``listen`` called) as an eio one, closed when ``sw`` finishes.

    Eio's ``import_socket_listening``; ``sock`` and ``close_unix`` as for
    `import_socket_stream`. `ValueError` if it is not listening.
    """
    who = "eio.unix.net.import_socket_listening"
    adopted = _adopt(sw, sock, close_unix, who)
    try:
        _check_kind(adopted, socket.SOCK_STREAM, "stream socket", sock, who)
        accepting = getattr(socket, "SO_ACCEPTCONN", None)
        if accepting is not None and not adopted.getsockopt(socket.SOL_SOCKET, accepting):
            raise ValueError(f"{who}: {sock!r} is not listening (call listen() first)")
        return UnixListeningSocket(adopted, sw)
    except BaseException:
        if adopted is not sock or close_unix:
            adopted.close()
        raise


def import_socket_datagram(sw: Switch, sock: socket.socket | int | Fd, *, close_unix: bool = True) -> UnixDatagramSocket:
    """An existing datagram socket as an eio one (Eio's ``import_socket_datagram``), closed when ``sw`` finishes.

    ``sock`` and ``close_unix`` as for `import_socket_stream`.
    """
    who = "eio.unix.net.import_socket_datagram"
    adopted = _adopt(sw, sock, close_unix, who)
    try:
        _check_kind(adopted, socket.SOCK_DGRAM, "datagram socket", sock, who)
        return UnixDatagramSocket(adopted, sw)
    except BaseException:
        if adopted is not sock or close_unix:
            adopted.close()
        raise


# -- passing descriptors ----------------------------------------------------------------------------


def _unix_socket(sock: object, who: str) -> UnixSocket:
    if not isinstance(sock, UnixSocket):
        raise TypeError(f"{who}: {sock!r} is not an OS socket of eio (from env.net, socketpair_stream or import_socket_*)")
    if sys.platform == "win32" or sock.family != getattr(socket, "AF_UNIX", None):
        raise ValueError(f"{who}: descriptors can only be passed over a Unix-domain socket, not {sock!r}")
    return sock


async def send_msg(sock: UnixSocket, bufs: Sequence[bytes | memoryview], *, fds: Sequence[FdLike] = ()) -> None:
    """Send all of ``bufs`` over the Unix-domain socket ``sock``, with copies of the descriptors ``fds`` (Eio's ``send_msg``).

    ``fds``: descriptor numbers or resources that have one (an `eio.unix.Fd`,
    a socket, a pipe end, an open file); the receiver gets its own copies
    (``SCM_RIGHTS``), with the first bytes, so ``bufs`` must not be empty
    when ``fds`` isn't. Ours stay open. `ValueError` for a closed or invalid
    descriptor or a socket that is not a Unix-domain one, `TypeError` for
    something that is neither a descriptor nor has one.
    """
    who = "eio.unix.net.send_msg"
    s = _unix_socket(sock, who)
    numbers = [_check_fd(fd, who) for fd in fds]
    if numbers and not any(len(b) for b in bufs):
        raise ValueError(f"{who}: descriptors travel with data: bufs must not be empty")
    try:
        await s.send_msg(bufs, numbers)
    except Io as ex:
        ex.add_note(f"sending a message over {s!r}")
        raise


def _check_fd(fd: object, who: str) -> int:
    if isinstance(fd, bool):
        raise TypeError(f"{who}: fds must hold descriptors, got {fd!r}")
    number = fd if isinstance(fd, int) else fd_of(fd)
    try:
        os.fstat(number)
    except (OSError, ValueError):
        raise ValueError(f"{who}: descriptor {number} is not open") from None
    return number


async def recv_msg_with_fds(
    sw: Switch, sock: UnixSocket, buf: bytearray | memoryview, *, max_fds: int
) -> tuple[int, list[Fd]]:
    """Receive bytes into ``buf`` and the descriptors that came with them (Eio's ``recv_msg_with_fds``).

    Returns ``(n, fds)``: the number of bytes and at most ``max_fds``
    descriptors (the kernel closes any beyond), each an `eio.unix.Fd` owned
    by ``sw`` (closed when it finishes, or earlier with ``fd.close()``).
    Make one a flow with `eio.unix.import_flow` or a socket with
    `import_socket_stream`. A stream socket at end-of-file raises
    `eio.EndOfFile`.
    """
    who = "eio.unix.net.recv_msg_with_fds"
    sw = _check_sw(sw, who)
    s = _unix_socket(sock, who)
    if not isinstance(max_fds, int) or isinstance(max_fds, bool) or max_fds < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"{who}: max_fds must be an int >= 0, got {max_fds!r}")
    view = memoryview(buf)
    if view.readonly:
        raise TypeError(f"{who}: buf must be writable (a bytearray or a writable memoryview)")
    return await s.recv_msg_with_fds(sw, view.cast("B"), max_fds)
