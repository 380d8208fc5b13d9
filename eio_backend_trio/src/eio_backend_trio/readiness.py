"""Readiness waits and wake-ups for an eio loop hosted by trio.

Two strategies, one interface (`TrioPoller`):

- `EpollPoller` (Linux): the poller owns an epoll instance of its own. A
  wait is a table entry plus one ``epoll_ctl`` that (re-)arms the descriptor
  for the directions waited on; the driver task parks in
  ``trio.lowlevel.wait_readable(epoll_fd)`` (one trio wait for all of the
  loop's descriptors) and, when woken, collects every ready descriptor with
  one ``epoll_wait``. Other threads and signal handlers wake the driver by
  writing to an eventfd registered in the same epoll.
- `TaskPoller` (every platform trio runs on): each wait is a trio system
  task doing ``trio.lowlevel.wait_readable(fd)`` on the fiber's behalf; the
  driver parks with ``trio.lowlevel.wait_task_rescheduled`` and other threads
  wake it with ``TrioToken.run_sync_soon``.

Re-arming at every wait (rather than registering a descriptor once) keeps
waits correct for callers that wait without trying the system call first
(a pidfd) and for descriptors closed without `notify_closing` whose number
the OS then reuses; the descriptor is edge-triggered, so a readiness that
nobody waits for anymore wakes the driver once at most.
"""

from __future__ import annotations

import contextvars
import os
import select
import sys
from abc import ABC, abstractmethod
from typing import Final

import trio
from eio.lowlevel import ON, Fiber, Loop, current_fiber, wait

_READ: Final = 1
_WRITE: Final = 2


class TrioPoller(ABC):
    """What the trio driver and the bridges need from a hosted loop's poller (an `eio.lowlevel.ReadinessPoller`).

    ``calls`` counts `run_trio` calls in flight (they will wake a fiber, so
    the poller is `busy`).
    """

    __slots__ = ("calls", "closed")

    def __init__(self) -> None:
        self.calls = 0
        self.closed = False

    def poll(self, loop: Loop, timeout: float | None) -> None:
        """Never called: a hosted loop is stepped by its trio driver, which waits through trio."""
        raise RuntimeError("this loop is hosted by trio: its driver task steps it, it is never polled")

    @abstractmethod
    def busy(self) -> bool:
        """Whether a readiness wait or a `run_trio` call is pending."""

    @abstractmethod
    def notify(self) -> None:
        """Wake the driver task (from any thread or a signal handler)."""

    def kick(self) -> None:
        """Wake the driver task from trio code running on its own thread, between two steps."""
        self.notify()

    def close(self) -> None:
        """Release the poller's OS resources (idempotent)."""
        self.closed = True

    def collect(self) -> None:
        """Wake the fibers whose descriptors became ready, without waiting (the driver calls it between steps)."""

    @abstractmethod
    async def park(self, loop: Loop, timeout: float | None) -> None:
        """Wait (through trio) until ``notify``, IO for a fiber, or ``timeout`` seconds (None: no limit)."""

    @abstractmethod
    async def wait_readable(self, fd: int, /) -> None:
        """Suspend the calling fiber until ``fd`` may be readable."""

    @abstractmethod
    async def wait_writable(self, fd: int, /) -> None:
        """Suspend the calling fiber until ``fd`` may be writable."""

    @abstractmethod
    def notify_closing(self, fd: int, error: BaseException, /) -> None:
        """``fd`` is about to be closed: its waiting fibers raise ``error``."""


def _already_waiting(fd: int, bit: int) -> RuntimeError:
    what = "readable" if bit == _READ else "writable"
    return RuntimeError(f"another fiber is already waiting for descriptor {fd} to become {what}")


