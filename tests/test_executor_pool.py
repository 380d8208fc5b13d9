"""`eio.ExecutorPool`, after Eio's tests/executor_pool.md.

As in Eio, these use the mock backend's auto-advancing clock and the mock
domain manager, whose "domains" prefix trace lines with their ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import eio
import pytest
from conftest import Trace
from eio_mock.domain_manager import MockDomainManager

import eio_mock

T = TypeVar("T")
R = TypeVar("R")


class Sleep(Protocol):
    def __call__(self, ms: float, weight: float | None = None) -> Awaitable[None]: ...


class Duration(Protocol):
    async def __call__(self, expected: float, f: Callable[[], Awaitable[T]]) -> T: ...


def run(fn: Callable[[MockDomainManager, Sleep, Duration], Awaitable[T]]) -> T:
    """Run ``fn(mgr, sleep, duration)`` in the mock backend with mock domains."""

    async def with_env(env: eio_mock.backend.MockEnv) -> T:
        clock = env.clock

        async def sleep(ms: float, weight: float | None = None) -> None:
            t0 = clock.now()
            w_info = "" if weight is None else f" (weight: {weight:.3f})"
            eio.traceln(f"Sleeping {ms:.0f}{w_info}: {t0:.0f} -> {t0 + ms:.0f}")
            await eio.time.sleep(clock, ms)

        async def duration(expected: float, f: Callable[[], Awaitable[R]]) -> R:
            t0 = clock.now()
            res = await f()
            actual = clock.now() - t0
            if actual != expected:
                raise RuntimeError(f"Duration was not {expected:.0f}: {actual:.0f}")
            eio.traceln(f"Duration (valid): {expected:.0f}")
            return res

        return await eio_mock.domain_manager.run(lambda mgr: fn(mgr, sleep, duration))

    return eio_mock.backend.run_full(with_env)


# -- concurrency -----------------------------------------------------------------------


def sum_jobs(
    domain_count: int, weight: float, expected: float
) -> Callable[[MockDomainManager, Sleep, Duration], Awaitable[int]]:
    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> int:
        total = 0
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool(sw, mgr, domain_count=domain_count)

            async def submit(i: int) -> None:
                async def job() -> None:
                    nonlocal total
                    await sleep(50)
                    total += i

                await pool.submit(job, weight=weight)

            async def all_jobs() -> int:
                await eio.fiber.iter(submit, range(1, 6))
                return total

            return await duration(expected, all_jobs)

    return main


def test_jobs_run_in_parallel_on_domains(trace: Trace) -> None:
    assert run(sum_jobs(domain_count=2, weight=1.0, expected=150)) == 15
    assert trace.lines() == [
        "[1] Sleeping 50: 0 -> 50",
        "[2] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "[2] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[1] Sleeping 50: 100 -> 150",
        "mock time is now 150",
        "[0] Duration (valid): 150",
    ]


def test_jobs_run_in_parallel_on_one_worker(trace: Trace) -> None:
    assert run(sum_jobs(domain_count=1, weight=0.5, expected=150)) == 15
    assert trace.lines() == [
        "[1] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "[1] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[1] Sleeping 50: 100 -> 150",
        "mock time is now 150",
        "[0] Duration (valid): 150",
    ]


def test_jobs_run_in_parallel_on_domains_and_workers(trace: Trace) -> None:
    assert run(sum_jobs(domain_count=2, weight=0.5, expected=100)) == 15
    assert trace.lines() == [
        "[1] Sleeping 50: 0 -> 50",
        "[2] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "[2] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[0] Duration (valid): 100",
    ]


def test_a_worker_can_exceed_a_weight_of_one(trace: Trace) -> None:
    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> None:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool(sw, mgr, domain_count=2)

            async def submit(weight: float) -> None:
                await pool.submit(lambda: sleep(100, weight=weight), weight=weight)

            await eio.fiber.iter(submit, [0.25] * 10 + [1.0] + [0.25] * 7)

    run(main)
    s = "Sleeping 100 (weight: 0.250)"
    assert trace.lines() == [
        *[f"[{d}] {s}: 0 -> 100" for d in (1, 2, 1, 2, 1, 2, 1, 2)],
        "mock time is now 100",
        f"[1] {s}: 100 -> 200",
        f"[2] {s}: 100 -> 200",
        "[1] Sleeping 100 (weight: 1.000): 100 -> 200",
        *[f"[2] {s}: 100 -> 200" for _ in range(3)],
        "mock time is now 200",
        *[f"[{d}] {s}: 200 -> 300" for d in (1, 2, 1, 2)],
        "mock time is now 300",
    ]


# -- weights -----------------------------------------------------------------------------


@pytest.mark.parametrize("weight", [-5.0, 1.1, float("nan")])
def test_weights_must_be_between_0_and_1(weight: float) -> None:
    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> None:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool(sw, mgr, domain_count=2)

            async def nothing() -> None:
                pass

            await pool.submit(nothing, weight=weight)

    with pytest.raises(ValueError) as info:
        run(main)
    assert str(info.value) == f"ExecutorPool: weight {weight:g} not >= 0.0 and <= 1.0"


def test_other_misuse_is_reported() -> None:
    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> None:
        async with eio.Switch.run() as sw:
            with pytest.raises(ValueError, match=r"^ExecutorPool: domain_count must be at least 1 \(got 0\)$"):
                eio.ExecutorPool(sw, mgr, domain_count=0)
            pool = eio.ExecutorPool(sw, mgr, domain_count=1)

            async def nothing() -> None:
                pass

            with pytest.raises(TypeError, match="^ExecutorPool: weight must be a number, not str$"):
                await pool.submit(nothing, weight="1")  # pyright: ignore[reportArgumentType] - testing the run-time check
            with pytest.raises(ValueError, match="^ExecutorPool: weight 2 not >= 0.0 and <= 1.0$"):
                pool.submit_fork(sw, nothing, weight=2)

    run(main)


# -- job errors ----------------------------------------------------------------------------


def test_submit_reports_each_jobs_outcome(trace: Trace) -> None:
    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> tuple[list[str], int]:
        total = 0
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool(sw, mgr, domain_count=1)

            async def submit(i: int) -> str:
                async def job() -> int:
                    nonlocal total
                    await sleep(50)
                    if i % 2 == 0:
                        raise RuntimeError(str(i))
                    x = total
                    total += i
                    return x

                try:
                    return f"Ok {await pool.submit(job, weight=0.25)}"
                except RuntimeError as ex:
                    return f"Error {ex!r}"

            async def all_jobs() -> tuple[list[str], int]:
                results = await eio.fiber.map(submit, range(1, 6))
                return results, total

            return await duration(100, all_jobs)

    assert run(main) == (["Ok 0", "Error RuntimeError('2')", "Ok 1", "Error RuntimeError('4')", "Ok 4"], 9)
    assert trace.lines() == [
        "[1] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[0] Duration (valid): 100",
    ]


def test_a_failed_job_fails_its_submitter(trace: Trace) -> None:
    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> list[int]:
        total = 0
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool(sw, mgr, domain_count=1)

            async def submit(i: int) -> int:
                async def job() -> int:
                    nonlocal total
                    eio.traceln(f"Started {i}")
                    x = total
                    total += i
                    if x == 3:
                        raise RuntimeError(str(i))
                    return x

                return await pool.submit(job, weight=1.0)

            return await eio.fiber.map(submit, range(1, 6))

    with pytest.raises(RuntimeError, match="^3$"):
        run(main)
    assert trace.lines() == ["[1] Started 1", "[1] Started 2", "[1] Started 3"]


# -- blocking for capacity -------------------------------------------------------------------


def test_submit_waits_for_room(trace: Trace) -> None:
    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> None:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool(sw, mgr, domain_count=1)

            async def long_job() -> None:
                await pool.submit(lambda: sleep(50), weight=1.0)

            p1 = eio.fiber.fork_promise(sw, long_job)

            async def nothing() -> None:
                pass

            await duration(50, lambda: pool.submit(nothing, weight=1.0))

            async def await_p1() -> None:
                await p1

            await duration(0, await_p1)

    run(main)
    assert trace.lines() == [
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[0] Duration (valid): 50",
        "[0] Duration (valid): 0",
    ]


def test_submit_fork_does_not_wait_for_room(trace: Trace) -> None:
    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> None:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool(sw, mgr, domain_count=1)

            async def long_job() -> None:
                await pool.submit(lambda: sleep(50), weight=1.0)

            async def fork_long() -> eio.Promise[None]:
                return eio.fiber.fork_promise(sw, long_job)

            p1 = await duration(0, fork_long)
            p2 = await duration(0, fork_long)

            async def nothing() -> None:
                pass

            async def fork_nothing() -> eio.Promise[None]:
                return pool.submit_fork(sw, nothing, weight=1.0)

            p3 = await duration(0, fork_nothing)

            async def await_all() -> None:
                for p in (p1, p2, p3):
                    await p

            await duration(100, await_all)

    run(main)
    assert trace.lines() == [
        "[0] Duration (valid): 0",
        "[0] Duration (valid): 0",
        "[0] Duration (valid): 0",
        "[1] Sleeping 50: 0 -> 50",
        "mock time is now 50",
        "[1] Sleeping 50: 50 -> 100",
        "mock time is now 100",
        "[0] Duration (valid): 100",
    ]


# -- the switch ------------------------------------------------------------------------------


def test_submitting_after_the_switch_finished_fails(trace: Trace) -> None:
    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> None:
        leak: eio.ExecutorPool | None = None
        count = 0

        async def job() -> None:
            nonlocal count
            await sleep(50)
            count += 1

        try:
            async with eio.Switch.run() as sw:
                pool = eio.ExecutorPool(sw, mgr, domain_count=1)
                leak = pool

                async def fork_job() -> eio.Promise[None]:
                    return eio.fiber.fork_promise(sw, lambda: pool.submit(job, weight=1.0))

                p1 = await duration(0, fork_job)
                sw.fail(RuntimeError("Abort mission!"))
                await p1
                await pool.submit(job, weight=1.0)
        except (Exception, eio.Cancelled):
            pass
        assert leak is not None
        await leak.submit(job, weight=1.0)
        eio.traceln(f"Count: {count}")

    with pytest.raises(eio.StreamClosed) as info:
        run(main)
    assert str(info.value) == "Stream closed"
    assert info.value.__notes__ == ["submitting a job to an ExecutorPool whose switch has finished"]
    assert trace.lines() == ["[0] Duration (valid): 0"]


def test_a_cancelled_worker_still_replies(trace: Trace) -> None:
    class Exit(Exception):
        pass

    async def main(mgr: MockDomainManager, sleep: Sleep, duration: Duration) -> None:
        async with eio.Switch.run() as sw:
            p = eio.ExecutorPool(sw, mgr, domain_count=1)

            async def client() -> None:
                with eio.cancel.protect():
                    eio.traceln("Submitting...")

                    async def running() -> None:
                        eio.traceln("Running")

                    await p.submit(running, weight=1.0)
                    raise AssertionError("the job should have been cancelled")

            async def fail() -> None:
                eio.traceln("Simulated error")
                sw.fail(Exit())

            await eio.fiber.both(client, fail)

    with pytest.raises(Exit):
        run(main)
    assert trace.lines() == ["[0] Submitting...", "[0] Simulated error"]
