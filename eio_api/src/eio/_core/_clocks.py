"""Real clocks for real backends: sleeping uses the loop's timer heap."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ._cancel import Cancelled
from ._fiber import Fiber
from ._loop import TimerEntry, current_loop
from ._traps import suspend, yield_


async def sleep_until_monotonic(deadline: float) -> None:
    """Suspend the current fiber until `time.monotonic()` reaches ``deadline``.

    A deadline already passed still lets other fibers run once (like Eio);
    ``inf`` sleeps until cancelled; NaN is a `ValueError`.
    """
    if deadline <= time.monotonic():
        await yield_()
        return
    if deadline == math.inf or deadline != deadline:
        if deadline != deadline:
            raise ValueError("sleep_until: the deadline is NaN")

        def forever(fiber: Fiber) -> None:
            fiber.cancel_fn = fiber.wake_error

        await suspend(forever)
        return

    def register(fiber: Fiber) -> None:
        entry = fiber.loop.add_timer(deadline, fiber.wake)

        def cancel(error: Cancelled) -> None:
            entry.cancel()
            fiber.wake_error(error)

        fiber.cancel_fn = cancel

    await suspend(register)


class MonoClock:
    """The monotonic clock: seconds from an arbitrary origin, never going back."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<mono clock>"

    def now(self) -> float:
        """Seconds on `time.monotonic`."""
        return time.monotonic()

    async def sleep_until(self, deadline: float, /) -> None:
        """Sleep until `now()` reaches ``deadline``."""
        await sleep_until_monotonic(deadline)

    def call_at(self, deadline: float, callback: Callable[[], None], /) -> TimerEntry:
        """Call ``callback()`` on the current loop once `now()` reaches ``deadline`` (no fiber needed)."""
        return current_loop().add_timer(deadline, callback)


class SystemClock:
    """The wall clock: seconds since the Unix epoch (`time.time`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<system clock>"

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    async def sleep_until(self, deadline: float, /) -> None:
        """Sleep until the wall clock reaches ``deadline`` (measured on the monotonic clock)."""
        await sleep_until_monotonic(time.monotonic() + (deadline - time.time()))

    def call_at(self, deadline: float, callback: Callable[[], None], /) -> TimerEntry:
        """Call ``callback()`` on the current loop once the wall clock reaches ``deadline`` (measured on the monotonic clock)."""
        return current_loop().add_timer(time.monotonic() + (deadline - time.time()), callback)