if sys.platform == "linux":
    _READ_EVENTS: Final = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP | select.EPOLLRDHUP
    _WRITE_EVENTS: Final = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP
    _WANT_READ: Final = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLET
    _WANT_WRITE: Final = select.EPOLLOUT | select.EPOLLET

    class EpollPoller(TrioPoller):
        """Readiness through an epoll instance of the loop's own, which the driver waits on through trio."""

        __slots__ = ("_ep", "_epfd", "_efd", "_readers", "_writers", "_registered", "_sleeping")

        def __init__(self) -> None:
            super().__init__()
            self._ep = select.epoll()
            self._epfd = self._ep.fileno()
            self._efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            self._ep.register(self._efd, select.EPOLLIN)
            self._readers: dict[int, Fiber] = {}
            self._writers: dict[int, Fiber] = {}
            self._registered: set[int] = set()
            # True while the driver is parked (or about to): only then does
            # `notify` need a system call.
            self._sleeping = False

        def busy(self) -> bool:
            """Whether a fiber waits for a descriptor or a `run_trio` call is pending."""
            return bool(self._readers or self._writers or self.calls)

        def notify(self) -> None:
            """Wake the driver if it is parked: one eventfd write (thread- and signal-safe)."""
            if self._sleeping and not self.closed:
                try:
                    os.eventfd_write(self._efd, 1)
                except OSError:
                    pass  # closed meanwhile: there is nothing left to wake

        def close(self) -> None:
            """Close the epoll instance and the eventfd (idempotent)."""
            if not self.closed:
                self.closed = True
                self._ep.close()
                os.close(self._efd)

        async def park(self, loop: Loop, timeout: float | None) -> None:
            """Wait in trio for the epoll fd (IO or a wake-up), at most ``timeout`` seconds."""
            # _sleeping is set before the last look at the queues, so a
            # wake-up queued after that look writes the eventfd: never lost.
            self._sleeping = True
            try:
                if loop.inbox or loop.run_queue:
                    return
                if timeout is None:
                    await trio.lowlevel.wait_readable(self._epfd)
                else:
                    with trio.move_on_after(timeout):
                        await trio.lowlevel.wait_readable(self._epfd)
            finally:
                self._sleeping = False
            self.collect()

        def collect(self) -> None:
            """One non-blocking ``epoll_wait``: wake each fiber whose descriptor became ready."""
            readers = self._readers
            writers = self._writers
            for fd, ev in self._ep.poll(0):
                if fd == self._efd:
                    try:
                        os.eventfd_read(fd)
                    except BlockingIOError:
                        pass
                    continue
                # An event nobody waits for any more (a cancelled wait) is dropped:
                # the next wait re-arms the descriptor, which reports it again.
                if ev & _READ_EVENTS:
                    fiber = readers.pop(fd, None)
                    if fiber is not None:
                        fiber.wake(None)
                if ev & _WRITE_EVENTS:
                    fiber = writers.pop(fd, None)
                    if fiber is not None:
                        fiber.wake(None)

        async def wait_readable(self, fd: int, /) -> None:
            """Suspend until ``fd`` may be readable (cancellable; may wake spuriously)."""
            await self._wait(fd, self._readers, _READ)

        async def wait_writable(self, fd: int, /) -> None:
            """Suspend until ``fd`` may be writable (cancellable; may wake spuriously)."""
            await self._wait(fd, self._writers, _WRITE)

        def _arm(self, fd: int) -> bool:
            """Ask epoll for the directions fibers wait on now; False if ``fd`` can't be watched (always ready)."""
            mask = (_WANT_READ if fd in self._readers else 0) | (_WANT_WRITE if fd in self._writers else 0)
            ep = self._ep
            try:
                if fd in self._registered:
                    try:
                        # Re-arming makes epoll look at the descriptor's state now: an
                        # event is queued at once if it is ready already.
                        ep.modify(fd, mask)
                    except FileNotFoundError:
                        # Closed (without notify_closing) and its number reused: a new file.
                        ep.register(fd, mask)
                else:
                    try:
                        ep.register(fd, mask)
                    except FileExistsError:
                        ep.modify(fd, mask)
                    self._registered.add(fd)
            except PermissionError:
                return False  # a regular file: epoll refuses it, and it is always ready
            return True

        async def _wait(self, fd: int, table: dict[int, Fiber], bit: int) -> None:
            fiber = current_fiber()
            cc = fiber.cc
            if cc.state != ON:
                error = cc.get_error()
                assert error is not None
                fiber.wake_error(error)
                await wait()
            if fd in table:
                raise _already_waiting(fd, bit)
            table[fd] = fiber
            try:
                armed = self._arm(fd)
            except BaseException:
                del table[fd]
                raise
            if not armed:
                del table[fd]
                return

            def cancel(error: BaseException) -> None:
                if table.get(fd) is fiber:
                    del table[fd]
                fiber.wake_error(error)

            fiber.cancel_fn = cancel
            await wait()

        def notify_closing(self, fd: int, error: BaseException, /) -> None:
            """Wake the fibers waiting on ``fd`` with ``error`` and forget the descriptor."""
            for table in (self._readers, self._writers):
                fiber = table.pop(fd, None)
                if fiber is not None:
                    fiber.wake_error(error)
            if fd in self._registered:
                self._registered.discard(fd)
                try:
                    self._ep.unregister(fd)
                except OSError:
                    pass  # already closed elsewhere: the kernel dropped it


