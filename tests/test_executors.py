"""`eio.run_in_executor` and `eio.await_future`: concurrent.futures work awaited from fibers."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import eio
import pytest
from conftest import ENV_BACKENDS, Runner


def square(x: int) -> int:
    return x * x


def fail(message: str) -> int:
    raise ValueError(message)


def pid() -> int:
    return os.getpid()


@pytest.fixture(scope="module")
def processes() -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        yield ex


def test_thread_pool_result_and_other_fibers_run(run: Runner) -> None:
    log: list[str] = []

    async def main() -> list[int]:
        release = threading.Event()

        def job(x: int) -> int:
            release.wait()
            log.append(f"job {x}")
            return x * 10

        with concurrent.futures.ThreadPoolExecutor(1) as ex:

            async def waiter() -> list[int]:
                return [await eio.run_in_executor(ex, job, 4)]

            async def other() -> list[int]:
                # Runs while the first fiber waits: the domain is not blocked.
                log.append("other fiber ran")
                release.set()
                return await eio.fiber.await_cancel()

            return await eio.fiber.first(waiter, other)

    assert run(main) == [40]
    assert log == ["other fiber ran", "job 4"]


def test_thread_pool_error_is_the_same_object(run: Runner) -> None:
    raised: list[BaseException] = []

    def job() -> None:
        ex = KeyError("k")
        raised.append(ex)
        raise ex

    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            await eio.run_in_executor(ex, job)

    with pytest.raises(KeyError) as info:
        run(main)
    assert info.value is raised[0]


def test_process_pool(run: Runner, processes: concurrent.futures.ProcessPoolExecutor) -> None:
    async def main() -> tuple[list[int], set[int]]:
        squares = await eio.fiber.map(lambda x: eio.run_in_executor(processes, square, x), range(6))
        pids = {await eio.run_in_executor(processes, pid) for _ in range(2)}
        return squares, pids

    squares, pids = run(main)
    assert squares == [0, 1, 4, 9, 16, 25]
    assert os.getpid() not in pids


def test_process_pool_error_type_and_message(run: Runner, processes: concurrent.futures.ProcessPoolExecutor) -> None:
    async def main() -> int:
        return await eio.run_in_executor(processes, fail, "bad input 7")

    with pytest.raises(ValueError, match="^bad input 7$"):
        run(main)


def test_process_pool_unpicklable_job(run: Runner, processes: concurrent.futures.ProcessPoolExecutor) -> None:
    async def main() -> int:
        return await eio.run_in_executor(processes, lambda: 1)

    with pytest.raises(Exception, match="pickle"):
        run(main)


def test_cancel_before_start_cancels_the_future(run: Runner) -> None:
    futures: list[concurrent.futures.Future[int]] = []
    log: list[str] = []

    async def main() -> None:
        release = threading.Event()
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            busy = ex.submit(release.wait)  # the only worker is busy: the next job queues
            queued = ex.submit(square, 3)
            futures.append(queued)

            async def waiter() -> None:
                try:
                    await eio.await_future(queued)
                except eio.Cancelled:
                    log.append("waiter cancelled")
                    raise

            with pytest.raises(RuntimeError, match="stop"):
                async with eio.Switch.run() as sw:
                    eio.fiber.fork(sw, waiter)
                    sw.fail(RuntimeError("stop"))
            log.append(f"queued job cancelled: {queued.cancelled()}")
            release.set()
            await eio.await_future(busy)

    run(main)
    assert log == ["waiter cancelled", "queued job cancelled: True"]
    assert futures[0].cancelled()


def test_cancel_after_start_waits_and_discards(run: Runner) -> None:
    log: list[str] = []

    async def main() -> None:
        release = threading.Event()
        started, started_r = eio.Promise[None].create()

        def job() -> int:
            started_r.resolve(None)
            release.wait()
            log.append("job returns 42")
            return 42

        with concurrent.futures.ThreadPoolExecutor(1) as ex:

            async def waiter() -> int:
                try:
                    return await eio.run_in_executor(ex, job)
                except eio.Cancelled:
                    log.append("waiter cancelled")
                    raise

            async def canceller() -> int:
                await started
                log.append("cancelling")
                return 0

            async def releaser() -> None:
                await started
                await eio.fiber.yield_()  # after `first` has cancelled the waiter
                log.append("releasing the job")
                release.set()

            async with eio.Switch.run() as sw:
                eio.fiber.fork(sw, releaser)
                assert await eio.fiber.first(waiter, canceller) == 0

    run(main)
    assert log == ["cancelling", "releasing the job", "job returns 42", "waiter cancelled"]


def test_already_cancelled_submits_nothing(run: Runner) -> None:
    submitted: list[str] = []

    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            async with eio.Switch.run() as sw:

                async def waiter() -> None:
                    await eio.run_in_executor(ex, submitted.append, "ran")

                sw.fail(RuntimeError("stop"))
                eio.fiber.fork(sw, waiter)

    with pytest.raises(RuntimeError, match="stop"):
        run(main)
    assert submitted == []


def test_already_done_future_does_not_suspend(run: Runner) -> None:
    log: list[str] = []

    async def main() -> None:
        f: concurrent.futures.Future[int] = concurrent.futures.Future()
        f.set_result(7)
        async with eio.Switch.run() as sw:

            async def other() -> None:
                log.append("other")

            async def first() -> None:
                # `other` is queued behind us: it runs only if we suspend.
                log.append(f"got {await eio.await_future(f)}")

            eio.fiber.fork(sw, first)
            eio.fiber.fork(sw, other)
        err: concurrent.futures.Future[int] = concurrent.futures.Future()
        err.set_exception(ValueError("done badly"))
        with pytest.raises(ValueError, match="done badly"):
            await eio.await_future(err)

    run(main)
    assert log == ["got 7", "other"]


def test_no_deadlock_while_a_daemon_thread_will_complete_the_future(run: Runner) -> None:
    # No non-daemon thread is alive and nothing else is pending: only the
    # wait's count in pending_external tells the loop that a wake-up will come.
    async def main() -> tuple[str, list[int]]:
        loop = eio.lowlevel.current_loop()
        counts = [loop.pending_external]
        f: concurrent.futures.Future[str] = concurrent.futures.Future()
        go = threading.Event()

        def complete() -> None:
            go.wait()
            time.sleep(0.1)  # let the loop go idle first (the test passes either way)
            f.set_result("woken")

        threading.Thread(target=complete, daemon=True).start()
        async with eio.Switch.run() as sw:
            p = eio.fiber.fork_promise(sw, eio.await_future, f)
            counts.append(loop.pending_external)
            go.set()
            result = await p
        counts.append(loop.pending_external)
        return result, counts

    assert run(main) == ("woken", [0, 1, 0])


def test_bad_arguments(run: Runner) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor, not int"):
            await eio.run_in_executor(3, square, 1)  # type: ignore[arg-type]  # the error is the test
        with concurrent.futures.ThreadPoolExecutor(1) as ex, pytest.raises(TypeError, match="fn must be callable, not str"):
            await eio.run_in_executor(ex, "nope")  # pyright: ignore[reportArgumentType] - the error is the test
        with pytest.raises(TypeError, match="future must be a concurrent.futures.Future, not str"):
            await eio.await_future("x")  # pyright: ignore[reportArgumentType] - the error is the test

    run(main)


_DASK_PROGRAM = """
import sys

import distributed
import eio
import eio_main


def square(x: int) -> int:
    return x * x


def fail(message: str) -> int:
    raise ValueError(message)


async def main(env: eio.Stdenv) -> None:
    values = await eio.fiber.map(lambda x: eio.run_in_executor(executor, square, x), range(5))
    try:
        await eio.run_in_executor(executor, fail, "from dask")
    except ValueError as ex:
        print(env.backend_id, values, "error:", ex)


client = distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None)
try:
    executor = client.get_executor()
    for backend in sys.argv[1:]:
        eio_main.run(main, backend=backend)
finally:
    client.close()
"""


def test_dask_distributed() -> None:
    """A dask.distributed executor from fibers, on every backend (in a child: dask leaves daemon threads behind)."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    backends = sorted(ENV_BACKENDS)
    result = subprocess.run(
        [sys.executable, "-c", _DASK_PROGRAM, *backends], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0 and "Client" in result.stderr and "eio" not in result.stderr:
        pytest.skip(f"a local dask cluster can't start here: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{b} [0, 1, 4, 9, 16] error: from dask" for b in backends]
