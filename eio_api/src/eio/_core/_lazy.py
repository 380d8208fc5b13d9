"""Lazy values that many fibers (and domains) may force at once (Eio's ``Lazy``)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Generic, Literal, TypeVar, cast

from ._cancel import ON, Cancelled
from ._loop import current_fiber
from ._promise import Promise, Resolver
from ._scopes import protect
from ._traps import coroutine_of

T = TypeVar("T")
R = TypeVar("R")  # the static constructors' own variable, so `Lazy.from_fun(f)` infers it

CancelMode = Literal["restart", "record", "protect"]

_WAITING = 0  # not started (or restarted after a cancellation)
_RUNNING = 1  # a fiber is running the function; others wait on ``_running``
_VALUE = 2
_FAILED = 3

_MODES = ("restart", "record", "protect")


class Lazy(Generic[T]):
    """A value computed by an async function the first time it is forced.

    Unlike Python's usual lazy patterns, several fibers (in any domains) may
    force it at once: one runs the function and the others wait for it. An
    error raised by the function is recorded and raised by every later
    `force`; what cancelling the fiber running the function does depends on
    the ``cancel`` mode given to `from_fun`.
    """

    __slots__ = ("_lock", "_state", "_fn", "_cancel", "_value", "_error", "_tb", "_running")

    def __init__(self, fn: Callable[[], Awaitable[T]] | None, cancel: CancelMode) -> None:
        self._lock = threading.Lock()
        self._state = _WAITING
        self._fn = fn
        self._cancel = cancel
        self._value: T | None = None
        self._error: BaseException | None = None
        self._tb: TracebackType | None = None
        self._running: Promise[None] | None = None

    @staticmethod
    def from_fun(fn: Callable[[], Awaitable[R]], cancel: CancelMode = "restart") -> Lazy[R]:
        """A lazy value that runs ``await fn()`` the first time it is forced.

        ``cancel`` says what happens if the fiber running ``fn`` is cancelled:
        ``"restart"``: the next fiber waiting for the value runs ``fn`` again;
        ``"record"``: the `Cancelled` error is recorded as the result, and every
        later `force` raises it; ``"protect"``: ``fn`` runs protected from
        cancellation, so it always finishes.
        """
        if cancel not in _MODES:
            raise ValueError(f"Lazy.from_fun: cancel must be 'restart', 'record' or 'protect', not {cancel!r}")
        if not callable(fn):
            if isinstance(fn, Coroutine):
                fn.close()  # it will never run; closing it avoids a "never awaited" warning
                raise TypeError(
                    "Lazy.from_fun expects an async function, but got a coroutine object; "
                    "pass the function itself, not the result of calling it"
                )
            raise TypeError(f"Lazy.from_fun expects an async function, not {type(fn).__name__}")
        return Lazy(fn, cancel)

    @staticmethod
    def from_val(value: R) -> Lazy[R]:
        """A lazy value that is already forced: `force` returns ``value``."""
        lz: Lazy[R] = Lazy(None, "restart")
        lz._state = _VALUE
        lz._value = value
        return lz

    def __repr__(self) -> str:
        state = ("not forced", "being forced", "forced", "failed")[self._state]
        return f"<Lazy {state}>"

    def is_forced(self) -> bool:
        """Whether the function has finished (with a value or an error)."""
        return self._state >= _VALUE

    async def force(self) -> T:
        """The function's result, running the function if nobody has yet.

        If another fiber is running it, wait for that run and look again
        (it may have been cancelled in ``"restart"`` mode). If the function
        raised, raise the same error.
        """
        while True:
            state = self._state
            if state == _VALUE:
                return cast(T, self._value)
            if state == _FAILED:
                error = self._error
                assert error is not None
                raise error.with_traceback(self._tb)
            if state == _RUNNING:
                running = self._running
                if running is not None:
                    await running
                continue
            with self._lock:
                if self._state != _WAITING:
                    continue
                p: Promise[None] = Promise()
                r = Resolver(p)
                self._running = p
                self._state = _RUNNING
            return await self._run(r)

    async def _run(self, r: Resolver[None]) -> T:
        fn = self._fn
        assert fn is not None
        try:
            if self._cancel == "protect":
                with protect():
                    value = await coroutine_of(fn, (), "Lazy.from_fun")
            else:
                value = await coroutine_of(fn, (), "Lazy.from_fun")
        except BaseException as ex:
            if self._cancel == "restart" and isinstance(ex, Cancelled) and current_fiber().cc.state != ON:
                # Our fiber was cancelled: leave the work to the next fiber that forces.
                self._settle(_WAITING, None, None, None, r)
                current_fiber().cc.check()
            self._settle(_FAILED, None, ex, ex.__traceback__, r)
            raise
        self._settle(_VALUE, value, None, None, r)
        self._fn = None  # the function is not needed again: let it be collected
        return value

    def _settle(
        self, state: int, value: T | None, error: BaseException | None, tb: TracebackType | None, r: Resolver[None]
    ) -> None:
        with self._lock:
            self._value = value
            self._error = error
            self._tb = tb
            self._state = state
            self._running = None
        r.resolve(None)
