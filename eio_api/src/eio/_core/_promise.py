"""Promises: a value (or error) that will be available later, resolved once.

Thread-safe: a promise may be resolved from any OS thread (another domain,
a worker thread); fibers waiting on it are woken on their own loops.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any, Generic, TypeVar, cast

from ._cancel import ON, Cancelled
from ._fiber import Fiber
from ._loop import SUSPEND, current_fiber

T = TypeVar("T")

_PENDING = 0
_OK = 1
_ERROR = 2


_PROMISES_LOCK = threading.Lock()


class AlreadyResolved(RuntimeError):
    """`Resolver.resolve` was called on a promise that was already resolved."""


class Promise(Generic[T]):
    """A value of type ``T`` that will be resolved later. ``await p`` waits for it.

    Awaiting a promise that is already resolved does not suspend the fiber.
    If the promise was resolved with an error, awaiting it raises that error.
    """

    __slots__ = ("_state", "_value", "_error", "_waiters")

    # One lock for every promise: it is held only for a few bytecodes, never
    # across a wake-up, and creating a lock per promise cost 15% of a fork_promise.
    _lock = _PROMISES_LOCK

    def __init__(self) -> None:
        self._state = _PENDING
        self._value: T | None = None
        self._error: BaseException | None = None
        self._waiters: dict[Fiber, None] | None = {}

    @classmethod
    def create(cls) -> tuple[Promise[T], Resolver[T]]:
        """A new unresolved promise and the resolver that resolves it.

        Give the type of the value as ``p, r = Promise[int].create()``.
        """
        p: Promise[T] = Promise()
        return p, Resolver(p)

    @staticmethod
    def create_resolved(value: T) -> Promise[T]:
        """A promise already resolved with ``value``."""
        p: Promise[T] = Promise()
        p._state = _OK
        p._value = value
        p._waiters = None
        return p

    def __repr__(self) -> str:
        state = ("unresolved", "resolved", "failed")[self._state]
        return f"<Promise {state}>"

    def is_resolved(self) -> bool:
        """Whether the promise has been resolved (with a value or an error)."""
        return self._state != _PENDING

    def peek(self) -> T | None:
        """The value if resolved; None if not yet resolved; raises the error if resolved with one."""
        if self._state == _OK:
            return self._value
        if self._state == _ERROR:
            assert self._error is not None
            raise self._error
        return None

    def _result(self) -> T:
        if self._state == _OK:
            return cast(T, self._value)
        assert self._error is not None
        raise self._error

    def __await__(self) -> Generator[Any, Any, T]:
        if self._state != _PENDING:
            return self._result()
        fiber = current_fiber()
        cc = fiber.cc
        if cc.state != ON:
            error = cc.get_error()
            assert error is not None
            fiber.wake_error(error)
            yield SUSPEND
        with self._lock:
            waiters = self._waiters
            if waiters is not None:
                waiters[fiber] = None
        if waiters is None:
            return self._result()  # resolved while we were checking

        def cancel(error: Cancelled) -> None:
            with self._lock:
                w = self._waiters
                if w is None or w.pop(fiber, 0) is not None:
                    return  # already resolved: the resolver wakes us
            fiber.wake_error(error)

        fiber.cancel_fn = cancel
        yield SUSPEND
        return self._result()

    def _resolve(self, state: int, value: T | None, error: BaseException | None) -> bool:
        with self._lock:
            if self._state != _PENDING:
                return False
            self._state = state
            self._value = value
            self._error = error
            waiters = self._waiters
            self._waiters = None
        if waiters:
            for fiber in waiters:
                fiber.wake_threadsafe(None)
        return True


class Resolver(Generic[T]):
    """The capability to resolve one `Promise`. Safe to use from any thread."""

    __slots__ = ("_promise",)

    def __init__(self, promise: Promise[T]) -> None:
        self._promise = promise

    def __repr__(self) -> str:
        return f"<Resolver of {self._promise!r}>"

    def resolve(self, value: T) -> None:
        """Resolve the promise with ``value``, waking its waiters; `AlreadyResolved` if it was."""
        if not self._promise._resolve(_OK, value, None):  # pyright: ignore[reportPrivateUsage]
            raise AlreadyResolved("Can't resolve already-resolved promise")

    def resolve_error(self, error: BaseException) -> None:
        """Resolve the promise with an error: awaiting it raises ``error``."""
        if not self._promise._resolve(_ERROR, None, error):  # pyright: ignore[reportPrivateUsage]
            raise AlreadyResolved("Can't resolve already-resolved promise")

    def try_resolve(self, value: T) -> bool:
        """Resolve the promise unless it already is; return whether this call resolved it."""
        return self._promise._resolve(_OK, value, None)  # pyright: ignore[reportPrivateUsage]

    def try_resolve_error(self, error: BaseException) -> bool:
        """Resolve the promise with an error unless it already is resolved."""
        return self._promise._resolve(_ERROR, None, error)  # pyright: ignore[reportPrivateUsage]
