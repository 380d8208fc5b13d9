"""Sockets over readiness waits: `UnixNetwork` (an `eio.net.Network`) and its sockets.

Every socket is non-blocking. Each operation first tries the system call
(``recv_into``, ``send``, ``accept``...) and, only when it would block,
waits with `eio.lowlevel.wait_readable` / `wait_writable` and tries again.
A cancelled wait consumed nothing: the data stays in the socket.

When an accept fails for want of descriptors or memory (EMFILE, ENFILE,
ENOBUFS, ENOMEM), the error is raised at once (`eio.net.run_server` reports
it) and the socket's next accept first pauses 0.1 s, so that a server out of
descriptors does not spin.

A socket belongs to the switch it was made in and is closed when that switch
finishes; closing it earlier takes it off the switch; closing twice is
harmless. Closing a socket that fibers wait on (in any domain) wakes them
with `eio.ResourceClosed`, as does any later use. Name lookups run on a
worker thread. Errors are `eio.Io` subclasses (`eio.lowlevel.from_oserror`).

A backend may subclass the socket classes (and name them in `UnixNetwork`'s
class attributes) to do some operations its own way.
"""

from __future__ import annotations

import array
import errno
import os
import socket
import stat
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Final, cast

from .. import flow as _flow
from .._core._cancel import ON
from .._core._clocks import sleep_until_monotonic
from .._core._loop import current_fiber
from .._core._switch import Switch
from .._core._threads import run_in_systhread
from .._flow._errors import EndOfFile
from .._io_errors import Io, from_oserror
from .._net.addr import (
    DatagramAddr,
    DatagramBind,
    Sockaddr,
    SocketAddress,
    StreamAddr,
    Udp,
    Unix,
    datagram_of_socket,
    stream_of_socket,
    to_socket,
)
from .._net.options import OptionSetting, apply_settings
from .._net.protocols import DatagramSocket, ListeningSocket, Network, StreamSocket
from ._fd import Fd

__all__ = ["UnixDatagramSocket", "UnixListeningSocket", "UnixNetwork", "UnixSocket", "UnixStreamSocket"]

NOSIGNAL: Final = getattr(socket, "MSG_NOSIGNAL", 0)  # elsewhere Python ignores SIGPIPE anyway


# A sendmsg takes at most IOV_MAX buffers; the rest go in the next write.
def _iov_max() -> int:
    if sys.platform != "win32" and "SC_IOV_MAX" in os.sysconf_names:
        return os.sysconf("SC_IOV_MAX")
    return 1024


IOV_MAX: Final = _iov_max()
# Accept errors after which the next accept waits ACCEPT_BACKOFF seconds first.
OUT_OF_RESOURCES: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_BACKOFF: Final = 0.1
_COPY_CHUNK: Final = 65536
_SHUT: Final[dict[str, int]] = {"receive": socket.SHUT_RD, "send": socket.SHUT_WR, "all": socket.SHUT_RDWR}
# connect() in progress: EINPROGRESS (POSIX), WSAEWOULDBLOCK (Windows).
_CONNECTING: Final = frozenset({errno.EINPROGRESS, errno.EWOULDBLOCK, 10035})


def check_cancelled() -> None:
    """Raise `eio.Cancelled` now if the current fiber's context is cancelled."""
    cc = current_fiber().cc
    if cc.state != ON:
        cc.check()


