"""A pool of worker domains that run submitted jobs (Eio's ``Executor_pool``).

Each worker is a fiber in its own domain. It takes jobs from one shared
stream of capacity 0, so a submitter waits until some worker accepts its
job, and runs each job in a new fiber of its domain. A worker keeps
accepting jobs while the total weight of its running jobs is below 1.

`ExecutorPool.of_processes` makes the workers OS processes instead (see
``_process_workers``): the same queue and the same weights, but each job
runs in a child process's own loop, so CPU-bound Python code really runs in
parallel (domains share one interpreter lock).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from ..domain_manager import DomainManager
from ..domain_manager import run as run_in_domain
from ..fiber import fork, fork_daemon, fork_promise
from ._cancel import Cancelled
from ._fiber import Fiber
from ._promise import Promise, Resolver
from ._stream import Stream, StreamClosed
from ._switch import Switch
from ._traps import coroutine_of, suspend, yield_

__all__ = ["ExecutorPool"]

T = TypeVar("T")

# Weights are counted in millionths, so that sums are exact.
_MAX_CAPACITY = 1_000_000


class _Job(Generic[T]):
    __slots__ = ("fn", "resolver", "weight")

    def __init__(self, fn: Callable[[], Awaitable[T]], resolver: Resolver[T], weight: int) -> None:
        self.fn = fn
        self.resolver = resolver
        self.weight = weight


class _Capacity:
    """The weight of one worker's running jobs; only that worker waits on it (one domain)."""

    __slots__ = ("used", "waiter")

    def __init__(self) -> None:
        self.used = 0
        self.waiter: Fiber | None = None

    async def wait_for_room(self) -> None:
        def register(fiber: Fiber) -> None:
            def cancel(error: Cancelled) -> None:
                self.waiter = None
                fiber.wake_error(error)

            self.waiter = fiber
            fiber.cancel_fn = cancel

        await suspend(register)

    def release(self, weight: int) -> None:
        self.used -= weight
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter.wake(None)


def _check_weight(weight: float) -> int:
    if not isinstance(weight, (int, float)) or isinstance(weight, bool):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
        raise TypeError(f"ExecutorPool: weight must be a number, not {type(weight).__name__}")
    if not 0.0 <= weight <= 1.0:  # also rejects NaN
        raise ValueError(f"ExecutorPool: weight {weight:g} not >= 0.0 and <= 1.0")
    return math.floor(weight * _MAX_CAPACITY)


