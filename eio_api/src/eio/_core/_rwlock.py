"""Readers-writer locks: many readers at once, or one writer.

A lock is thread-safe: its state and its FIFO queue of waiting fibers are
changed under one `threading.Lock`, and a waiter on another domain is woken
through its loop's inbox. Waiters are served strictly in arrival order: a
waiting writer makes later readers wait behind it (so writers are never
starved), and the readers queued behind a writer all go in together once it
is done. Whoever removes a waiter from the queue (under the lock) owns its
wake-up: a release that grants it the lock, or its cancel function.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType

from ._fiber import Fiber
from ._loop import current_fiber
from ._traps import wait
from ._waiters import enqueue_waiter

__all__ = ["RwLock"]

_READ = False
_WRITE = True


class RwLock:
    """A readers-writer lock for fibers: ``async with lock.read(): ...`` or ``async with lock.write(): ...``.

    Any number of fibers may hold it for reading at once; a writer holds it
    alone. Waiting fibers are served in the order they arrived, and a
    waiting writer blocks readers that come after it, so a steady flow of
    readers can't starve a writer. Taking a free lock never suspends the
    fiber. Cancelling a waiting fiber removes it from the queue with no
    other effect (whoever it was holding up goes ahead). Safe across domains.
    """

    __slots__ = ("_lock", "_readers", "_writer", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers = 0  # how many fibers hold it for reading
        self._writer = False  # whether a fiber holds it for writing
        self._waiters: deque[tuple[Fiber, bool]] = deque()

    def __repr__(self) -> str:
        if self._writer:
            state = "write-locked"
        elif self._readers:
            state = f"read-locked by {self._readers}"
        else:
            state = "unlocked"
        waiting = f", {len(self._waiters)} waiting" if self._waiters else ""
        return f"<RwLock {state}{waiting}>"

    def read(self) -> RwLockRead:
        """``async with lock.read():`` runs the block holding the lock for reading, alongside other readers."""
        return RwLockRead(self)

    def write(self) -> RwLockWrite:
        """``async with lock.write():`` runs the block holding the lock alone."""
        return RwLockWrite(self)

    async def _acquire(self, kind: bool) -> None:
        lock = self._lock
        lock.acquire()
        try:
            if not self._waiters and not self._writer:
                if kind is _READ:
                    self._readers += 1
                    return
                if not self._readers:
                    self._writer = True
                    return
            fiber = current_fiber()
            # A writer that leaves may have been all that held readers back.
            enqueue_waiter(fiber, self._waiters, (fiber, kind), lock, self._grant)
        finally:
            lock.release()
        # A release grants us the lock (its state already counts us) and wakes us.
        await wait()

    def _release(self, kind: bool) -> None:
        with self._lock:
            if kind is _READ:
                self._readers -= 1
            else:
                self._writer = False
            woken = self._grant()
        for fiber in woken:
            fiber.wake_threadsafe(None)

    def _grant(self) -> list[Fiber]:
        """Give the lock to the waiters at the head of the queue that can have it now (lock held)."""
        woken: list[Fiber] = []
        waiters = self._waiters
        while waiters and not self._writer:
            fiber, kind = waiters[0]
            if kind is _WRITE:
                if self._readers:
                    break
                self._writer = True
            else:
                self._readers += 1
            waiters.popleft()
            woken.append(fiber)
        return woken


class RwLockRead:
    """The async context manager returned by `RwLock.read`."""

    __slots__ = ("_rw",)

    def __init__(self, rw: RwLock) -> None:
        self._rw = rw

    async def __aenter__(self) -> None:
        await self._rw._acquire(_READ)  # pyright: ignore[reportPrivateUsage] - the lock's own helper

    async def __aexit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._rw._release(_READ)  # pyright: ignore[reportPrivateUsage] - the lock's own helper


class RwLockWrite:
    """The async context manager returned by `RwLock.write`."""

    __slots__ = ("_rw",)

    def __init__(self, rw: RwLock) -> None:
        self._rw = rw

    async def __aenter__(self) -> None:
        await self._rw._acquire(_WRITE)  # pyright: ignore[reportPrivateUsage] - the lock's own helper

    async def __aexit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._rw._release(_WRITE)  # pyright: ignore[reportPrivateUsage] - the lock's own helper