class UnixSocket:
    """What every socket has: the `socket.socket`, its `Fd` holder, options, closing."""

    __slots__ = ("_sock", "_fd")

    kind: ClassVar[str] = "socket"

    def __init__(self, sock: socket.socket, sw: Switch) -> None:
        self._sock = sock
        self._fd = Fd(sock.fileno(), self.kind, closer=sock.close)
        try:
            self._fd.attach(sw)
        except BaseException:
            sock.close()  # a finished switch runs the hook at once; this covers the rest
            raise

    def __repr__(self) -> str:
        return repr(self._fd)

    def fileno(self) -> int:
        """The socket's file descriptor (`eio.ResourceClosed` once closed)."""
        if self._fd.closed:
            raise self._fd.closed_error("fileno")
        return self._fd.fd

    def setsockopt(self, level: int, option: int, value: int | bytes, /) -> None:
        """Set a socket option, as `socket.socket.setsockopt` does.

        For example ``setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)``
        (send small writes at once). Errors are `eio.Io`.
        """
        self._fd.use("setsockopt")
        try:
            self._sock.setsockopt(level, option, value)
        except OSError as ex:
            raise from_oserror(ex, f"setting socket option {level}/{option}") from ex
        finally:
            self._fd.unuse()

    def getsockopt(self, level: int, option: int, /) -> int:
        """The integer value of a socket option (``getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)``)."""
        self._fd.use("getsockopt")
        try:
            return self._sock.getsockopt(level, option)
        except OSError as ex:
            raise from_oserror(ex, f"getting socket option {level}/{option}") from ex
        finally:
            self._fd.unuse()

    def getsockopt_bytes(self, level: int, option: int, buflen: int, /) -> bytes:
        """The raw value of a socket option, at most ``buflen`` bytes (a ``struct linger``...)."""
        self._fd.use("getsockopt")
        try:
            return self._sock.getsockopt(level, option, buflen)
        except OSError as ex:
            raise from_oserror(ex, f"getting socket option {level}/{option}") from ex
        finally:
            self._fd.unuse()

    def _error(self, ex: OSError, what: str) -> Io:
        if self._fd.closed:
            return self._fd.closed_error(what)
        return from_oserror(ex)

    async def close(self) -> None:
        """Close the socket (idempotent) and take it off its switch."""
        self._fd.close()

    @property
    def family(self) -> int:
        """The socket's address family (``socket.AF_INET``, ``AF_INET6``, ``AF_UNIX``)."""
        return self._sock.family

    @property
    def type(self) -> int:
        """The socket's type (``socket.SOCK_STREAM``, ``SOCK_DGRAM``)."""
        return self._sock.type

    async def send_msg(self, bufs: Sequence[bytes | memoryview], fds: Sequence[int], /) -> None:
        """Send all of ``bufs``, with copies of the descriptors ``fds`` (``SCM_RIGHTS``) along with the first byte.

        See `eio.unix.net.send_msg`. A datagram socket sends one message.
        """
        if sys.platform == "win32":
            raise OSError(errno.EOPNOTSUPP, "passing descriptors needs Unix sockets")
        check_cancelled()
        holder = self._fd
        holder.use("send_msg")
        try:
            ancdata = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())] if fds else []
            views = [memoryview(b).cast("B") for b in bufs]
            while True:
                try:
                    sent = self._sock.sendmsg(views[:IOV_MAX], ancdata, NOSIGNAL)
                except BlockingIOError:
                    await holder.wait_writable("send_msg")
                    continue
                except OSError as ex:
                    raise self._error(ex, "send_msg") from ex
                ancdata = []  # the descriptors went with the first bytes
                if self._sock.type != socket.SOCK_STREAM:
                    return  # one message
                while views and sent >= len(views[0]):
                    sent -= len(views[0])
                    views.pop(0)
                if not views:
                    return
                views[0] = views[0][sent:]
        finally:
            holder.unuse()

    async def recv_msg_with_fds(self, sw: Switch, buf: memoryview, max_fds: int, /) -> tuple[int, list[Fd]]:
        """Receive into ``buf`` and take the descriptors that came with the bytes (at most ``max_fds``).

        See `eio.unix.net.recv_msg_with_fds`. The descriptors are owned by
        ``sw``. A stream socket at end-of-file raises `eio.EndOfFile`.
        """
        if sys.platform == "win32":
            raise OSError(errno.EOPNOTSUPP, "passing descriptors needs Unix sockets")
        sw.check()
        check_cancelled()
        holder = self._fd
        holder.use("recv_msg")
        flags = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
        try:
            while True:
                try:
                    n, ancdata, _msg_flags, _addr = self._sock.recvmsg_into([buf], socket.CMSG_SPACE(max_fds * 4), flags)
                    break
                except BlockingIOError:
                    await holder.wait_readable("recv_msg")
                except OSError as ex:
                    raise self._error(ex, "recv_msg") from ex
        finally:
            holder.unuse()
        numbers: list[int] = []
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
                numbers.extend(fds)
        # The control buffer is rounded up: close what came beyond ``max_fds``.
        for extra in numbers[max_fds:]:
            os.close(extra)
        del numbers[max_fds:]
        received: list[Fd] = []
        try:
            for number in numbers:
                if not flags:
                    os.set_inheritable(number, False)
                fd = Fd(number, "received descriptor")
                received.append(fd)
                fd.attach(sw)
        except BaseException:
            for fd in received:
                fd.close()
            for number in numbers[len(received) :]:
                os.close(number)
            raise
        if n == 0 and not received and self._sock.type == socket.SOCK_STREAM and len(buf) > 0:
            raise EndOfFile()
        return n, received


