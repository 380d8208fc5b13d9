"""Cancellation is atomic: an operation that completed is never reported as cancelled.

A timeout (or any cancellation) that arrives in the same scheduler pass as an
operation's completion must lose to it: the item taken, the bytes read, the
item delivered by an ``add`` are returned to the caller, and a `Timeout`
means the operation had no effect. These tests build that race
deterministically on the mock clock, then hammer it on every backend.
"""

from __future__ import annotations

import math
import threading

import eio
import pytest
from conftest import Runner, Trace

import eio_mock


def test_take_that_completes_with_the_deadline_keeps_its_item(trace: Trace) -> None:
    """The producer and the timer wake at the same mock time; the item is returned, not lost."""

    async def main(env: eio_mock.backend.MockEnv) -> None:
        s = eio.Stream[str](0)

        async def producer() -> None:
            await eio.time.sleep(env.clock, 5)
            await s.add("item")
            eio.traceln("producer delivered")

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, producer)
            try:
                got = await eio.time.with_timeout(env.clock, 5, s.take)
                eio.traceln(f"took {got}")
            except eio.time.Timeout:
                eio.traceln("timed out")

    eio_mock.backend.run_full(main)
    assert trace.lines() == ["mock time is now 5", "producer delivered", "took item"]


def test_add_that_completes_with_the_deadline_is_not_reported_as_a_timeout(trace: Trace) -> None:
    """A producer that retries after Timeout would otherwise deliver the item twice."""

    async def main(env: eio_mock.backend.MockEnv) -> None:
        s = eio.Stream[str](0)
        received: list[str] = []

        async def consumer() -> None:
            await eio.time.sleep(env.clock, 5)
            received.append(await s.take())

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, consumer)
            for _attempt in range(2):
                try:
                    await eio.time.with_timeout(env.clock, 5, lambda: s.add("item"))
                    eio.traceln("added")
                    break
                except eio.time.Timeout:
                    eio.traceln("timed out: retrying")
        eio.traceln(f"received {received}")

    eio_mock.backend.run_full(main)
    assert trace.lines() == ["mock time is now 5", "added", "received ['item']"]


def test_a_timeout_means_the_operation_had_no_effect(trace: Trace) -> None:
    """A take that timed out took nothing: the next item goes to the next taker."""

    async def main(env: eio_mock.backend.MockEnv) -> None:
        s = eio.Stream[str](1)
        try:
            await eio.time.with_timeout(env.clock, 1, s.take)
        except eio.time.Timeout as ex:
            eio.traceln(f"{ex!r}")
        await s.add("x")
        eio.traceln(f"then took {await s.take()}, {len(s)} left")

    eio_mock.backend.run_full(main)
    assert trace.lines() == ["mock time is now 1", "Timeout('timed out after 1s')", "then took x, 0 left"]


def test_work_done_after_the_deadline_passed_is_kept(trace: Trace) -> None:
    """The block finishes in the pass where the timer fires: its value wins and nothing is cancelled."""

    async def main(env: eio_mock.backend.MockEnv) -> None:
        p, r = eio.Promise[str].create()

        async def resolver() -> None:
            await eio.time.sleep(env.clock, 3)
            r.resolve("value")

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, resolver)
            with eio.time.move_on_after(env.clock, 3) as scope:
                eio.traceln(f"got {await p}")
            eio.traceln(f"cancelled_caught={scope.cancelled_caught}")

    eio_mock.backend.run_full(main)
    assert trace.lines() == ["mock time is now 3", "got value", "cancelled_caught=False"]


def test_move_on_after_stops_the_block_quietly(trace: Trace) -> None:
    async def main(env: eio_mock.backend.MockEnv) -> None:
        with eio.time.move_on_after(env.clock, 2) as scope:
            eio.traceln("waiting")
            await eio.time.sleep(env.clock, 10)
            eio.traceln("not reached")
        eio.traceln(f"moved on at {env.clock.now():g}, cancelled_caught={scope.cancelled_caught}")

    eio_mock.backend.run_full(main)
    assert trace.lines() == ["waiting", "mock time is now 2", "moved on at 2, cancelled_caught=True"]


def test_fail_after_raises_timeout(trace: Trace) -> None:
    async def main(env: eio_mock.backend.MockEnv) -> None:
        try:
            with eio.time.fail_after(env.clock, 2):
                await eio.time.sleep(env.clock, 10)
        except eio.time.Timeout as ex:
            eio.traceln(f"{ex!r}, context suppressed: {ex.__suppress_context__}")

    eio_mock.backend.run_full(main)
    assert trace.lines() == ["mock time is now 2", "Timeout('timed out after 2s'), context suppressed: True"]


def test_an_outer_cancellation_is_not_mistaken_for_the_deadline(trace: Trace) -> None:
    async def main(env: eio_mock.backend.MockEnv) -> None:
        async def inner() -> None:
            with eio.time.move_on_after(env.clock, 100) as scope:
                try:
                    await eio.fiber.await_cancel()
                finally:
                    eio.traceln(f"cancelled_caught={scope.cancelled_caught}")

        async def failer() -> None:
            await eio.time.sleep(env.clock, 1)
            raise ValueError("boom")

        try:
            await eio.fiber.both(inner, failer)
        except ValueError as ex:
            eio.traceln(f"both raised {ex!r}")

    eio_mock.backend.run_full(main)
    assert trace.lines() == ["mock time is now 1", "cancelled_caught=False", "both raised ValueError('boom')"]


