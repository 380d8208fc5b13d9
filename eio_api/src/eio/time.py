"""Time: clocks, sleeping and timeouts (Eio's ``Time``).

A clock is any object with ``now() -> float`` and ``async sleep_until(t)``;
times are seconds as floats. ``env.clock`` is the wall clock (seconds since
the epoch), ``env.mono_clock`` a monotonic one (arbitrary origin).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from ._core._clocks import MonoClock, SystemClock
from .fiber import first

__all__ = ["Clock", "MonoClock", "SystemClock", "Timeout", "now", "sleep", "sleep_until", "with_timeout"]

T = TypeVar("T")


class Clock(Protocol):
    """A source of time that fibers can sleep on."""

    def now(self) -> float:
        """The current time, in seconds."""
        ...

    async def sleep_until(self, deadline: float, /) -> None:
        """Suspend the calling fiber until ``now() >= deadline``."""
        ...


class Timeout(TimeoutError):
    """An operation run with `with_timeout` took too long."""

    def __init__(self, message: str = "Timeout") -> None:
        super().__init__(message)


def now(clock: Clock) -> float:
    """``clock.now()``."""
    return clock.now()


async def sleep_until(clock: Clock, deadline: float) -> None:
    """Sleep until ``clock`` reaches ``deadline``."""
    await clock.sleep_until(deadline)


async def sleep(clock: Clock, seconds: float) -> None:
    """Sleep for ``seconds`` on ``clock``."""
    await clock.sleep_until(clock.now() + seconds)


async def with_timeout(clock: Clock, seconds: float, fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn()``, cancelling it and raising `Timeout` if it takes longer than ``seconds``.

    As in Eio, the timer starts first and ``fn`` runs in the calling fiber, so
    a timeout of 0 lets ``fn`` run until it first switches fibers.
    """

    async def timer() -> T:
        await sleep(clock, seconds)
        raise Timeout(f"timed out after {seconds:g}s")

    return await first(timer, fn)