class UnixStreamSocket(UnixSocket):
    """A connected stream socket (TCP or Unix): an `eio.net.StreamSocket`.

    Besides the flow methods it has `setsockopt` / `getsockopt`, `fileno`,
    `local_addr` and `peer_addr`.
    """

    __slots__ = ("_recv_into", "_send", "_sendmsg")

    kind: ClassVar[str] = "stream socket"

    def __init__(self, sock: socket.socket, sw: Switch) -> None:
        super().__init__(sock, sw)
        # Bound once: the hot paths call these for every read and write.
        self._recv_into = sock.recv_into
        self._send = sock.send
        self._sendmsg = sock.sendmsg if sys.platform != "win32" else None  # Windows sockets have none

    def local_addr(self) -> StreamAddr:
        """The socket's own address."""
        return stream_of_socket(self._sock.getsockname())

    def peer_addr(self) -> StreamAddr:
        """The address of the other end."""
        return stream_of_socket(self._sock.getpeername())

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at least one byte into ``buf``; `eio.EndOfFile` once the peer shut down its side."""
        cc = current_fiber().cc  # `check_cancelled`, inlined
        if cc.state != ON:
            cc.check()
        holder = self._fd
        users = holder.users  # `holder.use()`, inlined (see `Fd`)
        users.append(None)
        try:
            if holder.closing:
                raise holder.closed_error("read")
            while True:
                try:
                    n = self._recv_into(buf)
                    break
                except BlockingIOError:
                    await holder.wait_readable("read")
                except OSError as ex:
                    raise self._error(ex, "read") from ex
        finally:
            users.pop()  # `holder.unuse()`, inlined
            if holder.closing and not users:
                holder.release()
        if n:
            return n
        raise EndOfFile()

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write at least one byte of ``bufs``; return how many were written."""
        cc = current_fiber().cc  # `check_cancelled`, inlined: this is the hot path
        if cc.state != ON:
            cc.check()
        holder = self._fd
        users = holder.users  # `holder.use()`, inlined (see `Fd`)
        users.append(None)
        try:
            if holder.closing:
                raise holder.closed_error("write")
            while True:
                try:
                    if len(bufs) == 1:
                        return self._send(bufs[0], NOSIGNAL)
                    if self._sendmsg is None:
                        return self._send(bufs[0], NOSIGNAL)
                    return self._sendmsg(bufs[:IOV_MAX], (), NOSIGNAL)
                except BlockingIOError:
                    await holder.wait_writable("write")
                except OSError as ex:
                    raise self._error(ex, "write") from ex
        finally:
            users.pop()  # `holder.unuse()`, inlined
            if holder.closing and not users:
                holder.release()

    async def connect_to(self, target: SocketAddress) -> None:
        """Connect this new socket to ``target``; raise the `eio.Io` on failure (a backend may override)."""
        check_cancelled()
        fd = self._fd
        sock = self._sock
        fd.use("connect")
        try:
            code = sock.connect_ex(target)
            if code in _CONNECTING:
                await fd.wait_writable("connect")
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError as ex:
            raise from_oserror(ex) from ex
        finally:
            fd.unuse()
        if code:
            raise from_oserror(OSError(code, os.strerror(code)))

    async def copy(self, src: _flow.Source, /) -> None:
        """Write everything ``src`` gives until its end (the sink fast path of `eio.flow.copy`).

        From another stream socket it is one read/write loop over a reused
        buffer; from anything else, `eio.flow.simple_copy`.
        """
        if not isinstance(src, UnixStreamSocket):
            await _flow.simple_copy(self, src)
            return
        buf = memoryview(bytearray(_COPY_CHUNK))
        read, write = src.single_read, self.single_write
        while True:
            try:
                n = await read(buf)
            except EndOfFile:
                return
            sent = await write((buf[:n],))
            while sent < n:
                sent += await write((buf[sent:n],))

    async def shutdown(self, how: _flow.ShutdownCommand, /) -> None:
        """Shut down ``"receive"``, ``"send"`` (the peer then reads end-of-file) or ``"all"``."""
        self._fd.use("shutdown")
        try:
            self._sock.shutdown(_SHUT[how])
        except OSError as ex:
            if ex.errno != errno.ENOTCONN:  # the peer already went away: nothing left to shut
                raise self._error(ex, "shutdown") from ex
        finally:
            self._fd.unuse()


