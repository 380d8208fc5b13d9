"""Conformance: the OS-clock parts of Eio's tests/time.md, on ``env.clock`` and ``env.mono_clock``.

Each test runs ``eio_main.run`` on every OS backend. Nothing here measures
how long anything took: the tests check the order in which sleepers wake,
what is raised, and that a clock never wakes a sleeper before its deadline.
The mock-clock parts of time.md are in test_time_mock.py.
"""

from __future__ import annotations

import time

import eio
import pytest
from conftest import Trace

import eio_main

_backend = ""


@pytest.fixture(autouse=True)
def _on_each_backend(os_backend: str) -> None:
    """Run every test of this module once per OS backend (as ``_backend``)."""
    global _backend
    _backend = os_backend


DEADLOCK = r"^Deadlock detected: no events scheduled but main function hasn't returned\n"


class SimulatedError(Exception):
    """The failure the tests inject."""


def live_timers() -> int:
    """How many timers of this thread's loop would still fire (cancelled ones are dropped lazily)."""
    return sum(1 for entry in eio.lowlevel.current_loop().timers if entry.callback is not None)


async def never() -> None:
    """Wait for a promise nobody resolves: only a pending timer or IO could keep the loop waiting."""
    p, _ = eio.Promise[None].create()
    await p


@pytest.mark.parametrize("which", ["clock", "mono_clock"])
def test_sleep_never_wakes_before_the_deadline(which: str) -> None:
    async def main(env: eio.Stdenv) -> tuple[float, float]:
        clock = env.clock if which == "clock" else env.mono_clock
        deadline = clock.now() + 0.01
        await eio.time.sleep_until(clock, deadline)
        return deadline, clock.now()

    deadline, woke = eio_main.run(main, backend=_backend)
    assert woke >= deadline


def test_sleepers_wake_in_deadline_order(trace: Trace) -> None:
    """Equal deadlines wake in the order the sleepers started (A before E)."""

    async def main(env: eio.Stdenv) -> None:
        clock = env.mono_clock
        t0 = clock.now()

        async def sleeper(label: str, delay: float) -> None:
            await eio.time.sleep_until(clock, t0 + delay)
            eio.traceln(f"{label} ({delay:g}) woken")

        await eio.fiber.all(
            [
                lambda: sleeper("A", 0.05),
                lambda: sleeper("B", 0.07),
                lambda: sleeper("C", 0.02),
                lambda: sleeper("D", 0.0),
                lambda: sleeper("E", 0.05),
            ]
        )

    eio_main.run(main, backend=_backend)
    assert trace.lines() == ["D (0) woken", "C (0.02) woken", "A (0.05) woken", "E (0.05) woken", "B (0.07) woken"]


