"""Mock clocks: time moves only when told to (Eio's ``Eio_mock.Clock``).

``advance`` jumps to the earliest sleeper's wake-up time, ``set_time`` to a
given time; both wake every sleeper that is due and trace the new time, as
``mock time is now 5``. In `eio_mock.backend.run_full`, the environment's
clocks advance by themselves whenever no fiber can run.
"""

from __future__ import annotations

import heapq

import eio
from eio.lowlevel import Fiber, suspend, yield_

__all__ = ["MockClock", "advance", "make", "set_time", "try_advance"]


class MockClock:
    """A clock whose time only changes through `advance` or `set_time`. Starts at 0."""

    __slots__ = ("_now", "_sleepers", "_seq")

    def __init__(self) -> None:
        self._now = 0.0
        # (wake time, sequence number, fiber); the sequence keeps ties in FIFO order
        self._sleepers: list[tuple[float, int, Fiber]] = []
        self._seq = 0

    def __repr__(self) -> str:
        return f"<mock clock at {self._now:g}>"

    def now(self) -> float:
        """The mock time."""
        return self._now

    async def sleep_until(self, deadline: float, /) -> None:
        """Sleep until the mock time reaches ``deadline`` (just yield if it already has)."""
        if deadline <= self._now:
            await yield_()
            return
        self._seq += 1
        seq = self._seq

        def register(fiber: Fiber) -> None:
            entry = (deadline, seq, fiber)
            heapq.heappush(self._sleepers, entry)

            def cancel(error: eio.Cancelled) -> None:
                self._sleepers.remove(entry)
                heapq.heapify(self._sleepers)
                fiber.wake_error(error)

            fiber.cancel_fn = cancel

        await suspend(register)

    def set_time(self, time: float) -> None:
        """Set the time, wake every sleeper due by then, and trace it."""
        sleepers = self._sleepers
        while sleepers and sleepers[0][0] <= time:
            _, _, fiber = heapq.heappop(sleepers)
            fiber.wake(None)
        self._now = time
        eio.traceln(f"mock time is now {time:g}")

    def try_advance(self) -> bool:
        """Advance to the next sleeper's time; False if nobody is sleeping."""
        if not self._sleepers:
            return False
        self.set_time(self._sleepers[0][0])
        return True

    def advance(self) -> None:
        """Advance to the next sleeper's time; `ValueError` if nobody is sleeping."""
        if not self.try_advance():
            raise ValueError("No further events scheduled on mock clock")


def make() -> MockClock:
    """A new mock clock at time 0."""
    return MockClock()


def advance(clock: MockClock) -> None:
    """``clock.advance()``."""
    clock.advance()


def try_advance(clock: MockClock) -> bool:
    """``clock.try_advance()``."""
    return clock.try_advance()


def set_time(clock: MockClock, time: float) -> None:
    """``clock.set_time(time)``."""
    clock.set_time(time)
