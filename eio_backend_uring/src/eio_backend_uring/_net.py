"""The io_uring backend's network (``env.net``): TCP over IPv4 and IPv6, Unix sockets, UDP.

Every socket is non-blocking and close-on-exec. Writes and accepts first
try the system call directly (``send``, ``accept``): there is usually room,
or a client, and one system call beats any ring round trip. Only on EAGAIN
does the fiber queue a ring ``POLL_ADD`` and suspend; when it fires, the
call is tried again. Reads try ``recv_into`` first too, unless the previous
read emptied the socket (it returned less than the buffer could hold): then,
and on EAGAIN, the fiber queues one ring ``RECV`` that waits and receives.
(Measured on echo and HTTP keep-alive servers, skipping the attempt that
would fail and receiving in the ring cut the server's CPU time per request
by about a quarter.) A cancelled wait is cancelled in the kernel
(``ASYNC_CANCEL``); bytes that arrived anyway are returned, the rest stay
in the socket, so nothing is lost. Connecting is a ring ``CONNECT`` op
(cancellable too).
When an accept fails for want of descriptors or memory (EMFILE, ENFILE,
ENOBUFS, ENOMEM), the error is raised at once (`eio.net.run_server` reports
it to ``on_error``) and the socket's next accept first pauses 0.1 s, so that
a server out of descriptors does not spin. `eio.flow.copy` between two of
these sockets is one read/write loop over a reused buffer (the sink's
``copy``).

A socket belongs to the switch it was made in and is closed when that switch
finishes; closing it earlier removes it from the switch, and closing twice
is harmless. Closing a socket that fibers are waiting on (in any domain)
wakes them with `SocketClosed`, as does any later use.

Errors are `eio.Io` subclasses (made by ``eio._io_errors.from_oserror``): a peer reset
is `eio.net.ConnectionReset`, a refused connection `eio.net.ConnectionFailure`
(reason ``"refused"``), a name that can't be resolved
`eio.net.AddressLookupFailed`; the end of a stream is `eio.EndOfFile`.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
import time
from collections.abc import Callable, Sequence
from typing import Final, cast

import eio
from eio import Switch
from eio._io_errors import from_oserror
from eio.lowlevel import (
    ON,
    Loop,
    NoLoopRunning,
    current_fiber,
    current_loop,
    current_loop_or_none,
    run_in_systhread,
    sleep_until_monotonic,
)
from eio.net import (
    DatagramAddr,
    DatagramBind,
    DatagramSocket,
    ListeningSocket,
    Sockaddr,
    SocketAddress,
    StreamAddr,
    StreamSocket,
    Udp,
    Unix,
    datagram_of_socket,
    stream_of_socket,
    to_socket,
)

from ._ring import encode_sockaddr
from ._sched import Uring, check_cancelled

__all__ = [
    "SocketClosed",
    "UringDatagramSocket",
    "UringListeningSocket",
    "UringNetwork",
    "UringStreamSocket",
]

_POLLIN: Final = select.POLLIN
_POLLOUT: Final = select.POLLOUT
_NOSIGNAL: Final = socket.MSG_NOSIGNAL
# A sendmsg takes at most IOV_MAX buffers; the rest go in the next write.
_IOV_MAX: Final = os.sysconf("SC_IOV_MAX") if "SC_IOV_MAX" in os.sysconf_names else 1024
_NONBLOCK_STREAM: Final = socket.SOCK_STREAM | socket.SOCK_NONBLOCK
_NONBLOCK_DGRAM: Final = socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
# Accept errors after which the next accept waits _ACCEPT_BACKOFF seconds first.
_OUT_OF_RESOURCES: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_BACKOFF: Final = 0.1
_COPY_CHUNK: Final = 65536
_SHUT: Final[dict[str, int]] = {"receive": socket.SHUT_RD, "send": socket.SHUT_WR, "all": socket.SHUT_RDWR}


_EINVAL: Final = -errno.EINVAL
# Whether ring RECVs ask for IORING_RECVSEND_POLL_FIRST (Linux 5.19+); turned
# off for good by the first EINVAL, in case a kernel rejects the flag.
_recv_poll_first = True


def _no_recv_poll_first() -> None:
    global _recv_poll_first
    _recv_poll_first = False


class SocketClosed(eio.Io):
    """An operation was attempted on a socket that was closed (or closed while it waited)."""


def _ignore(_res: int) -> None:
    """Completion of an ASYNC_CANCEL: the cancelled op reports by itself."""


def _cancel_op(u: Uring, user_data: int) -> None:
    cancel_ud = u.next_user_data()
    u.on_complete(cancel_ud, _ignore)
    u.ring.prep_async_cancel(cancel_ud, user_data)


def _here() -> tuple[Loop, Uring]:
    loop = current_loop()
    poller = loop.poller
    if not isinstance(poller, Uring):
        raise RuntimeError("this operation needs the io_uring backend's loop")
    return loop, poller


class _Socket:
    """What every socket has: the `socket.socket`, the switch hook, waiting fibers, options."""

    __slots__ = ("_sock", "_fd", "_hook", "_waiters", "_closed", "_kind")

    def __init__(self, sock: socket.socket, sw: Switch, kind: str) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._closed = False
        self._kind = kind
        # (loop, user_data) of each POLL_ADD in flight, so that closing can cancel them.
        self._waiters: set[tuple[Loop, int]] = set()
        try:
            self._hook = sw.on_release(self._close_now)
        except BaseException:
            sock.close()  # a finished switch runs the hook at once; this covers the rest
            raise

    def __repr__(self) -> str:
        if self._closed:
            return f"<{self._kind} (closed)>"
        return f"<{self._kind} fd={self._sock.fileno()}>"

    def fileno(self) -> int:
        """The socket's file descriptor (`SocketClosed` once closed)."""
        if self._closed:
            raise self._closed_error("fileno")
        return self._sock.fileno()

    def setsockopt(self, level: int, option: int, value: int | bytes, /) -> None:
        """Set a socket option, as `socket.socket.setsockopt` does.

        For example ``setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)``
        (send small writes at once) or ``setsockopt(socket.SOL_SOCKET,
        socket.SO_KEEPALIVE, 1)``. Errors are `eio.Io`.
        """
        if self._closed:
            raise self._closed_error("setsockopt")
        try:
            self._sock.setsockopt(level, option, value)
        except OSError as ex:
            raise from_oserror(ex, f"setting socket option {level}/{option}")

    def getsockopt(self, level: int, option: int, /) -> int:
        """The integer value of a socket option (``getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)``)."""
        if self._closed:
            raise self._closed_error("getsockopt")
        try:
            return self._sock.getsockopt(level, option)
        except OSError as ex:
            raise from_oserror(ex, f"getting socket option {level}/{option}")

    def _closed_error(self, what: str) -> SocketClosed:
        return SocketClosed(errno.EBADF, f"{what}: the {self._kind} is closed")

    def _error(self, ex: OSError, what: str) -> eio.Io:
        if self._closed:
            return self._closed_error(what)
        return from_oserror(ex)

    async def _wait(self, events: int, what: str) -> None:
        """Suspend until ``events`` may be ready (a ring POLL_ADD); cancellable.

        Callers have checked for cancellation (on entry, or here at the end of
        the previous wait) and found no event since.
        """
        loop = current_loop()
        u = loop.poller
        if not isinstance(u, Uring):
            raise RuntimeError("this operation needs the io_uring backend's loop")
        ud = u.next_user_data()
        key = (loop, ud)
        waiters = self._waiters
        # Registered before the check: a close in another domain either sees
        # this key (and cancels the poll) or is seen by the check.
        waiters.add(key)
        try:
            if self._closed:
                raise self._closed_error(what)
            u.ring.prep_poll_add(ud, self._fd, events)
            res = await u.await_op(ud)
        finally:
            waiters.discard(key)
        if res < 0:
            if self._closed:
                raise self._closed_error(what)
            raise from_oserror(OSError(-res, f"{what}: {os.strerror(-res)}"))
        # Cancelled while the poll fired: leave the data in the socket for the next reader.
        check_cancelled()

    def _close_now(self) -> None:
        """Close the socket now (idempotent); wake waiting fibers with `SocketClosed`."""
        if self._closed:
            return
        self._closed = True
        here = current_loop_or_none()
        for loop, ud in list(self._waiters):
            poller = loop.poller
            assert isinstance(poller, Uring)
            if loop is here:
                _cancel_op(poller, ud)
            else:
                loop.call_soon_threadsafe(lambda u=poller, ud=ud: _cancel_op(u, ud))
        self._sock.close()

    async def close(self) -> None:
        """Close the socket (idempotent) and take it off its switch."""
        if not self._closed:
            self._hook.remove()
            self._close_now()