def test_sleepers_on_both_clocks_share_one_timer_order(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def sleeper(label: str, clock: eio.time.Clock, delay: float) -> None:
            await eio.time.sleep(clock, delay)
            eio.traceln(label)

        await eio.fiber.all(
            [
                lambda: sleeper("mono 0.1", env.mono_clock, 0.1),
                lambda: sleeper("wall 0.2", env.clock, 0.2),
                lambda: sleeper("wall 0.01", env.clock, 0.01),
            ]
        )

    eio_main.run(main, backend=_backend)
    assert trace.lines() == ["wall 0.01", "mono 0.1", "wall 0.2"]


def test_cancelling_a_sleep_removes_its_timer(trace: Trace) -> None:
    """Eio's "Cancelling sleep". Afterwards no timer is left: waiting for nothing is a deadlock at once."""

    async def main(env: eio.Stdenv) -> None:
        async def sleep_long() -> None:
            await eio.time.sleep(env.clock, 1200.0)
            eio.traceln("slept 1200 s - shouldn't happen!")

        async def fail() -> None:
            raise SimulatedError("Simulated cancel")

        try:
            await eio.fiber.both(sleep_long, fail)
        except SimulatedError as ex:
            eio.traceln(f"both raised {ex!r}")
        eio.traceln(f"live timers: {live_timers()}")
        await never()

    with pytest.raises(RuntimeError, match=DEADLOCK):
        eio_main.run(main, backend=_backend)
    assert trace.lines() == ["both raised SimulatedError('Simulated cancel')", "live timers: 0"]


def test_sleep_when_the_switch_is_already_off() -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            sw.fail(SimulatedError("Simulated failure"))
            await eio.time.sleep(env.clock, 1200.0)
            raise AssertionError("slept in a cancelled switch")

    with pytest.raises(SimulatedError, match="^Simulated failure$"):
        eio_main.run(main, backend=_backend)


def test_a_timer_already_due_still_lets_others_run(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def first() -> None:
            eio.traceln("First fiber runs")
            await eio.time.sleep(env.clock, -1.0)
            eio.traceln("Sleep done")

        async def second() -> None:
            eio.traceln("Second fiber runs")

        await eio.fiber.both(first, second)

    eio_main.run(main, backend=_backend)
    assert trace.lines() == ["First fiber runs", "Second fiber runs", "Sleep done"]


def test_sleep_until_a_past_time_returns(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        for clock in (env.clock, env.mono_clock):
            await eio.time.sleep_until(clock, clock.now() - 3600.0)
            eio.traceln("woke at once")
            await eio.time.sleep_until(clock, 0.0)
            eio.traceln("woke at once")

    eio_main.run(main, backend=_backend)
    assert trace.lines() == ["woke at once"] * 4


def test_the_short_timer_finishes_first(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def long() -> None:
            await eio.time.sleep(env.clock, 1200.0)
            raise AssertionError("the long timer finished")

        async def short() -> None:
            await eio.time.sleep(env.clock, 0.1)
            eio.traceln("Short timer finished")
            raise SimulatedError("Simulated cancel")

        async with eio.Switch.run():
            await eio.fiber.both(long, short)

    with pytest.raises(SimulatedError, match="^Simulated cancel$"):
        eio_main.run(main, backend=_backend)
    assert trace.lines() == ["Short timer finished"]


def test_timers_fire_while_fibers_keep_yielding() -> None:
    """Eio's "Timer and busy loop": a fiber that is always ready doesn't starve the timers."""

    async def main(env: eio.Stdenv) -> str:
        await eio.fiber.yield_()
        await eio.time.sleep(env.clock, 0.01)

        async def busy() -> str:
            while True:
                await eio.fiber.yield_()

        async def timer() -> str:
            await eio.time.sleep(env.clock, 0.01)
            return "timer"

        return await eio.fiber.first(busy, timer)

    assert eio_main.run(main, backend=_backend) == "timer"


# -- timeouts ----------------------------------------------------------------------------------


def test_with_timeout_raises_timeout_and_cancels_the_work(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def work() -> None:
            eio.traceln("work started")
            try:
                await eio.fiber.await_cancel()
            except eio.Cancelled as ex:
                eio.traceln(f"work got {ex}")
                raise

        try:
            await eio.time.with_timeout(env.mono_clock, 0.0001, work)
        finally:
            eio.traceln(f"live timers: {live_timers()}")

    with pytest.raises(eio.time.Timeout, match=r"^timed out after 0\.0001s$"):
        eio_main.run(main, backend=_backend)
    assert trace.lines() == [
        "work started",
        "work got Cancelled: Timeout('timed out after 0.0001s')",
        "live timers: 0",
    ]


def test_with_timeout_returns_in_time_and_drops_its_timer(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def work() -> int:
            await eio.time.sleep(env.mono_clock, 0.001)
            return 42

        eio.traceln(f"result: {await eio.time.with_timeout(env.mono_clock, 1200.0, work)}")
        eio.traceln(f"live timers: {live_timers()}")
        await never()

    with pytest.raises(RuntimeError, match=DEADLOCK):
        eio_main.run(main, backend=_backend)
    assert trace.lines() == ["result: 42", "live timers: 0"]


def test_a_timeout_is_a_timeout_error() -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.time.with_timeout(env.clock, 0.0, eio.fiber.await_cancel)

    with pytest.raises(TimeoutError, match=r"^timed out after 0s$"):
        eio_main.run(main, backend=_backend)


# -- clock values --------------------------------------------------------------------------


def test_the_wall_clock_reads_the_system_time() -> None:
    async def main(env: eio.Stdenv) -> tuple[float, float, float]:
        before = time.time()
        now = eio.time.now(env.clock)
        return before, now, time.time()

    before, now, after = eio_main.run(main, backend=_backend)
    assert before <= now <= after


def test_the_mono_clock_is_monotonic() -> None:
    async def main(env: eio.Stdenv) -> list[float]:
        readings: list[float] = []
        for _ in range(100):
            readings.append(time.monotonic())
            readings.append(env.mono_clock.now())
            await eio.fiber.yield_()
        await eio.time.sleep(env.mono_clock, 0.001)
        readings.append(env.mono_clock.now())
        return readings

    readings = eio_main.run(main, backend=_backend)
    assert readings == sorted(readings)


def test_timeout_blocks_none_then_a_short_one() -> None:
    # Eio's "Timeouts" case: ``Timeout.run_exn none`` lets its function finish;
    # a timeout of 0.0001s around ``await_cancel`` raises `Timeout`. A timeout
    # here is a block; ``inf`` is Eio's ``none``.
    async def main(env: eio.Stdenv) -> None:
        with eio.time.fail_after(env.mono_clock, float("inf")):
            pass
        with eio.time.fail_after(env.mono_clock, 0.0001):
            await eio.fiber.await_cancel()

    with pytest.raises(eio.time.Timeout, match=r"^timed out after 0\.0001s$"):
        eio_main.run(main, backend=_backend)
