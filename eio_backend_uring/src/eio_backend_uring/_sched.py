"""The io_uring scheduler: a `Poller` for the shared run loop, driven by completions.

Fibers do IO by queuing one SQE through `Uring.submit` and suspending; the
completion wakes them with ``res``. Submissions made during a loop turn go to
the kernel together, with the one ``io_uring_enter`` that also waits (or, when
fibers are still ready, the one that just submits). Other threads wake a
sleeping loop by writing to an eventfd that has a READ always pending in the ring.

Cancelling a fiber with an operation in flight queues an ``ASYNC_CANCEL``; the
fiber is still only resumed by its operation's own completion, so the kernel
never writes into a buffer after the fiber moved on (the ring also pins every
buffer until then). If the operation completed anyway, its result is returned,
so no data is lost; the cancellation is seen at the fiber's next check.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import socket
import threading
from functools import partial
from typing import TYPE_CHECKING, Final

from eio.lowlevel import ON, Fiber, Loop, current_fiber, from_oserror, wait

from ._ring import Ring

# user_data values: 0 is the eventfd's READ, 1 the signal wake-up socket's
# READ; operations count up from 16; cancels use the top of the range.
_EVENTFD_UD: Final = 0
_SIGNAL_UD: Final = 1
_FIRST_OP_UD: Final = 16
_CANCEL_BASE: Final = 1 << 62
_POLLIN: Final = select.POLLIN
_POLLOUT: Final = select.POLLOUT


class Uring:
    """One domain's ring plus the bookkeeping that maps completions to fibers."""

    __slots__ = (
        "ring",
        "_ops",
        "cancels",
        "_next_ud",
        "_next_cancel",
        "_efd",
        "_efd_buf",
        "_sleeping",
        "_signal_socks",
        "_signal_buf",
        "_old_wakeup_fd",
        "_fd_of_op",
        "closing",
        "_cancel_op_fn",
        "closed",
    )

    def __init__(self, entries: int = 256) -> None:
        self.ring = Ring(entries)
        self._ops: dict[int, Fiber] = {}
        # Operations asked to cancel, and the error to raise if they were.
        self.cancels: dict[int, BaseException] = {}
        self._next_ud = _FIRST_OP_UD
        self._next_cancel = _CANCEL_BASE
        # Operations waiting on a descriptor (polls, receives), so `notify_closing` can cancel them,
        # and the error each cancelled that way must raise.
        self._fd_of_op: dict[int, int] = {}
        self.closing: dict[int, BaseException] = {}
        # Bound once: each operation's `cancel_fn` is a partial of it.
        self._cancel_op_fn = self._cancel_op
        self._efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._efd_buf = bytearray(8)
        self._sleeping = False
        self.closed = False
        self.ring.prep_read(_EVENTFD_UD, self._efd, self._efd_buf)
        self._signal_socks: tuple[socket.socket, socket.socket] | None = None
        self._signal_buf = bytearray(64)
        self._old_wakeup_fd = -1
        if threading.current_thread() is threading.main_thread():
            self._watch_signals()

    def _watch_signals(self) -> None:
        # Python runs signal handlers on the main thread only, between
        # bytecodes. The kernel may deliver a signal to another thread, which
        # would leave the main thread asleep in io_uring_enter with the handler
        # pending; with a wake-up fd, CPython writes a byte to it whatever thread
        # got the signal, and the READ kept in the ring ends the wait.
        r, w = socket.socketpair()
        r.setblocking(False)
        w.setblocking(False)
        try:
            self._old_wakeup_fd = signal.set_wakeup_fd(w.fileno(), warn_on_full_buffer=False)
        except ValueError:  # not the main interpreter
            r.close()
            w.close()
            return
        self._signal_socks = (r, w)
        self.ring.prep_read(_SIGNAL_UD, r.fileno(), self._signal_buf)

    # -- Poller ----------------------------------------------------------------

    def notify(self) -> None:
        """Wake the loop if it is (about to be) blocked in the kernel. Any thread, signal-safe."""
        # The loop sets _sleeping before its last check of the inbox, so a
        # wake-up is never lost; when it is awake there is no syscall at all.
        if self._sleeping:
            try:
                os.eventfd_write(self._efd, 1)
            except OSError:
                pass  # closed while shutting down: nothing to wake

    def poll(self, loop: Loop, timeout: float | None) -> None:
        """Submit queued SQEs; if ``timeout`` isn't 0, wait for a completion (at most ``timeout`` s)."""
        ring = self.ring
        if timeout == 0:
            # The common case while fibers are ready: a few shared-memory reads when nothing happened.
            rearm = ring.submit_and_wake(self._ops, self._fd_of_op, loop.run_queue.append, _FIRST_OP_UD)
        else:
            self._sleeping = True
            try:
                if not loop.inbox:
                    ring.submit_and_wait(1, timeout)
                else:
                    ring.submit_and_wait(0)
            finally:
                self._sleeping = False
            rearm = ring.wake_fibers(self._ops, self._fd_of_op, loop.run_queue.append, _FIRST_OP_UD)
        if rearm is not None:
            for user_data in rearm:
                self._rearm(user_data)

    def busy(self) -> bool:
        """Whether an operation is in flight in the ring."""
        return bool(self._ops)

    def close(self) -> None:
        """Close the ring and the eventfd (idempotent)."""
        if not self.closed:
            self.closed = True
            self.ring.close()
            os.close(self._efd)
            socks = self._signal_socks
            if socks is not None:
                self._signal_socks = None
                signal.set_wakeup_fd(self._old_wakeup_fd)
                socks[0].close()
                socks[1].close()

    # -- operations ---------------------------------------------------------------

    def _rearm(self, user_data: int) -> None:
        """Queue again the READ that keeps the eventfd (or the signal wake-up socket) watched."""
        if user_data == _EVENTFD_UD:
            self.ring.prep_read(_EVENTFD_UD, self._efd, self._efd_buf)
        elif user_data == _SIGNAL_UD and self._signal_socks is not None:
            self.ring.prep_read(_SIGNAL_UD, self._signal_socks[0].fileno(), self._signal_buf)

    def next_user_data(self) -> int:
        """A fresh user_data for an operation."""
        ud = self._next_ud
        self._next_ud = ud + 1
        return ud

    async def await_op(self, user_data: int, fd: int = -1) -> int:
        """Wait for the operation just queued with ``user_data``; return its ``res``.

        The caller has checked for cancellation and queued exactly one SQE.
        ``-ECANCELED`` from a cancellation requested by this fiber's context
        raises that `Cancelled`; every other result, even one that raced with
        the cancel, is returned as is. An operation waiting on a descriptor
        ``fd`` (a poll, a receive) can also be ended by `notify_closing`:
        then, unless it had completed, it raises the error given there.
        (`register_op`, the wait, then `op_result`: hot paths inline this.)
        """
        self.register_op(user_data, current_fiber(), fd)
        res: int = await wait()
        if self.cancels or self.closing:
            res = self.op_result(user_data, res)
        return res

    def register_op(self, user_data: int, fiber: Fiber, fd: int = -1) -> None:
        """Make the completion of the operation just queued with ``user_data`` wake ``fiber`` (suspending next).

        The fiber's cancellation then asks the kernel to cancel the operation,
        and so does `notify_closing` for ``fd`` (if not -1). After the wait,
        the result is final unless `cancels` or `closing` is non-empty: then
        the caller passes it through `op_result`.
        """
        self._ops[user_data] = fiber
        # A partial, not a closure: no cells in the callers' frames.
        fiber.cancel_fn = partial(self._cancel_op_fn, user_data)
        if fd >= 0:
            self._fd_of_op[user_data] = fd

    def start_recv(self, fiber: Fiber, fd: int, buf: memoryview, poll_first: bool) -> int:
        """Queue a ring RECV into ``buf`` for ``fiber`` (`Ring.prep_recv`, then `register_op`); return its user_data."""
        ud = self._next_ud
        self._next_ud = ud + 1
        self.ring.prep_recv_into(ud, fd, buf, poll_first)
        self._ops[ud] = fiber
        fiber.cancel_fn = partial(self._cancel_op_fn, ud)
        self._fd_of_op[ud] = fd
        return ud

    def _cancel_op(self, user_data: int, error: BaseException) -> None:
        self.cancels[user_data] = error
        self._next_cancel += 1
        # The fiber stays suspended: only the operation's own completion wakes it.
        self.ring.prep_async_cancel(self._next_cancel, user_data)

    def op_result(self, user_data: int, res: int) -> int:
        """The outcome of a registered operation that completed with ``res``: ``res``, or the error to raise.

        Needed only while `cancels` or `closing` is non-empty; see `await_op` for the rules.
        """
        closing = self.closing.pop(user_data, None) if self.closing else None
        # An operation that completed before the close reports its result.
        if closing is not None and res < 0:
            self.cancels.pop(user_data, None)
            raise closing
        cancels = self.cancels
        if cancels:
            error = cancels.pop(user_data, None)
            if error is not None and res == -errno.ECANCELED:
                raise error
        return res

    # -- readiness (ReadinessPoller) -------------------------------------------------

    async def _poll(self, fd: int, events: int) -> None:
        check_cancelled()
        ud = self.next_user_data()
        self.ring.prep_poll_add(ud, fd, events)
        res = await self.await_op(ud, fd)
        if res < 0:
            raise from_oserror(OSError(-res, f"poll: {os.strerror(-res)}"))
        # Cancelled while the poll fired: the caller consumes nothing.
        check_cancelled()

    async def wait_readable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be readable (a ring POLL_ADD; cancellable)."""
        await self._poll(fd, _POLLIN)

    async def wait_writable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be writable (a ring POLL_ADD; cancellable)."""
        await self._poll(fd, _POLLOUT)

    def notify_closing(self, fd: int, error: BaseException, /) -> None:
        """Cancel every operation waiting on ``fd``; each raises ``error`` in its fiber."""
        # A scan: closing is rare, operations on descriptors are not.
        for ud in [ud for ud, f in self._fd_of_op.items() if f == fd]:
            if ud not in self.closing:
                self.closing[ud] = error
                self._next_cancel += 1
                self.ring.prep_async_cancel(self._next_cancel, ud)


def check_cancelled() -> None:
    """Raise `Cancelled` now if the current fiber's context is cancelled (before queuing an SQE)."""
    cc = current_fiber().cc
    if cc.state != ON:
        cc.check()


if TYPE_CHECKING:
    from eio.lowlevel import ReadinessPoller

    # Makes pyright check that the ring is a poller with readiness waits (shared code runs on it).
    _IS_READINESS_POLLER: type[ReadinessPoller] = Uring
