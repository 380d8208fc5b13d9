"""Time: clocks, sleeping and timeouts (Eio's ``Time``).

A clock is any object with ``now() -> float`` and ``async sleep_until(t)``;
times are seconds as floats. ``env.clock`` is the wall clock (seconds since
the epoch), ``env.mono_clock`` a monotonic one (arbitrary origin).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from ._core._clocks import MonoClock, SystemClock
from ._core._deadline import DeadlineScope, check_deadline, check_duration
from ._core._traps import coroutine_of

__all__ = [
    "Clock",
    "DeadlineScope",
    "MonoClock",
    "SystemClock",
    "Timeout",
    "fail_after",
    "move_on_after",
    "now",
    "sleep",
    "sleep_until",
    "with_timeout",
]

T = TypeVar("T")


class Clock(Protocol):
    """A source of time that fibers can sleep on.

    A clock may also offer ``call_at(deadline, callback) -> handle`` (a
    handle with ``cancel()``), calling ``callback()`` on the current loop at
    ``deadline``; timeouts then need no helper fiber. eio's clocks have it.
    """

    def now(self) -> float:
        """The current time, in seconds."""
        ...

    async def sleep_until(self, deadline: float, /) -> None:
        """Suspend the calling fiber until ``now() >= deadline``."""
        ...


class Timeout(TimeoutError):
    """An operation run with `with_timeout` (or a `fail_after` block) took too long."""

    def __init__(self, message: str = "Timeout") -> None:
        super().__init__(message)


def now(clock: Clock) -> float:
    """``clock.now()``."""
    return clock.now()


async def sleep_until(clock: Clock, deadline: float) -> None:
    """Sleep until ``clock`` reaches ``deadline`` (``inf``: until cancelled; NaN: `ValueError`)."""
    await clock.sleep_until(check_deadline(deadline, "eio.time.sleep_until"))


async def sleep(clock: Clock, seconds: float) -> None:
    """Sleep for ``seconds`` on ``clock``.

    ``inf`` sleeps until the fiber is cancelled; a negative duration is 0
    (other fibers still run once); NaN is a `ValueError`; a huge one is just
    a long sleep.
    """
    seconds = check_duration(seconds, "eio.time.sleep")
    await clock.sleep_until(clock.now() + seconds)


def move_on_after(clock: Clock, seconds: float) -> DeadlineScope:
    """``with move_on_after(clock, s) as scope:`` cancels the block's operations after ``s`` seconds.

    The block then ends quietly and ``scope.cancelled_caught`` is True. If
    the block finishes first (even in the same scheduler pass as the
    deadline), ``cancelled_caught`` is False and nothing was cancelled.
    ``inf`` means no deadline.
    """
    return DeadlineScope(clock, seconds, "eio.time.move_on_after", lambda: Timeout(f"deadline of {seconds:g}s reached"))


def fail_after(clock: Clock, seconds: float) -> DeadlineScope:
    """``with fail_after(clock, s):`` is `move_on_after`, then raises `Timeout` if the deadline stopped the block."""
    return DeadlineScope(clock, seconds, "eio.time.fail_after", lambda: Timeout(f"timed out after {seconds:g}s"), fail=True)


async def with_timeout(clock: Clock, seconds: float, fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``await fn()``, cancelling it and raising `Timeout` if it takes longer than ``seconds``.

    As in Eio, the timer starts first and ``fn`` runs in the calling fiber, so
    a timeout of 0 lets ``fn`` run until it first switches fibers.

    Nothing is lost: if ``fn`` returns (or raises its own error) in the same
    scheduler pass as the deadline, that outcome wins; `Timeout` means ``fn``
    was stopped by the deadline, and the operation it was waiting in had no
    effect (a `Stream.take` took no item, a read consumed no bytes). ``inf``
    means no timeout; NaN is a `ValueError`.
    """
    scope = DeadlineScope(clock, seconds, "eio.time.with_timeout", lambda: Timeout(f"timed out after {seconds:g}s"), fail=True)
    coro = coroutine_of(fn, (), "eio.time.with_timeout")
    with scope:
        return await coro
    raise AssertionError("unreachable: a deadline scope with fail=True never swallows the error")
