"""A pool of reusable resources, created on demand up to a limit (Eio's ``Pool``).

Users queue in FIFO order. A returned resource goes straight to the first
waiting user, if any; otherwise it is kept for the next one. Thread-safe:
a pool may be shared by fibers in several domains.
"""

from __future__ import annotations

import inspect
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Generic, TypeVar, cast

from ._cancel import ON, Cancelled
from ._fiber import Fiber
from ._traps import coroutine_of, suspend_unchecked

T = TypeVar("T")

_EMPTY: object = object()  # a slot with no resource in it (resources may be None)


class _Slot:
    """A place for one resource; the pool owns at most ``n`` of them."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: object = _EMPTY


class _Waiter:
    """A user waiting for a slot: ``fiber`` is None until it has suspended."""

    __slots__ = ("fiber", "slot")

    def __init__(self) -> None:
        self.fiber: Fiber | None = None
        self.slot: _Slot | None = None


async def _maybe_await(x: object) -> object:
    if inspect.isawaitable(x):
        return await x
    return x


class Pool(Generic[T]):
    """Up to ``n`` resources made by ``alloc``, lent out with ``async with pool.use() as r``.

    ``alloc`` is an async function, called (in the using fiber) only when
    a user needs a resource and no existing one is free. If it raises, that
    use fails, and a later use tries again.

    ``validate(r)`` (sync or async), if given, is called before an existing
    resource is reused; if it returns False, the resource is passed to
    ``dispose`` (sync or async) and a fresh one is allocated. If ``dispose``
    raises, the error goes to the user, but the resource counts as disposed.
    If you only need to limit how many things run at once, use a `Semaphore`.
    """

    __slots__ = ("_lock", "_max", "_slots", "_free", "_waiters", "_alloc", "_validate", "_dispose")

    def __init__(
        self,
        n: int,
        alloc: Callable[[], Awaitable[T]],
        validate: Callable[[T], Awaitable[bool] | bool] | None = None,
        dispose: Callable[[T], Awaitable[object] | object] | None = None,
    ) -> None:
        if n <= 0:
            raise ValueError(f"Pool: the maximum number of resources must be positive (got {n})")
        if not callable(alloc):
            raise TypeError(f"Pool expects alloc to be an async function, not {type(alloc).__name__}")
        self._lock = threading.Lock()
        self._max = n
        self._slots = 0  # slots created so far: resources free, in use, or not yet allocated
        self._free: deque[_Slot] = deque()
        self._waiters: deque[_Waiter] = deque()
        self._alloc = alloc
        self._validate = validate
        self._dispose = dispose

    def __repr__(self) -> str:
        return f"<Pool {self._slots}/{self._max} slots, {len(self._free)} free, {len(self._waiters)} waiting>"

    def use(self, never_block: bool = False) -> _Use[T]:
        """``async with pool.use() as r``: wait for a resource, use it, then give it back.

        The resource is given back whether the block ends normally or with an
        error. With ``never_block=True``, a use that would have to wait because
        the pool is at its limit instead gets a fresh resource of its own,
        which is disposed of when the block ends.
        """
        return _Use(self, never_block)

    # -- slots ------------------------------------------------------------------

    def _put(self, slot: _Slot) -> None:
        """Give ``slot`` to the first waiting user, or keep it for the next one."""
        with self._lock:
            if not self._waiters:
                self._free.append(slot)
                return
            waiter = self._waiters.popleft()
            waiter.slot = slot
            fiber = waiter.fiber
            if fiber is not None:
                fiber.cancel_fn = None
        if fiber is not None:
            fiber.wake_threadsafe(slot)

    async def _take(self, never_block: bool) -> _Slot | None:
        """A slot for the current user; None means "use a fresh resource of your own"."""
        with self._lock:
            if self._free:
                return self._free.popleft()
            can_add = self._slots < self._max
            if never_block and not can_add:
                return None
            waiter = _Waiter()
            self._waiters.append(waiter)
            if can_add:
                self._slots += 1
        if can_add:
            # The new slot goes to the first waiter, which may be ourselves. We
            # suspend in either case, as Eio does (so fibers keep their turns).
            self._put(_Slot())

        def register(fiber: Fiber) -> None:
            with self._lock:
                if waiter.slot is not None:
                    fiber.wake(waiter.slot)
                    return
                cc = fiber.cc
                if cc.state != ON:
                    self._waiters.remove(waiter)
                    error = cc.get_error()
                    assert error is not None
                    fiber.wake_error(error)
                    return
                waiter.fiber = fiber

                def cancel(error: Cancelled) -> None:
                    with self._lock:
                        if waiter.slot is not None:
                            return  # being handed a slot: that wake-up wins
                        self._waiters.remove(waiter)
                    fiber.wake_error(error)

                fiber.cancel_fn = cancel

        return cast(_Slot, await suspend_unchecked(register))

    async def _fill(self, slot: _Slot) -> T:
        """Make sure ``slot`` holds a valid resource and return it."""
        value = slot.value
        if value is not _EMPTY:
            validate = self._validate
            if validate is None or await _maybe_await(validate(cast(T, value))):
                return cast(T, value)
            slot.value = _EMPTY
            await self._dispose_value(cast(T, value))
        value = await coroutine_of(self._alloc, (), "Pool alloc")
        slot.value = value
        return value

    async def _dispose_value(self, value: T) -> None:
        dispose = self._dispose
        if dispose is not None:
            await _maybe_await(dispose(value))


class _Use(Generic[T]):
    """The async context manager returned by `Pool.use`."""

    __slots__ = ("_pool", "_never_block", "_slot", "_own", "_entered")

    def __init__(self, pool: Pool[T], never_block: bool) -> None:
        self._pool = pool
        self._never_block = never_block
        self._slot: _Slot | None = None
        self._own: object = _EMPTY  # a resource of our own (never_block at capacity)
        self._entered = False

    async def __aenter__(self) -> T:
        if self._entered:
            raise RuntimeError("a Pool.use() scope can only be entered once")
        self._entered = True
        pool = self._pool
        slot = await pool._take(self._never_block)  # pyright: ignore[reportPrivateUsage] - one unit with Pool
        if slot is None:
            value = await coroutine_of(pool._alloc, (), "Pool alloc")  # pyright: ignore[reportPrivateUsage]
            self._own = value
            return value
        try:
            value = await pool._fill(slot)  # pyright: ignore[reportPrivateUsage]
        except BaseException:
            pool._put(slot)  # pyright: ignore[reportPrivateUsage]
            raise
        self._slot = slot
        return value

    async def __aexit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        pool = self._pool
        slot = self._slot
        if slot is not None:
            self._slot = None
            pool._put(slot)  # pyright: ignore[reportPrivateUsage]
            return
        own = self._own
        self._own = _EMPTY
        if own is not _EMPTY:
            dispose = pool._dispose  # pyright: ignore[reportPrivateUsage]
            if dispose is None:
                return
            result = dispose(cast(T, own))
            if inspect.isawaitable(result):
                if isinstance(exc, GeneratorExit):
                    if inspect.iscoroutine(result):
                        result.close()  # the fiber is being torn down and can't wait
                    return
                await result
