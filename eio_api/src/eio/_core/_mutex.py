"""Mutexes that let other fibers run while waiting (Eio's ``Eio.Mutex``).

A mutex is thread-safe: its state and its FIFO queue of waiting fibers are
changed under one `threading.Lock`. ``unlock`` with waiters hands the lock
straight to the first one (the mutex stays locked). An error inside
``use_rw`` poisons the mutex: every waiting and later locker gets
`Mutex.Poisoned`, carrying the original error.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType

from ._fiber import Fiber
from ._loop import current_fiber
from ._scopes import protect as _protect
from ._traps import wait
from ._waiters import enqueue_waiter

_UNLOCKED = 0
_LOCKED = 1
_POISONED = 2


class MutexPoisoned(RuntimeError):
    """The mutex was disabled by an error in a critical section; ``error`` is that error."""

    error: BaseException

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


class Mutex:
    """A mutex for fibers: ``async with m.use_rw(protect=False): ...``.

    Only one fiber holds it at a time; others wait in arrival order without
    blocking their domain. Locking a free mutex never suspends the fiber.
    """

    __slots__ = ("_lock", "_state", "_error", "_waiters")

    Poisoned = MutexPoisoned

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _UNLOCKED
        self._error: BaseException | None = None
        self._waiters: deque[Fiber] = deque()

    def __repr__(self) -> str:
        state = ("unlocked", "locked", "poisoned")[self._state]
        waiting = f", {len(self._waiters)} waiting" if self._waiters else ""
        return f"<Mutex {state}{waiting}>"

    def _poisoned(self) -> MutexPoisoned:
        error = self._error
        assert error is not None
        ex = MutexPoisoned(error)
        ex.__cause__ = error
        return ex

    async def lock(self) -> None:
        """Lock the mutex, waiting (in FIFO order) while another fiber holds it.

        Raises `Mutex.Poisoned` if the mutex is or becomes poisoned, and
        `Cancelled` if the fiber is cancelled while waiting.
        """
        lock = self._lock
        lock.acquire()
        try:
            state = self._state
            if state == _UNLOCKED:
                self._state = _LOCKED
                return
            if state == _POISONED:
                raise self._poisoned()
            fiber = current_fiber()
            enqueue_waiter(fiber, self._waiters, fiber, lock)
        finally:
            lock.release()
        # The unlocker hands us the lock (the state stays locked), or poisoning
        # wakes us with the error.
        await wait()

    def try_lock(self) -> bool:
        """Lock the mutex if it is free and return True; return False at once if it is held.

        Raises `Mutex.Poisoned` if the mutex is poisoned.
        """
        with self._lock:
            state = self._state
            if state == _UNLOCKED:
                self._state = _LOCKED
                return True
            if state == _POISONED:
                raise self._poisoned()
            return False

    def unlock(self) -> None:
        """Unlock the mutex; the first waiting fiber (if any) gets it next.

        Unlocking a mutex that is not locked is a bug in the caller: it raises
        `RuntimeError` and poisons the mutex. Unlocking a poisoned mutex
        raises `Mutex.Poisoned`.
        """
        lock = self._lock
        lock.acquire()
        try:
            state = self._state
            if state == _LOCKED:
                if not self._waiters:
                    self._state = _UNLOCKED
                    return
                fiber = self._waiters.popleft()
            elif state == _UNLOCKED:
                error = RuntimeError("eio.Mutex.unlock: already unlocked!")
                self._state = _POISONED
                self._error = error
                raise error
            else:
                raise self._poisoned()
        finally:
            lock.release()
        fiber.wake_threadsafe(None)

    def _poison(self, error: BaseException) -> None:
        # Called by the holder: waiters can never get the lock now.
        with self._lock:
            self._state = _POISONED
            self._error = error
            waiters = list(self._waiters)
            self._waiters.clear()
        for fiber in waiters:
            fiber.wake_error_threadsafe(self._poisoned())

    def use_rw(self, protect: bool = False) -> UseRW:
        """``async with m.use_rw(protect=...):`` runs the block holding the mutex, for changing its resource.

        If the block raises (even `Cancelled`), the resource may be half
        changed, so the mutex is poisoned and the error propagates. With
        ``protect=True`` the block runs protected from cancellation (waiting
        for the lock can still be cancelled).
        """
        return UseRW(self, protect)

    def use_ro(self) -> UseRO:
        """``async with m.use_ro():`` runs the block holding the mutex, for reading its resource only.

        If the block raises, the mutex is just unlocked (not poisoned).
        """
        return UseRO(self)


class UseRO:
    """The async context manager returned by `Mutex.use_ro`."""

    __slots__ = ("_mutex",)

    def __init__(self, mutex: Mutex) -> None:
        self._mutex = mutex

    async def __aenter__(self) -> None:
        await self._mutex.lock()

    async def __aexit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._mutex.unlock()


class UseRW:
    """The async context manager returned by `Mutex.use_rw`."""

    __slots__ = ("_mutex", "_protect", "_scope")

    def __init__(self, mutex: Mutex, protect: bool) -> None:
        self._mutex = mutex
        self._protect = protect
        self._scope: _protect | None = None

    async def __aenter__(self) -> None:
        await self._mutex.lock()
        if self._protect:
            scope = _protect()
            scope.__enter__()
            self._scope = scope

    async def __aexit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        scope = self._scope
        if scope is not None:
            self._scope = None
            scope.__exit__(typ, exc, tb)
        if exc is None:
            self._mutex.unlock()
        else:
            self._mutex._poison(exc)  # pyright: ignore[reportPrivateUsage] - the mutex's own helper
