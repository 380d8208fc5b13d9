"""Counting semaphores for fibers (Eio's ``Eio.Semaphore``).

Thread-safe: the count and the FIFO queue of waiting fibers change under one
`threading.Lock`. ``release`` with waiters hands the unit straight to the
first waiter, so the count stays 0 while anyone waits. A waiter's cancel
function and a releaser race to remove it from the queue; whoever does owns
the wake-up, so a unit is never lost nor given twice.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType

from ._fiber import Fiber
from ._loop import current_fiber
from ._traps import wait
from ._waiters import enqueue_waiter


class Semaphore:
    """A counting semaphore: at most ``n`` holders at once.

    ``await sem.acquire()`` takes a unit, waiting (in FIFO order) while none
    is free; ``sem.release()`` gives one back. ``async with sem:`` does both.
    Acquiring a free unit never suspends the fiber.
    """

    __slots__ = ("_lock", "_value", "_waiters")

    def __init__(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"a semaphore's initial value can't be negative (got {n})")
        self._lock = threading.Lock()
        self._value = n
        self._waiters: deque[Fiber] = deque()

    def __repr__(self) -> str:
        waiting = f", {len(self._waiters)} waiting" if self._waiters else ""
        return f"<Semaphore value={self._value}{waiting}>"

    def get_value(self) -> int:
        """The number of free units now (0 while fibers are waiting)."""
        return self._value

    async def acquire(self) -> None:
        """Take one unit, waiting until one is free. `Cancelled` if cancelled while waiting."""
        lock = self._lock
        lock.acquire()
        try:
            if self._value > 0:
                self._value -= 1
                return
            fiber = current_fiber()
            enqueue_waiter(fiber, self._waiters, fiber, lock)
        finally:
            lock.release()
        await wait()

    def release(self) -> None:
        """Give back one unit: to the longest-waiting fiber if there is one. Safe from any thread."""
        lock = self._lock
        lock.acquire()
        try:
            if not self._waiters:
                self._value += 1
                return
            fiber = self._waiters.popleft()
        finally:
            lock.release()
        fiber.wake_threadsafe(None)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
