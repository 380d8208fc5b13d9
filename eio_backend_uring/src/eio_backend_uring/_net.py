"""The io_uring backend's network (``env.net``): the shared `eio.unix.UnixNetwork`, reading and connecting in the ring.

Everything is `eio.unix`'s (non-blocking sockets, try-then-wait writes and
accepts, accept back-off, datagrams, name lookups, closing that wakes
waiters in every domain) except two things io_uring does better:

- reads try ``recv_into`` first, unless the previous read emptied the socket
  (it returned less than the buffer could hold): then, and on EAGAIN, the
  fiber queues one ring ``RECV`` that waits and receives. (Measured on echo
  and HTTP keep-alive servers, skipping the attempt that would fail and
  receiving in the ring cut the server's CPU time per request by about a
  quarter.) A cancelled receive is cancelled in the kernel
  (``ASYNC_CANCEL``); bytes that arrived anyway are returned, so nothing is lost;
- connecting is a ring ``CONNECT`` op (cancellable too).

Readiness waits (writes that would block, accepts) are ring ``POLL_ADD`` s,
through the `Uring` poller's `eio.lowlevel.ReadinessPoller` methods.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import ClassVar, Final

import eio
from eio.lowlevel import ON, NoLoopRunning, current_loop, from_oserror, wait
from eio.net import SocketAddress
from eio.unix import ResourceClosed, UnixListeningSocket, UnixNetwork, UnixStreamSocket

from ._codecs import encode_sockaddr
from ._sched import Uring, check_cancelled

__all__ = ["SocketClosed", "UringListeningSocket", "UringNetwork", "UringStreamSocket"]

SocketClosed = ResourceClosed
"""The old name of `eio.ResourceClosed`."""

_EINVAL: Final = -errno.EINVAL
# Whether ring RECVs ask for IORING_RECVSEND_POLL_FIRST (Linux 5.19+); turned
# off for good by the first EINVAL, in case a kernel rejects the flag.
_recv_poll_first = True


def _no_recv_poll_first() -> None:
    global _recv_poll_first
    _recv_poll_first = False


def _uring(poller: object) -> Uring:
    """``poller`` as the ring (the operation needs it)."""
    if not isinstance(poller, Uring):
        raise RuntimeError("this operation needs the io_uring backend's loop")
    return poller


class UringStreamSocket(UnixStreamSocket):
    """A connected stream socket (an `eio.unix.UnixStreamSocket`) that receives and connects in the ring."""

    __slots__ = ("_drained",)

    def __init__(self, sock: socket.socket, sw: eio.Switch) -> None:
        super().__init__(sock, sw)
        self._drained = False

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
        holder = self._fd
        users = holder.users  # `holder.use()` / `unuse()`, inlined (see `eio.unix.Fd`)
        users.append(None)
        try:
            if holder.closing:
                raise holder.closed_error("read")
            fd = holder.fd
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
                    raise self._error(ex, "read") from ex
            while n < 0:
                # A ring RECV, inlined (every frame between the fiber and the
                # ring is resumed again on completion). If the fiber is
                # cancelled while data arrives, the op's own result wins
                # (`Uring.await_op`): the bytes are returned, not lost.
                u = loop.poller
                if not isinstance(u, Uring):
                    raise RuntimeError("this operation needs the io_uring backend's loop")
                waiting = holder.waiting
                waiting.append(loop)  # before the check: a close elsewhere wakes us, or is seen here
                try:
                    if holder.closing:
                        raise holder.closed_error("read")
                    # `Uring.await_op`, inlined: one coroutine frame less to resume.
                    # POLL_FIRST: the kernel's own first attempt would fail too.
                    ud = u.start_recv(fiber, fd, buf, _recv_poll_first)
                    n = await wait()
                    if u.cancels or u.closing:
                        n = u.op_result(ud, n)
                except ResourceClosed:
                    raise holder.closed_error("read") from None
                finally:
                    waiting.remove(loop)
                if n == _EINVAL and _recv_poll_first:
                    _no_recv_poll_first()
                    continue
                if n < 0:
                    raise from_oserror(OSError(-n, f"read: {os.strerror(-n)}"))
        finally:
            users.pop()  # `holder.unuse()`, inlined
            if holder.closing and not users:
                holder.release()
        if n:
            # A read that did not fill the buffer took everything there was.
            self._drained = n < len(buf)
            return n
        raise eio.EndOfFile()

    async def connect_to(self, target: SocketAddress) -> None:
        """Connect with one ring ``CONNECT`` (cancelled in the kernel if the fiber is)."""
        check_cancelled()
        sock = self._sock
        raw = encode_sockaddr(sock.family, target)
        u = _uring(current_loop().poller)
        holder = self._fd
        fd = holder.use("connect")
        try:
            ud = u.next_user_data()
            u.ring.prep_connect(ud, fd, raw)
            res = await u.await_op(ud, fd)
        finally:
            holder.unuse()
        if res < 0:
            raise from_oserror(OSError(-res, os.strerror(-res)))


class UringListeningSocket(UnixListeningSocket):
    """A listening socket whose accepted connections are `UringStreamSocket` s."""

    __slots__ = ()

    stream_class: ClassVar[type[UnixStreamSocket]] = UringStreamSocket


class UringNetwork(UnixNetwork):
    """The io_uring backend's network (``env.net``): an `eio.net.Network`."""

    __slots__ = ()

    stream_class: ClassVar[type[UnixStreamSocket]] = UringStreamSocket
    listening_class: ClassVar[type[UnixListeningSocket]] = UringListeningSocket

    def __repr__(self) -> str:
        return "<network (io_uring)>"