class UringStreamSocket(_Socket):
    """A connected stream socket (TCP or Unix): an `eio.net.StreamSocket`.

    Besides the flow methods it has `setsockopt` / `getsockopt`, `fileno`,
    `local_addr` and `peer_addr`.
    """

    __slots__ = ("_recv_into", "_send", "_sendmsg", "_drained")

    def __init__(self, sock: socket.socket, sw: Switch) -> None:
        super().__init__(sock, sw, "stream socket")
        # Bound once: the hot paths call these for every read and write.
        self._recv_into = sock.recv_into
        self._send = sock.send
        self._sendmsg = sock.sendmsg
        self._drained = False

    def local_addr(self) -> StreamAddr:
        """The socket's own address."""
        return stream_of_socket(self._sock.getsockname())

    def peer_addr(self) -> StreamAddr:
        """The address of the other end."""
        return stream_of_socket(self._sock.getpeername())

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at least one byte into ``buf``; `eio.EndOfFile` once the peer shut down its side."""
        # `check_cancelled` inlined: the loop found here serves the ring path too.
        loop = current_loop()
        fiber = loop.current
        if fiber is None:
            raise NoLoopRunning("no eio loop is running in this thread")
        cc = fiber.cc
        if cc.state != ON:
            cc.check()
        if self._drained:
            # The last read emptied the socket: in a request/response exchange
            # the next bytes come only after our reply, so trying now would
            # almost always fail. The ring waits and receives in one op.
            n = -1
        else:
            try:
                n = self._recv_into(buf)
            except BlockingIOError:
                n = -1
            except OSError as ex:
                raise self._error(ex, "read")
        if n < 0:
            # A ring RECV, inlined (every frame between the fiber and the ring
            # is resumed again on completion). If the fiber is cancelled while
            # data arrives, the op's own result wins (`Uring.await_op`): the
            # bytes are returned, not lost.
            u = loop.poller
            if not isinstance(u, Uring):
                raise RuntimeError("this operation needs the io_uring backend's loop")
            ud = u.next_user_data()
            key = (loop, ud)
            waiters = self._waiters
            waiters.add(key)  # before the check: see `_wait`
            try:
                if self._closed:
                    raise self._closed_error("read")
                # POLL_FIRST: the kernel's own first attempt would fail too.
                u.ring.prep_recv(ud, self._fd, buf, poll_first=_recv_poll_first)
                n = await u.await_op(ud)
            finally:
                waiters.discard(key)
            if n < 0:
                if n == _EINVAL and _recv_poll_first and not self._closed:
                    _no_recv_poll_first()
                    return await self.single_read(buf)
                if self._closed:
                    raise self._closed_error("read")
                raise from_oserror(OSError(-n, f"read: {os.strerror(-n)}"))
        if n:
            # A read that did not fill the buffer took everything there was.
            self._drained = n < len(buf)
            return n
        if self._closed:
            raise self._closed_error("read")
        raise eio.EndOfFile()

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write at least one byte of ``bufs``; return how many were written."""
        cc = current_fiber().cc  # `check_cancelled`, inlined
        if cc.state != ON:
            cc.check()
        try:
            if len(bufs) == 1:
                return self._send(bufs[0], _NOSIGNAL)
            return self._sendmsg(bufs[:_IOV_MAX], (), _NOSIGNAL)
        except BlockingIOError:
            return await self._write_slow(bufs)
        except OSError as ex:
            raise self._error(ex, "write")

    async def _write_slow(self, bufs: Sequence[bytes | memoryview]) -> int:
        while True:
            await self._wait(_POLLOUT, "write")
            try:
                if len(bufs) == 1:
                    return self._send(bufs[0], _NOSIGNAL)
                return self._sendmsg(bufs[:_IOV_MAX], (), _NOSIGNAL)
            except BlockingIOError:
                continue
            except OSError as ex:
                raise self._error(ex, "write")

    async def copy(self, src: eio.flow.Source, /) -> None:
        """Write everything ``src`` gives until its end (the sink fast path of `eio.flow.copy`).

        From another socket of this backend it is one tight read/write loop
        over a reused buffer; from anything else, `eio.flow.simple_copy`.
        """
        if type(src) is not UringStreamSocket:
            await eio.flow.simple_copy(self, src)
            return
        buf = memoryview(bytearray(_COPY_CHUNK))
        read, write = src.single_read, self.single_write
        while True:
            try:
                n = await read(buf)
            except eio.EndOfFile:
                return
            sent = await write((buf[:n],))
            while sent < n:
                sent += await write((buf[sent:n],))

    async def shutdown(self, how: eio.flow.ShutdownCommand, /) -> None:
        """Shut down ``"receive"``, ``"send"`` (the peer then reads end-of-file) or ``"all"``."""
        if self._closed:
            raise self._closed_error("shutdown")
        try:
            self._sock.shutdown(_SHUT[how])
        except OSError as ex:
            if ex.errno != errno.ENOTCONN:  # the peer already went away: nothing left to shut
                raise self._error(ex, "shutdown")


