"""`eio.ExecutorPool.of_processes`: the pool's workers are OS processes, each with its own loop."""

from __future__ import annotations

import functools
import os
import signal
import sys
import types
from multiprocessing import resource_tracker

import eio
import pytest
from conftest import Runner


async def getpid() -> int:
    return os.getpid()


async def add(a: int, b: int) -> int:
    return a + b


async def fail() -> None:
    raise ValueError("failed in a worker process")


async def unpicklable_result() -> object:
    return lambda: None


async def forever() -> None:
    await eio.fiber.await_cancel()


async def die() -> None:
    os._exit(3)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) - 1  # minus listdir's own


def test_a_job_of_weight_1_fills_a_worker(run: Runner) -> None:
    # Spawning starts multiprocessing's resource tracker once per process (and keeps its pipe): not a leak.
    resource_tracker.ensure_running()

    async def main() -> tuple[list[int], int]:
        before = open_fds()
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool.of_processes(sw, 2)
            # Both workers wait for a job; the first job fills its worker, so the second goes to the other.
            pids = await eio.fiber.map(lambda _: pool.submit(getpid, weight=1.0), range(2))
        return pids, open_fds() - before

    pids, fd_change = run(main)
    assert fd_change == 0
    assert len(set(pids)) == 2
    assert os.getpid() not in pids
    assert all(gone(pid) for pid in pids)  # stopping the pool ended (and reaped) its processes


def test_results_and_errors_come_back(run: Runner) -> None:
    async def main() -> list[int]:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool.of_processes(sw, 1)
            sums = await eio.fiber.map(lambda i: pool.submit(functools.partial(add, i, 10), weight=0.25), range(5))
            with pytest.raises(ValueError, match="^failed in a worker process$"):
                await pool.submit(fail)
            return sums

    assert run(main) == [10, 11, 12, 13, 14]


def test_a_job_must_be_picklable(run: Runner) -> None:
    async def main() -> int:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool.of_processes(sw, 1)

            async def local() -> int:
                return 1

            with pytest.raises(
                TypeError, match=r"ExecutorPool: a job run in a worker process must be picklable .* but <function .*local"
            ):
                await pool.submit(local)
            return await pool.submit(getpid)  # the worker is still there

    assert run(main) != os.getpid()


def test_a_result_that_cannot_be_pickled(run: Runner) -> None:
    async def main() -> int:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool.of_processes(sw, 1)
            with pytest.raises(TypeError, match=r"ExecutorPool: the job's result can't be pickled: <function"):
                await pool.submit(unpicklable_result)
            return await pool.submit(getpid)  # the worker is still there

    assert run(main) != os.getpid()


def test_a_job_the_worker_cannot_import(run: Runner) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool.of_processes(sw, 1)
            # Picklable here (by reference), but no worker can import a module of this name.
            job = types.FunctionType(getpid.__code__, {}, "getpid")
            job.__module__ = "no_such_module_for_eio_tests"
            job.__qualname__ = "getpid"
            module = types.ModuleType("no_such_module_for_eio_tests")
            setattr(module, "getpid", job)  # noqa: B010 - a module built at run time
            sys.modules["no_such_module_for_eio_tests"] = module
            try:
                with pytest.raises(
                    TypeError, match=r"ExecutorPool: the worker process could not load the job \(No module named"
                ):
                    await pool.submit(job)
            finally:
                del sys.modules["no_such_module_for_eio_tests"]

    run(main)


def test_stopping_the_pool_cancels_running_jobs_and_ends_the_processes(run: Runner) -> None:
    async def main() -> int:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool.of_processes(sw, 1)

            async def run_forever() -> int:
                await pool.submit(forever, weight=0.5)
                return 0

            async def pid() -> int:
                return await pool.submit(getpid, weight=0.5)

            # The worker runs both jobs at once; when `pid` returns, the
            # submitter of `forever` is cancelled, but its job goes on.
            return await eio.fiber.first(run_forever, pid)
        # The switch's end cancelled the worker: the child cancelled `forever` and exited.

    assert gone(run(main))


def test_a_worker_process_that_dies_fails_its_jobs_and_the_switch(run: Runner) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool.of_processes(sw, 1)
            await pool.submit(die)

    with pytest.raises(RuntimeError, match=r"ExecutorPool: worker process \d+ exited with code 3 with 1 job running"):
        run(main)


def test_bad_process_count() -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            with pytest.raises(ValueError, match=r"process_count must be at least 1 \(got 0\)"):
                eio.ExecutorPool.of_processes(sw, 0)

    import eio_mock

    eio_mock.backend.run(main)


def test_a_worker_process_killed_while_idle_fails_the_switch(run: Runner) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            pool = eio.ExecutorPool.of_processes(sw, 1)
            pid = await pool.submit(getpid)
            os.kill(pid, signal.SIGKILL)
            await eio.fiber.await_cancel()

    with pytest.raises(RuntimeError, match=r"ExecutorPool: worker process \d+ exited with code -9 while idle"):
        run(main)