class UnixListeningSocket(UnixSocket):
    """A listening stream socket (TCP or Unix): an `eio.net.ListeningSocket`.

    It may be shared by several domains (`eio.net.run_server` with
    ``additional_domains``): each waits through its own loop.
    """

    __slots__ = ("_addr", "_resume_at")

    kind: ClassVar[str] = "listening socket"
    # The class of accepted sockets (a backend may use its own subclass).
    stream_class: ClassVar[type[UnixStreamSocket]] = UnixStreamSocket

    def __init__(self, sock: socket.socket, sw: Switch) -> None:
        super().__init__(sock, sw)
        self._addr = stream_of_socket(sock.getsockname())
        self._resume_at = 0.0

    def listening_addr(self) -> StreamAddr:
        """The bound address, with the real port if port 0 was asked for."""
        return self._addr

    async def accept(self, sw: Switch, /) -> tuple[StreamSocket, StreamAddr]:
        """Wait for a connection; return it (closed when ``sw`` finishes) and the peer's address."""
        sw.check()
        check_cancelled()
        if self._resume_at:
            # The last accept ran out of descriptors or memory: retrying at
            # once would fail again (the client stays in the backlog meanwhile).
            await sleep_until_monotonic(self._resume_at)
            self._resume_at = 0.0
        fd = self._fd
        fd.use("accept")
        try:
            while True:
                try:
                    conn, peer = self._sock.accept()
                    break
                except BlockingIOError:
                    await fd.wait_readable("accept")
                except OSError as ex:
                    if ex.errno in OUT_OF_RESOURCES:
                        self._resume_at = time.monotonic() + ACCEPT_BACKOFF
                    raise self._error(ex, "accept") from ex
        finally:
            fd.unuse()
        try:
            conn.setblocking(False)
            flow = self.stream_class(conn, sw)
        except BaseException:
            conn.close()
            raise
        return flow, stream_of_socket(peer)