class UringListeningSocket(_Socket):
    """A listening stream socket (TCP or Unix): an `eio.net.ListeningSocket`.

    It may be shared by several domains (`eio.net.run_server` with
    ``additional_domains``): each waits on its own ring.
    """

    __slots__ = ("_addr", "_accept", "_resume_at")

    def __init__(self, sock: socket.socket, sw: Switch) -> None:
        super().__init__(sock, sw, "listening socket")
        self._addr = stream_of_socket(sock.getsockname())
        # The private `_accept` gives (fd, addr): `accept` would build a socket
        # object that believes it is blocking, only for us to build another.
        self._accept = cast(Callable[[], tuple[int, object]], getattr(sock, "_accept"))
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
        accept = self._accept
        while True:
            try:
                fd, peer = accept()
                break
            except BlockingIOError:
                await self._wait(_POLLIN, "accept")
            except OSError as ex:
                if ex.errno in _OUT_OF_RESOURCES:
                    self._resume_at = time.monotonic() + _ACCEPT_BACKOFF
                raise self._error(ex, "accept")
        lsock = self._sock
        conn = socket.socket(lsock.family, _NONBLOCK_STREAM, lsock.proto, fileno=fd)
        try:
            # accept4 gave CLOEXEC only; this makes the descriptor itself non-blocking too.
            conn.setblocking(False)
            flow = UringStreamSocket(conn, sw)
        except BaseException:
            conn.close()
            raise
        return flow, stream_of_socket(peer)