def test_nested_deadlines_each_catch_their_own(trace: Trace) -> None:
    async def main(env: eio_mock.backend.MockEnv) -> None:
        with eio.time.move_on_after(env.clock, 5) as outer:
            with eio.time.move_on_after(env.clock, 1) as inner:
                await eio.time.sleep(env.clock, 10)
            eio.traceln(f"inner caught={inner.cancelled_caught}")
            await eio.time.sleep(env.clock, 10)
        eio.traceln(f"outer caught={outer.cancelled_caught} at {env.clock.now():g}")

    eio_mock.backend.run_full(main)
    assert trace.lines() == [
        "mock time is now 1",
        "inner caught=True",
        "mock time is now 5",
        "outer caught=True at 5",
    ]


# -- durations ------------------------------------------------------------------------------


def test_nan_durations_are_refused(run: Runner) -> None:
    async def main() -> list[str]:
        clock = eio.time.MonoClock()
        errors: list[str] = []
        for call in (
            lambda: eio.time.sleep(clock, math.nan),
            lambda: eio.time.sleep_until(clock, math.nan),
            lambda: eio.time.with_timeout(clock, math.nan, eio.fiber.yield_),
        ):
            try:
                await call()
            except ValueError as ex:
                errors.append(str(ex))
        return errors

    assert run(main) == [
        "eio.time.sleep: the duration is NaN",
        "eio.time.sleep_until: the deadline is NaN",
        "eio.time.with_timeout: the duration is NaN",
    ]


def test_durations_must_be_numbers(run: Runner) -> None:
    async def main() -> str:
        try:
            await eio.time.sleep(eio.time.MonoClock(), "1")  # type: ignore[arg-type]  # the mistake under test
        except TypeError as ex:
            return str(ex)
        return "no error"

    assert run(main) == "eio.time.sleep: the duration must be a number of seconds, got str '1'"


def test_infinite_sleep_lasts_until_cancelled(run: Runner) -> None:
    async def main() -> str:
        clock = eio.time.MonoClock()
        with eio.time.move_on_after(clock, 0.01) as scope:
            await eio.time.sleep(clock, math.inf)
        return f"cancelled_caught={scope.cancelled_caught}"

    assert run(main) == "cancelled_caught=True"


def test_infinite_and_huge_timeouts_are_long_waits_not_crashes(run: Runner) -> None:
    async def main() -> list[str]:
        clock = eio.time.MonoClock()

        async def quick() -> str:
            await eio.fiber.yield_()
            return "done"

        out = [await eio.time.with_timeout(clock, math.inf, quick), await eio.time.with_timeout(clock, 1e300, quick)]
        with eio.time.move_on_after(clock, 0.01):
            await eio.time.sleep(clock, 1e300)
        out.append("huge sleep cancelled")
        return out

    assert run(main) == ["done", "done", "huge sleep cancelled"]


def test_negative_durations_mean_now(run: Runner) -> None:
    async def main() -> str:
        clock = eio.time.MonoClock()
        await eio.time.sleep(clock, -5)
        try:
            await eio.time.with_timeout(clock, -1, eio.fiber.await_cancel)
        except eio.time.Timeout as ex:
            return repr(ex)
        return "no timeout"

    assert run(main) == "Timeout('timed out after -1s')"


def test_cancelled_timers_do_not_pile_up(run: Runner) -> None:
    async def main() -> int:
        clock = eio.time.MonoClock()

        async def quick() -> None:
            pass

        for _ in range(20_000):
            await eio.time.with_timeout(clock, 3600, quick)
        return len(eio.lowlevel.current_loop().timers)

    assert run(main) <= 200


# -- deadlock ----------------------------------------------------------------------------------


def test_a_promise_resolved_by_a_daemon_thread_is_no_deadlock(run: Runner) -> None:
    async def main() -> str:
        p, r = eio.Promise[str].create()
        t = threading.Thread(target=lambda: (threading.Event().wait(0.05), r.resolve("from the thread")), daemon=True)
        t.start()
        return await p

    assert run(main) == "from the thread"


def test_a_deadlock_says_what_each_fiber_waits_on(run: Runner) -> None:
    async def main() -> None:
        p, _r = eio.Promise[None].create()
        s = eio.Stream[int](0)

        async def taker() -> None:
            await s.take()

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, taker)
            await p

    with pytest.raises(eio.Deadlock) as info:
        run(main)
    lines = str(info.value).splitlines()
    assert lines[0] == "Deadlock detected: no events scheduled but main function hasn't returned"
    assert len(lines) == 3
    assert lines[1].startswith("  main fiber is waiting in Promise.__await__ at ")
    assert lines[1].endswith("test_cancel_atomic.py:284 (test_a_deadlock_says_what_each_fiber_waits_on.<locals>.main)")
    assert lines[2].startswith(
        "  fiber test_a_deadlock_says_what_each_fiber_waits_on.<locals>.main.<locals>.taker is waiting in "
    )
    assert "Stream.take" in lines[2] and ":280 " in lines[2]
    assert issubclass(eio_mock.DeadlockDetected, eio.Deadlock)


def test_an_idle_daemon_thread_delays_a_deadlock_report_only_briefly(run: Runner) -> None:
    stop = threading.Event()
    idle = threading.Thread(target=stop.wait, name="idle-library-worker", daemon=True)
    idle.start()

    async def main() -> None:
        p, _r = eio.Promise[None].create()
        await p

    try:
        with pytest.raises(eio.Deadlock) as info:
            run(main)
    finally:
        stop.set()
        idle.join()
    assert "only daemon threads were left: idle-library-worker" in str(info.value)
