"""Conformance: `eio.time` on mock clocks (the mock-clock parts of Eio's tests/time.md).

Eio runs some of these cases on a real clock; here they run on the mock
backend's auto-advancing clock (`eio_mock.backend.run_full`), which traces
each jump of time. Eio's ``Invalid_argument`` from ``Clock.advance`` is a
`ValueError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import eio
import pytest
from conftest import Trace
from eio_mock.backend import MockEnv

import eio_mock


class Failure(Exception):
    """Eio's ``Failure``."""


def run_full_raises(fn: Callable[[MockEnv], Awaitable[Any]]) -> BaseException:
    with pytest.raises(BaseException) as info:
        eio_mock.backend.run_full(fn)
    return info.value


def assert_failure(ex: BaseException, message: str) -> None:
    assert type(ex) is Failure
    assert ex.args == (message,)


# -- Sleeping on the environment's clock -------------------------------------------------


def test_sleep_advances_the_mock_clock(trace: Trace) -> None:
    async def main(env: MockEnv) -> float:
        t0 = eio.time.now(env.clock)
        await eio.time.sleep(env.clock, 0.01)
        return eio.time.now(env.clock) - t0

    assert eio_mock.backend.run_full(main) == 0.01
    assert trace.lines() == ["mock time is now 0.01"]


def test_cancelling_sleep(trace: Trace) -> None:
    async def main(env: MockEnv) -> None:
        async def sleeper() -> None:
            await eio.time.sleep(env.clock, 1200.0)
            raise AssertionError("sleep was not cancelled")

        async def cancel() -> None:
            raise Failure("Simulated cancel")

        await eio.fiber.both(sleeper, cancel)

    assert_failure(run_full_raises(main), "Simulated cancel")
    assert trace.lines() == []


def test_sleep_when_the_switch_is_already_off(trace: Trace) -> None:
    async def main(env: MockEnv) -> None:
        async with eio.Switch.run() as sw:
            sw.fail(Failure("Simulated failure"))
            await eio.time.sleep(env.clock, 1200.0)
            raise AssertionError("slept in a failed switch")

    assert_failure(run_full_raises(main), "Simulated failure")
    assert trace.lines() == []


def test_a_timer_already_due_still_yields(trace: Trace) -> None:
    async def main(env: MockEnv) -> None:
        async def first() -> None:
            eio.traceln("First fiber runs")
            await eio.time.sleep(env.clock, -1.0)
            eio.traceln("Sleep done")

        async def second() -> None:
            eio.traceln("Second fiber runs")

        async with eio.Switch.run():
            await eio.fiber.both(first, second)

    eio_mock.backend.run_full(main)
    assert trace.lines() == ["First fiber runs", "Second fiber runs", "Sleep done"]


def test_timers_fire_in_deadline_order(trace: Trace) -> None:
    async def main(env: MockEnv) -> None:
        async def long() -> None:
            await eio.time.sleep(env.clock, 1200.0)
            raise AssertionError("the long timer fired")

        async def short() -> None:
            await eio.time.sleep(env.clock, 0.1)
            eio.traceln("Short timer finished")
            raise Failure("Simulated cancel")

        async with eio.Switch.run():
            await eio.fiber.both(long, short)

    assert_failure(run_full_raises(main), "Simulated cancel")
    assert trace.lines() == ["mock time is now 0.1", "Short timer finished"]


def test_the_wall_clock_and_the_mono_clock_are_one_time_line(trace: Trace) -> None:
    async def main(env: MockEnv) -> tuple[float, float]:
        await eio.time.sleep(env.mono_clock, 3.0)
        await eio.time.sleep_until(env.clock, 5.0)
        return eio.time.now(env.clock), eio.time.now(env.mono_clock)

    assert eio_mock.backend.run_full(main) == (5.0, 5.0)
    assert trace.lines() == ["mock time is now 3", "mock time is now 5"]


# -- Timeouts ------------------------------------------------------------------------------


def test_with_timeout_expires(trace: Trace) -> None:
    async def main(env: MockEnv) -> None:
        async def quick() -> None:
            pass

        await eio.time.with_timeout(env.mono_clock, 10.0, quick)
        await eio.time.with_timeout(env.mono_clock, 0.0001, eio.fiber.await_cancel)

    ex = run_full_raises(main)
    assert type(ex) is eio.time.Timeout
    assert isinstance(ex, TimeoutError)
    assert trace.lines() == ["mock time is now 0.0001"]


def test_with_timeout_returns_the_result_in_time(trace: Trace) -> None:
    async def main(env: MockEnv) -> str:
        async def work() -> str:
            await eio.time.sleep(env.mono_clock, 1.0)
            return "done"

        return await eio.time.with_timeout(env.mono_clock, 2.0, work)

    assert eio_mock.backend.run_full(main) == "done"
    assert trace.lines() == ["mock time is now 1"]