class ExecutorPool:
    """Runs jobs on ``domain_count`` worker domains made by ``domain_mgr``.

    The workers start at once, as daemon fibers of ``sw``: they do not keep
    ``sw`` open, and when it finishes they and their running jobs are
    cancelled and further submissions fail. Usually one pool serves a whole
    program. A job's ``weight`` is the share of a CPU core it is expected
    to use (0.02 for a job that mostly waits for IO, 1.0 for one that only
    computes); a worker starts jobs until the weights of its running jobs
    add up to 1.0.

    Python code in different domains does not run in parallel (one
    interpreter lock): domains help with IO and with C code that releases
    the lock. For CPU-bound Python jobs, use `ExecutorPool.of_processes`.
    """

    __slots__ = ("_queue",)

    def __init__(self, sw: Switch, domain_mgr: DomainManager, domain_count: int = 4) -> None:
        if domain_count < 1:
            raise ValueError(f"ExecutorPool: domain_count must be at least 1 (got {domain_count})")
        queue: Stream[_Job[Any]] = Stream(0)
        self._queue = queue
        sw.on_release(queue.close)
        for _ in range(domain_count):
            fork_daemon(sw, run_in_domain, domain_mgr, self._run_worker)

    @classmethod
    def of_processes(cls, sw: Switch, process_count: int | None = None) -> ExecutorPool:
        """A pool whose workers are ``process_count`` OS processes (default: one per CPU core).

        Use it for CPU-bound Python code: fibers in different domains share
        one interpreter lock, so only one of them runs Python code at a time,
        while worker processes compute in parallel. Each worker is a fresh
        interpreter (started with the ``spawn`` method) running an eio loop
        on the same backend as the caller, and runs each job it accepts in a
        new fiber there. ``submit``, ``submit_fork`` and weights mean the same
        as for domains: a worker process accepts jobs while the weights of
        its running jobs add up to less than 1.0.

        A job (the async function and anything it refers to) must be
        picklable: a module-level ``async def`` or a `functools.partial` of
        one; submitting another gives a `TypeError` naming it. Its result
        and its error come back pickled (copies, not the same objects).
        When ``sw`` finishes, the workers' running jobs are cancelled and
        the processes exit (they ignore SIGINT: stopping the pool stops
        them). A worker process that dies fails its jobs and ``sw`` with
        ``WorkerProcessDied``.
        """
        import os

        from ._process_workers import run_process_worker

        count = (os.cpu_count() or 1) if process_count is None else process_count
        if count < 1:
            raise ValueError(f"ExecutorPool.of_processes: process_count must be at least 1 (got {count})")
        pool = cls.__new__(cls)
        queue: Stream[_Job[Any]] = Stream(0)
        pool._queue = queue
        sw.on_release(queue.close)
        for _ in range(count):
            fork_daemon(sw, run_process_worker, queue, _MAX_CAPACITY)
        return pool

    def __repr__(self) -> str:
        return f"<ExecutorPool{' (closed)' if self._queue.is_closed() else ''}>"

    async def _run_worker(self) -> None:
        queue = self._queue
        capacity = _Capacity()
        async with Switch.run(name="run_worker") as sw:
            while True:
                while capacity.used >= _MAX_CAPACITY:
                    await capacity.wait_for_room()
                try:
                    job = await queue.take()
                except StreamClosed:
                    return
                capacity.used += job.weight
                error = sw.get_error()
                if error is not None:
                    job.resolver.resolve_error(error)  # the fork below won't run the job
                fork(sw, _run_job, capacity, job)
                # Let workers in other domains queue up for the next job
                # before this one asks again.
                await yield_()

    async def _enqueue(self, fn: Callable[[], Awaitable[T]], weight: int) -> Promise[T]:
        p: Promise[T] = Promise()
        r = Resolver(p)
        try:
            await self._queue.add(_Job(fn, r, weight))
        except StreamClosed as ex:
            ex.add_note("submitting a job to an ExecutorPool whose switch has finished")
            raise
        return p

    async def submit(self, fn: Callable[[], Awaitable[T]], weight: float = 1.0) -> T:
        """Run ``await fn()`` on one of the pool's workers and return its result (or raise its error).

        Waits until a worker has room for the job; jobs are accepted in the
        order they were submitted. ``weight`` must be between 0.0 and 1.0.
        """
        p = await self._enqueue(fn, _check_weight(weight))
        return await p

    def submit_fork(self, sw: Switch, fn: Callable[[], Awaitable[T]], weight: float = 1.0) -> Promise[T]:
        """Like `submit`, but return at once: the promise gets the result or the error.

        The waiting for a worker happens in a new fiber of ``sw``.
        """
        w = _check_weight(weight)

        async def submit() -> T:
            p = await self._enqueue(fn, w)
            return await p

        return fork_promise(sw, submit)


async def _run_job(capacity: _Capacity, job: _Job[Any]) -> None:
    # Every outcome, even cancellation, goes to the submitter.
    try:
        result = await coroutine_of(job.fn, (), "ExecutorPool.submit")
    except GeneratorExit:
        raise  # the loop is tearing this fiber down: nothing can be reported
    except BaseException as ex:  # noqa: BLE001 - reported to the submitter
        job.resolver.resolve_error(ex)
    else:
        job.resolver.resolve(result)
    capacity.release(job.weight)
