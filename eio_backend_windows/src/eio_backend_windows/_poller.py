"""`SelectorPoller`: readiness waits over a selector, woken through a socket pair.

One fiber at most waits on each direction of a descriptor (as in every eio
poller); the selector is told only what is waited for now, so a descriptor
nobody waits on costs nothing. ``poll`` wakes the waiting fibers of the
ready descriptors and forgets them: the shared Unix layer tries its system
call again and waits anew on ``EAGAIN``.

Wake-ups from other threads and from signal handlers are a byte sent on a
socket pair whose reading end is registered with the selector. In the main
thread, ``signal.set_wakeup_fd`` points at the same socket, so a signal that
arrives while the loop sleeps in ``select`` ends the sleep, and the Python
handler (which may ``Condition.broadcast``) runs before the loop sleeps again.
"""

from __future__ import annotations

import selectors
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING

from eio.lowlevel import Fiber, Loop, suspend

__all__ = ["SelectorPoller"]

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE


def _new_selector() -> selectors.BaseSelector:
    if sys.platform == "win32":
        return selectors.SelectSelector()  # the only one Windows has (sockets only, up to 512 of them)
    return selectors.DefaultSelector()  # epoll, kqueue, devpoll or poll: whatever this system does best


class SelectorPoller:
    """An `eio.lowlevel.ReadinessPoller` over a selector: plain ``select`` on Windows, the best one elsewhere.

    Other threads and signal handlers wake it through a socket pair (Windows'
    ``select`` waits on sockets only, so the wake-up is a socket too).
    """

    def __init__(self) -> None:
        self._sel = _new_selector()
        self._waiters: tuple[dict[int, Fiber], dict[int, Fiber]] = ({}, {})  # readers, writers
        self._events: dict[int, int] = {}  # what each registered fd is registered for
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, _READ)
        self._old_wakeup_fd: int | None = None
        if threading.current_thread() is threading.main_thread():
            # A signal may reach another thread while this one sleeps in select: have it write to us too.
            self._old_wakeup_fd = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)

    def _update(self, fd: int) -> None:
        events = (_READ if fd in self._waiters[0] else 0) | (_WRITE if fd in self._waiters[1] else 0)
        old = self._events.get(fd, 0)
        if events == old:
            return
        if not events:
            del self._events[fd]
            self._sel.unregister(fd)
            return
        self._events[fd] = events
        if old:
            self._sel.modify(fd, events)
        else:
            self._sel.register(fd, events)

    async def _wait(self, fd: int, direction: int) -> None:
        waiters = self._waiters[direction]

        def register(fiber: Fiber) -> None:
            if fd in waiters:
                raise RuntimeError(f"another fiber is already waiting on fd {fd}")
            waiters[fd] = fiber
            self._update(fd)

            def cancel(error: BaseException) -> None:
                del waiters[fd]
                self._update(fd)
                fiber.wake_error(error)

            fiber.cancel_fn = cancel

        await suspend(register)

    async def wait_readable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be readable."""
        await self._wait(fd, 0)

    async def wait_writable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be writable."""
        await self._wait(fd, 1)

    def notify_closing(self, fd: int, error: BaseException, /) -> None:
        """Wake the fibers waiting on ``fd`` with ``error`` and forget it."""
        for waiters in self._waiters:
            fiber = waiters.pop(fd, None)
            if fiber is not None:
                fiber.wake_error(error)
        self._update(fd)

    def poll(self, loop: Loop, timeout: float | None) -> None:
        """Wait at most ``timeout`` seconds for readiness or a wake-up; wake the ready fibers."""
        for key, mask in self._sel.select(timeout):
            if key.fileobj is self._wake_r:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except BlockingIOError:
                    pass
                continue
            fd = key.fd
            for direction, bit in ((0, _READ), (1, _WRITE)):
                if mask & bit:
                    fiber = self._waiters[direction].pop(fd, None)
                    if fiber is not None:
                        fiber.wake(None)
            self._update(fd)

    def busy(self) -> bool:
        """Whether a fiber waits on a descriptor."""
        return bool(self._events)

    def notify(self) -> None:
        """Wake a blocking `poll` (any thread, signal handlers too)."""
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # full (a wake-up is pending anyway) or closed (shutting down)

    def close(self) -> None:
        """Release the selector and the wake-up sockets."""
        if self._old_wakeup_fd is not None:
            signal.set_wakeup_fd(self._old_wakeup_fd)
            self._old_wakeup_fd = None
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()


if TYPE_CHECKING:
    from eio.lowlevel import ReadinessPoller

    _IS_READINESS_POLLER: type[ReadinessPoller] = SelectorPoller  # pyright checks the contract