def test_with_timeout_reports_the_functions_error(trace: Trace) -> None:
    async def main(env: MockEnv) -> None:
        async def work() -> None:
            raise Failure("work failed")

        await eio.time.with_timeout(env.mono_clock, 2.0, work)

    assert_failure(run_full_raises(main), "work failed")
    assert trace.lines() == []


# -- A mock clock driven by hand -------------------------------------------------------------


def sleeper(mock: eio_mock.clock.MockClock, label: str, time: float) -> Callable[[], Awaitable[None]]:
    async def f() -> None:
        await eio.time.sleep_until(mock, time)
        eio.traceln(f"{label} ({time:g}) woken")

    return f


def sleepers(mock: eio_mock.clock.MockClock) -> list[Callable[[], Awaitable[None]]]:
    return [
        sleeper(mock, "A", 5.0),
        sleeper(mock, "B", 7.0),
        sleeper(mock, "C", 2.0),
        sleeper(mock, "D", 0.0),
        sleeper(mock, "E", 5.0),
    ]


def test_advancing_the_time(trace: Trace) -> None:
    mock = eio_mock.clock.make()

    async def advancer() -> None:
        while True:
            await eio.fiber.yield_()
            eio_mock.clock.advance(mock)

    async def main() -> None:
        await eio.fiber.all([*sleepers(mock), advancer])

    with pytest.raises(ValueError, match="^No further events scheduled on mock clock$"):
        eio_mock.backend.run(main)
    assert trace.lines() == [
        "D (0) woken",
        "mock time is now 2",
        "C (2) woken",
        "mock time is now 5",
        "A (5) woken",
        "E (5) woken",
        "mock time is now 7",
        "B (7) woken",
    ]


def test_setting_the_time_directly(trace: Trace) -> None:
    mock = eio_mock.clock.make()

    async def setter() -> None:
        await eio.fiber.yield_()
        eio_mock.clock.set_time(mock, 5.0)
        await eio.fiber.yield_()
        eio_mock.clock.set_time(mock, 1.0)
        await eio.fiber.yield_()
        eio_mock.clock.set_time(mock, 10.0)
        await eio.fiber.yield_()
        eio_mock.clock.set_time(mock, 12.0)

    async def main() -> None:
        eio_mock.clock.set_time(mock, 0.0)
        await eio.fiber.all([*sleepers(mock), setter])

    eio_mock.backend.run(main)
    assert trace.lines() == [
        "mock time is now 0",
        "D (0) woken",
        "mock time is now 5",
        "C (2) woken",
        "A (5) woken",
        "E (5) woken",
        "mock time is now 1",
        "mock time is now 10",
        "B (7) woken",
        "mock time is now 12",
    ]


def test_a_cancelled_sleeper_is_forgotten(trace: Trace) -> None:
    mock = eio_mock.clock.make()

    async def cancel() -> None:
        eio.traceln("Cancel sleeper")

    async def main() -> None:
        eio_mock.clock.set_time(mock, 0.0)
        await eio.fiber.first(sleeper(mock, "A", 5.0), cancel)
        eio_mock.clock.advance(mock)

    with pytest.raises(ValueError, match="^No further events scheduled on mock clock$"):
        eio_mock.backend.run(main)
    assert trace.lines() == ["mock time is now 0", "Cancel sleeper"]


def test_sleep_then_sleep_forever_is_a_deadlock(trace: Trace) -> None:
    async def main(env: MockEnv) -> None:
        await eio.time.sleep(env.mono_clock, 2.0)
        eio.traceln("Timeout done")
        await eio.fiber.await_cancel()
        raise AssertionError("woke from an endless sleep")

    try:
        eio_mock.backend.run_full(main)
    except eio_mock.DeadlockDetected:
        eio.traceln("Never finished")
    assert trace.lines() == ["mock time is now 2", "Timeout done", "Never finished"]


def test_with_timeout_starts_the_timer_first(trace: Trace) -> None:
    # A zero timeout fires at the first fiber switch in fn, as in Eio.
    async def main(env: MockEnv) -> str:
        async def quick() -> str:
            eio.traceln("quick runs")
            return "quick"

        async def yields() -> str:
            eio.traceln("yielding")
            await eio.fiber.yield_()
            eio.traceln("not reached")
            return "slow"

        assert await eio.time.with_timeout(env.mono_clock, 0.0, quick) == "quick"
        return await eio.time.with_timeout(env.mono_clock, 0.0, yields)

    ex = run_full_raises(main)
    assert type(ex) is eio.time.Timeout
    assert str(ex) == "timed out after 0s"
    assert trace.lines() == ["quick runs", "yielding"]