class UnixDatagramSocket(UnixSocket):
    """A datagram socket (UDP or Unix): an `eio.net.DatagramSocket`."""

    __slots__ = ()

    kind: ClassVar[str] = "datagram socket"

    def local_addr(self) -> DatagramAddr:
        """The socket's own address (a port the OS picked, for ``"udpv4"`` / ``"udpv6"``)."""
        return datagram_of_socket(self._sock.getsockname())

    def _send_now(self, bufs: Sequence[bytes | memoryview], dst: SocketAddress | None) -> None:
        sock = self._sock
        if sys.platform == "win32":
            data = b"".join(bufs)
            if dst is None:
                sock.send(data)
            else:
                sock.sendto(data, dst)
        elif dst is None:
            sock.sendmsg(bufs, (), NOSIGNAL)
        else:
            sock.sendmsg(bufs, (), NOSIGNAL, dst)

    async def send(self, bufs: Sequence[bytes | memoryview], dst: DatagramAddr | None, /) -> None:
        """Send ``bufs`` as one message to ``dst`` (None: the connected peer)."""
        check_cancelled()
        target = None if dst is None else to_socket(dst)
        fd = self._fd
        fd.use("send")
        try:
            while True:
                try:
                    self._send_now(bufs, target)
                    return
                except BlockingIOError:
                    await fd.wait_writable("send")
                except OSError as ex:
                    raise self._error(ex, "send") from ex
        finally:
            fd.unuse()

    async def recv(self, buf: memoryview, /) -> tuple[DatagramAddr, int]:
        """Receive one message into ``buf``; return the sender and the bytes received.

        The part of a message that doesn't fit in ``buf`` is discarded.
        """
        check_cancelled()
        fd = self._fd
        fd.use("recv")
        try:
            while True:
                try:
                    n, sender = self._sock.recvfrom_into(buf)
                    return datagram_of_socket(sender), n
                except BlockingIOError:
                    await fd.wait_readable("recv")
                except OSError as ex:
                    raise self._error(ex, "recv") from ex
        finally:
            fd.unuse()

    async def single_read(self, buf: memoryview, /) -> int:
        """Read one message into ``buf`` (a connected socket); 0 for an empty message."""
        _addr, n = await self.recv(buf)
        return n

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Send ``bufs`` as one message to the connected peer; return its length."""
        await self.send(bufs, None)
        return sum(len(b) for b in bufs)


# -- making sockets ---------------------------------------------------------------


def new_socket(family: int, kind: int) -> socket.socket:
    """A new non-blocking, close-on-exec socket (errors as `eio.Io`)."""
    try:
        if sys.platform == "linux":
            # One system call, and Python knows it is non-blocking.
            return socket.socket(family, kind | socket.SOCK_NONBLOCK)
        sock = socket.socket(family, kind)
        sock.setblocking(False)
        return sock
    except OSError as ex:
        raise from_oserror(ex, "creating a socket") from ex


def _remove_stale_unix_socket(path: str) -> None:
    if not path or path.startswith("\0"):
        return  # unnamed or abstract: no file
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def _bind(sock: socket.socket, addr: Sockaddr, reuse_addr: bool, reuse_port: bool) -> None:
    if isinstance(addr, Unix):
        if reuse_addr:
            _remove_stale_unix_socket(addr.path)
    else:
        if reuse_addr and sys.platform != "win32":  # Windows' SO_REUSEADDR allows stealing a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_REUSEPORT"), 1)
    sock.bind(to_socket(addr))


def _sockaddr_of_info(kind: int, sockaddr: object) -> Sockaddr | None:
    if kind == socket.SOCK_STREAM:
        return stream_of_socket(sockaddr)
    if kind == socket.SOCK_DGRAM:
        return datagram_of_socket(sockaddr)
    return None


class UnixNetwork:
    """The network over readiness waits (``env.net``): an `eio.net.Network`.

    The class attributes name the socket classes it makes, so a backend
    can use its own subclasses.
    """

    __slots__ = ()

    stream_class: ClassVar[type[UnixStreamSocket]] = UnixStreamSocket
    listening_class: ClassVar[type[UnixListeningSocket]] = UnixListeningSocket
    datagram_class: ClassVar[type[UnixDatagramSocket]] = UnixDatagramSocket

    def __repr__(self) -> str:
        return "<network>"

    async def listen(
        self, sw: Switch, addr: StreamAddr, backlog: int, reuse_addr: bool, reuse_port: bool, /
    ) -> ListeningSocket:
        """A socket listening on ``addr`` (closed when ``sw`` finishes); errors note the address."""
        sw.check()
        sock = new_socket(addr.family, socket.SOCK_STREAM)
        try:
            _bind(sock, addr, reuse_addr, reuse_port)
            sock.listen(backlog)
        except OSError as ex:
            sock.close()
            raise from_oserror(ex, f"listening on {addr}") from ex
        except BaseException:
            sock.close()
            raise
        return self.listening_class(sock, sw)

    async def connect(self, sw: Switch, addr: StreamAddr, /) -> StreamSocket:
        """A socket connected to ``addr`` (closed when ``sw`` finishes).

        A refused connection raises `eio.net.ConnectionFailure` (reason
        ``"refused"``); `eio.net.connect` adds the address as a note. If
        cancelled, the socket is closed (the connection is abandoned).
        """
        sw.check()
        sock = new_socket(addr.family, socket.SOCK_STREAM)
        flow = self.stream_class(sock, sw)  # from here on the switch closes it
        try:
            await flow.connect_to(to_socket(addr))
        except BaseException:
            await flow.close()
            raise
        return flow

    async def connect_with(
        self, sw: Switch, addr: StreamAddr, bind_to: StreamAddr | None, options: Sequence[OptionSetting[Any]], /
    ) -> StreamSocket:
        """`connect`, first setting ``options`` and binding the socket to ``bind_to`` (see `eio.net.connect`)."""
        sw.check()
        sock = new_socket(addr.family, socket.SOCK_STREAM)
        flow = self.stream_class(sock, sw)  # from here on the switch closes it
        try:
            apply_settings(flow, list(options), "eio.net.connect")
            if bind_to is not None:
                try:
                    sock.bind(to_socket(bind_to))
                except OSError as ex:
                    raise from_oserror(ex, f"binding to {bind_to}") from ex
            await flow.connect_to(to_socket(addr))
        except BaseException:
            await flow.close()
            raise
        return flow

    async def datagram_socket(self, sw: Switch, addr: DatagramBind, reuse_addr: bool, reuse_port: bool, /) -> DatagramSocket:
        """A datagram socket bound to ``addr``, or unbound for ``"udpv4"`` / ``"udpv6"``."""
        sw.check()
        if isinstance(addr, str):
            family = socket.AF_INET if addr == "udpv4" else socket.AF_INET6
            return self.datagram_class(new_socket(family, socket.SOCK_DGRAM), sw)
        sock = new_socket(addr.family, socket.SOCK_DGRAM)
        try:
            _bind(sock, addr, reuse_addr, reuse_port)
        except OSError as ex:
            sock.close()
            raise from_oserror(ex, f"binding to {addr}") from ex
        except BaseException:
            sock.close()
            raise
        return self.datagram_class(sock, sw)

    async def getaddrinfo(self, host: str, service: str, /) -> list[Sockaddr]:
        """The TCP and UDP addresses for ``host`` and ``service`` (looked up on a worker thread)."""

        def lookup() -> list[Sockaddr]:
            infos = socket.getaddrinfo(host, service or None)
            out: list[Sockaddr] = []
            for family, kind, _proto, _canon, sockaddr in infos:
                if family in (socket.AF_INET, socket.AF_INET6):
                    converted = _sockaddr_of_info(kind, sockaddr)
                    if converted is not None:
                        out.append(converted)
            return out

        try:
            return await run_in_systhread(lookup)
        except OSError as ex:
            raise from_oserror(ex) from ex

    async def getnameinfo(self, addr: Sockaddr, /) -> tuple[str, str]:
        """The host and service names for ``addr`` (looked up on a worker thread)."""
        flags = socket.NI_DGRAM if isinstance(addr, Udp) else 0
        if isinstance(addr, Unix):
            return (addr.path, "")
        target = to_socket(addr)

        def lookup() -> tuple[str, str]:
            return socket.getnameinfo(cast(tuple[str, int], target), flags)

        try:
            return await run_in_systhread(lookup)
        except OSError as ex:
            raise from_oserror(ex) from ex


# Structural checks: pyright fails here if a class stops satisfying its Protocol.
_check_net: Callable[[], Network] = UnixNetwork
_check_stream: Callable[[socket.socket, Switch], StreamSocket] = UnixStreamSocket
_check_listening: Callable[[socket.socket, Switch], ListeningSocket] = UnixListeningSocket
_check_dgram: Callable[[socket.socket, Switch], DatagramSocket] = UnixDatagramSocket