class UringDatagramSocket(_Socket):
    """A datagram socket (UDP or Unix): an `eio.net.DatagramSocket`."""

    __slots__ = ()

    def __init__(self, sock: socket.socket, sw: Switch) -> None:
        super().__init__(sock, sw, "datagram socket")

    def local_addr(self) -> DatagramAddr:
        """The socket's own address (a port the OS picked, for ``"udpv4"`` / ``"udpv6"``)."""
        return datagram_of_socket(self._sock.getsockname())

    def _send_now(self, bufs: Sequence[bytes | memoryview], dst: SocketAddress | None) -> None:
        if dst is None:
            self._sock.sendmsg(bufs, (), _NOSIGNAL)
        else:
            self._sock.sendmsg(bufs, (), _NOSIGNAL, dst)

    async def send(self, bufs: Sequence[bytes | memoryview], dst: DatagramAddr | None, /) -> None:
        """Send ``bufs`` as one message to ``dst`` (None: the connected peer)."""
        check_cancelled()
        target = None if dst is None else to_socket(dst)
        while True:
            try:
                self._send_now(bufs, target)
                return
            except BlockingIOError:
                await self._wait(_POLLOUT, "send")
            except OSError as ex:
                raise self._error(ex, "send")

    async def recv(self, buf: memoryview, /) -> tuple[DatagramAddr, int]:
        """Receive one message into ``buf``; return the sender and the bytes received.

        The part of a message that doesn't fit in ``buf`` is discarded.
        """
        check_cancelled()
        while True:
            try:
                n, sender = self._sock.recvfrom_into(buf)
                return datagram_of_socket(sender), n
            except BlockingIOError:
                await self._wait(_POLLIN, "recv")
            except OSError as ex:
                raise self._error(ex, "recv")

    async def single_read(self, buf: memoryview, /) -> int:
        """Read one message into ``buf`` (a connected socket); 0 for an empty message."""
        _addr, n = await self.recv(buf)
        return n

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Send ``bufs`` as one message to the connected peer; return its length."""
        await self.send(bufs, None)
        total = 0
        for b in bufs:
            total += len(b)
        return total


# -- making sockets ---------------------------------------------------------------


def _new_socket(family: int, kind: int) -> socket.socket:
    try:
        # SOCK_NONBLOCK in the type: one system call, and Python knows it is non-blocking.
        # (Python makes every socket close-on-exec.)
        return socket.socket(family, kind)
    except OSError as ex:
        raise from_oserror(ex, "creating a socket")


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
        if reuse_addr:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(to_socket(addr))


def _sockaddr_of_info(kind: int, sockaddr: object) -> Sockaddr | None:
    if kind == socket.SOCK_STREAM:
        return stream_of_socket(sockaddr)
    if kind == socket.SOCK_DGRAM:
        return datagram_of_socket(sockaddr)
    return None


class UringNetwork:
    """The io_uring backend's network (``env.net``): an `eio.net.Network`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<network (io_uring)>"

    async def listen(
        self, sw: Switch, addr: StreamAddr, backlog: int, reuse_addr: bool, reuse_port: bool, /
    ) -> ListeningSocket:
        """A socket listening on ``addr`` (closed when ``sw`` finishes); errors note the address."""
        sw.check()
        sock = _new_socket(addr.family, _NONBLOCK_STREAM)
        try:
            _bind(sock, addr, reuse_addr, reuse_port)
            sock.listen(backlog)
        except OSError as ex:
            sock.close()
            raise from_oserror(ex, f"listening on {addr}")
        except BaseException:
            sock.close()
            raise
        return UringListeningSocket(sock, sw)

    async def connect(self, sw: Switch, addr: StreamAddr, /) -> StreamSocket:
        """A socket connected to ``addr`` (closed when ``sw`` finishes).

        A refused connection raises `eio.net.ConnectionFailure` (reason
        ``"refused"``); `eio.net.connect` adds the address as a note.
        """
        sw.check()
        family = addr.family
        sock = _new_socket(family, _NONBLOCK_STREAM)
        flow = UringStreamSocket(sock, sw)  # from here on the switch closes it
        raw = encode_sockaddr(family, to_socket(addr))
        check_cancelled()
        _loop, u = _here()
        ud = u.next_user_data()
        u.ring.prep_connect(ud, sock.fileno(), raw)
        try:
            res = await u.await_op(ud)
        except BaseException:
            await flow.close()
            raise
        if res < 0:
            await flow.close()
            raise from_oserror(OSError(-res, os.strerror(-res)))
        return flow

    async def datagram_socket(
        self, sw: Switch, addr: DatagramBind, reuse_addr: bool, reuse_port: bool, /
    ) -> DatagramSocket:
        """A datagram socket bound to ``addr``, or unbound for ``"udpv4"`` / ``"udpv6"``."""
        sw.check()
        if isinstance(addr, str):
            family = socket.AF_INET if addr == "udpv4" else socket.AF_INET6
            return UringDatagramSocket(_new_socket(family, _NONBLOCK_DGRAM), sw)
        sock = _new_socket(addr.family, _NONBLOCK_DGRAM)
        try:
            _bind(sock, addr, reuse_addr, reuse_port)
        except OSError as ex:
            sock.close()
            raise from_oserror(ex, f"binding to {addr}")
        except BaseException:
            sock.close()
            raise
        return UringDatagramSocket(sock, sw)

    async def getaddrinfo(self, host: str, service: str, /) -> list[Sockaddr]:
        """The TCP and UDP addresses for ``host`` and ``service`` (looked up on a system thread)."""

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
            raise from_oserror(ex)

    async def getnameinfo(self, addr: Sockaddr, /) -> tuple[str, str]:
        """The host and service names for ``addr`` (looked up on a system thread)."""
        flags = socket.NI_DGRAM if isinstance(addr, Udp) else 0
        if isinstance(addr, Unix):
            return (addr.path, "")
        target = to_socket(addr)

        def lookup() -> tuple[str, str]:
            return socket.getnameinfo(cast(tuple[str, int], target), flags)

        try:
            return await run_in_systhread(lookup)
        except OSError as ex:
            raise from_oserror(ex)


# Structural checks: pyright fails here if a class stops satisfying its Protocol.
_check_net: Callable[[], eio.net.Network] = UringNetwork
_check_stream: Callable[[socket.socket, Switch], StreamSocket] = UringStreamSocket
_check_listening: Callable[[socket.socket, Switch], ListeningSocket] = UringListeningSocket
_check_dgram: Callable[[socket.socket, Switch], DatagramSocket] = UringDatagramSocket