class _Watch:
    """One readiness wait of `TaskPoller`: the fiber, its trio task's cancel scope, and why it ended early."""

    __slots__ = ("fiber", "scope", "error")

    def __init__(self, fiber: Fiber) -> None:
        self.fiber = fiber
        self.scope = trio.CancelScope()
        self.error: BaseException | None = None


class TaskPoller(TrioPoller):
    """Readiness through one trio task per wait (works wherever trio does)."""

    __slots__ = ("_token", "_parked", "_kicked", "_watches", "_tasks")

    def __init__(self) -> None:
        super().__init__()
        self._token: trio.lowlevel.TrioToken | None = None
        self._parked: trio.lowlevel.Task | None = None
        self._kicked = False
        self._watches: dict[tuple[int, int], _Watch] = {}
        # Watch tasks not yet ended (each will wake its fiber), closed descriptors' included.
        self._tasks = 0

    def busy(self) -> bool:
        """Whether a fiber waits for a descriptor or a `run_trio` call is pending."""
        return bool(self._tasks or self.calls)

    def notify(self) -> None:
        """Wake the driver through trio's own thread- and signal-safe queue."""
        token = self._token
        if token is not None and not self.closed:
            try:
                token.run_sync_soon(self._wake, idempotent=True)
            except trio.RunFinishedError:
                pass  # the trio run is over: there is nothing left to wake

    def _wake(self) -> None:
        self._kicked = True
        task = self._parked
        if task is not None:
            self._parked = None
            trio.lowlevel.reschedule(task)

    async def park(self, loop: Loop, timeout: float | None) -> None:
        """Park the driver task until woken or ``timeout`` seconds pass."""
        if self._token is None:
            self._token = trio.lowlevel.current_trio_token()
        if self._kicked or loop.inbox or loop.run_queue:
            self._kicked = False
            return

        def abort(_: object) -> trio.lowlevel.Abort:
            self._parked = None
            return trio.lowlevel.Abort.SUCCEEDED

        self._parked = trio.lowlevel.current_task()
        if timeout is None:
            await trio.lowlevel.wait_task_rescheduled(abort)
        else:
            with trio.move_on_after(timeout):
                await trio.lowlevel.wait_task_rescheduled(abort)
        self._kicked = False

    async def wait_readable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be readable (a trio task waits for it)."""
        await self._wait(fd, _READ)

    async def wait_writable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be writable (a trio task waits for it)."""
        await self._wait(fd, _WRITE)

    async def _wait(self, fd: int, bit: int) -> None:
        fiber = current_fiber()
        cc = fiber.cc
        if cc.state != ON:
            error = cc.get_error()
            assert error is not None
            fiber.wake_error(error)
            await wait()
        key = (fd, bit)
        watches = self._watches
        if key in watches:
            raise _already_waiting(fd, bit)
        watch = _Watch(fiber)
        watches[key] = watch

        def cancel(error: BaseException) -> None:
            # Deferred: the trio task reports whether the wait really ended first.
            watch.error = error
            watch.scope.cancel()

        fiber.cancel_fn = cancel
        trio.lowlevel.spawn_system_task(self._watch, fd, bit, watch, context=contextvars.Context())
        self._tasks += 1
        await wait()

    async def _watch(self, fd: int, bit: int, watch: _Watch) -> None:
        outcome: BaseException | None = None
        with watch.scope:
            try:
                if bit == _READ:
                    await trio.lowlevel.wait_readable(fd)
                else:
                    await trio.lowlevel.wait_writable(fd)
            except (OSError, trio.BusyResourceError, trio.ClosedResourceError) as ex:
                outcome = ex
        self._tasks -= 1
        if self._watches.get((fd, bit)) is watch:
            del self._watches[(fd, bit)]
        fiber = watch.fiber
        if watch.scope.cancelled_caught or (watch.error is not None and outcome is not None):
            assert watch.error is not None
            fiber.wake_error(watch.error)
        elif outcome is not None:
            fiber.wake_error(outcome)
        else:
            fiber.wake(None)
        self._wake()

    def kick(self) -> None:
        """Wake the driver from trio code on its own thread (no queue round trip)."""
        self._wake()

    def notify_closing(self, fd: int, error: BaseException, /) -> None:
        """Make the waits on ``fd`` end with ``error``, before trio forgets the descriptor."""
        for bit in (_READ, _WRITE):
            watch = self._watches.pop((fd, bit), None)
            if watch is not None:
                watch.error = error
                watch.fiber.cancel_fn = None
                watch.scope.cancel()
        trio.lowlevel.notify_closing(fd)


def new_poller() -> TrioPoller:
    """The fastest strategy on this platform."""
    if sys.platform == "linux":
        return EpollPoller()
    return TaskPoller()
