"""Eio's README, "Domain Manager", "Executor Pool" and "Example: Worker Pool".

The README runs these with real domains, so the order of its first two
outputs is not fixed: with real threads (`eio_mock.domain_manager.threads`)
we check the same lines in any order; with mock domains (which run in the
calling fiber) the order is fixed and checked exactly. The worker pool's
README output is the one the mock domains give.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import eio
import pytest
from conftest import Runner, Trace

import eio_mock

README_SUMS = [
    "Starting CPU-intensive task...",
    "Starting CPU-intensive task...",
    "Finished",
    "sum 1..50000 = 1250025000",
    "Finished",
    "sum 1..100000 = 5000050000",
]

DomainManagers = Callable[[], eio.DomainManager]
MANAGERS: list[tuple[str, DomainManagers]] = [
    ("mock", eio_mock.domain_manager.create),
    ("threads", eio_mock.domain_manager.threads),
]


def sum_to(n: int) -> int:
    eio.traceln("Starting CPU-intensive task...")
    total = 0
    for i in range(1, n + 1):
        total += i
    eio.traceln("Finished")
    return total


def sum_job(n: int) -> Callable[[], Awaitable[int]]:
    async def job() -> int:
        return sum_to(n)

    return job


def check_sums(kind: str, lines: list[str]) -> None:
    if kind == "mock":
        # Each mock domain runs to completion in its caller's fiber, in turn.
        assert lines == [
            "Starting CPU-intensive task...",
            "Finished",
            "sum 1..100000 = 5000050000",
            "Starting CPU-intensive task...",
            "Finished",
            "sum 1..50000 = 1250025000",
        ]
    else:
        assert sorted(lines) == sorted(README_SUMS)


@pytest.mark.parametrize(("kind", "make_dm"), MANAGERS, ids=[k for k, _ in MANAGERS])
def test_domain_manager(run: Runner, trace: Trace, kind: str, make_dm: DomainManagers) -> None:
    async def main(domain_mgr: eio.DomainManager) -> None:
        async def test(n: int) -> None:
            eio.traceln(f"sum 1..{n} = {await eio.domain_manager.run(domain_mgr, sum_job(n))}")

        await eio.fiber.both(lambda: test(100000), lambda: test(50000))

    run(lambda: main(make_dm()))
    check_sums(kind, trace.lines())


@pytest.mark.parametrize(("kind", "make_dm"), MANAGERS, ids=[k for k, _ in MANAGERS])
def test_executor_pool(run: Runner, trace: Trace, kind: str, make_dm: DomainManagers) -> None:
    async def main(pool: eio.ExecutorPool) -> None:
        async def test(n: int) -> None:
            eio.traceln(f"sum 1..{n} = {await pool.submit(sum_job(n), weight=1.0)}")

        await eio.fiber.both(lambda: test(100000), lambda: test(50000))

    async def start() -> None:
        async with eio.Switch.run() as sw:
            await main(eio.ExecutorPool(sw, make_dm(), domain_count=2))

    run(start)
    lines = trace.lines()
    if kind == "mock":
        # Both jobs start (and, never suspending, finish) before either client resumes.
        assert lines == [
            "Starting CPU-intensive task...",
            "Finished",
            "Starting CPU-intensive task...",
            "Finished",
            "sum 1..100000 = 5000050000",
            "sum 1..50000 = 1250025000",
        ]
    else:
        assert sorted(lines) == sorted(README_SUMS)


# -- Example: Worker Pool ----------------------------------------------------------------------

Request = tuple[int, eio.Resolver[str]]


async def handle_job(request: int) -> str:
    await eio.fiber.yield_()  # (simulated work)
    return f"Processed:{request}"


async def run_worker(worker_id: str, stream: eio.Stream[Request]) -> None:
    while True:
        request, reply = await stream.take()
        eio.traceln(f"Worker {worker_id} processing request {request}")
        reply.resolve(await handle_job(request))


async def submit(stream: eio.Stream[Request], request: int) -> str:
    reply, resolve_reply = eio.Promise[str].create()
    await stream.add((request, resolve_reply))
    return await reply


def worker_pool(
    domain_mgr: eio.DomainManager,
    worker: Callable[[str, eio.Stream[Request]], Awaitable[None]] = run_worker,
    requests: int = 3,
) -> Callable[[], Awaitable[None]]:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            stream = eio.Stream[Request](0)

            def spawn_worker(name: str) -> None:
                async def in_domain() -> None:
                    eio.traceln(f"Worker {name} ready")
                    await worker(name, stream)

                eio.fiber.fork_daemon(sw, eio.domain_manager.run, domain_mgr, in_domain)

            spawn_worker("A")
            spawn_worker("B")
            async with eio.Switch.run() as clients:
                for i in range(1, requests + 1):

                    async def client(i: int) -> None:
                        eio.traceln(f"Client {i} submitting job...")
                        try:
                            eio.traceln(f"Client {i} got {await submit(stream, i)}")
                        except ValueError as ex:
                            eio.traceln(f"Client {i} failed: {ex}")

                    eio.fiber.fork(clients, client, i)
                    await eio.fiber.yield_()

    return main


def test_worker_pool(run: Runner, trace: Trace) -> None:
    run(worker_pool(eio_mock.domain_manager.create()))
    assert trace.lines() == [
        "Worker A ready",
        "Worker B ready",
        "Client 1 submitting job...",
        "Worker A processing request 1",
        "Client 2 submitting job...",
        "Worker B processing request 2",
        "Client 3 submitting job...",
        "Client 1 got Processed:1",
        "Worker A processing request 3",
        "Client 2 got Processed:2",
        "Client 3 got Processed:3",
    ]


def test_worker_pool_in_real_threads(run: Runner, trace: Trace) -> None:
    run(worker_pool(eio_mock.domain_manager.threads()))
    lines = trace.lines()
    # The workers run in other threads: their "ready" lines can come at any
    # point before their first request (the README calls this output non-deterministic).
    for worker in ("A", "B"):
        ready = lines.index(f"Worker {worker} ready")
        first_job = [n for n, line in enumerate(lines) if line.startswith(f"Worker {worker} processing")]
        assert not first_job or ready < first_job[0]
    for i in range(1, 4):
        # Each client submits, a worker processes its request, and then it gets the reply.
        submitted = lines.index(f"Client {i} submitting job...")
        processed = [n for n, line in enumerate(lines) if line.endswith(f"processing request {i}")]
        got = lines.index(f"Client {i} got Processed:{i}")
        assert len(processed) == 1 and submitted < processed[0] < got
    assert len(lines) == 11


def test_worker_pool_sending_errors_back(run: Runner, trace: Trace) -> None:
    """The README's second worker: a failed job's error goes to its client, and the worker goes on."""

    async def failing_job(request: int) -> str:
        await eio.fiber.yield_()
        if request == 2:
            raise ValueError(f"can't process {request}")
        return f"Processed:{request}"

    async def careful_worker(worker_id: str, stream: eio.Stream[Request]) -> None:
        while True:
            request, reply = await stream.take()
            eio.traceln(f"Worker {worker_id} processing request {request}")
            try:
                result = await failing_job(request)
            except Exception as ex:
                reply.resolve_error(ex)
                eio.fiber.check()
            else:
                reply.resolve(result)

    run(worker_pool(eio_mock.domain_manager.create(), careful_worker, requests=4))
    assert trace.lines() == [
        "Worker A ready",
        "Worker B ready",
        "Client 1 submitting job...",
        "Worker A processing request 1",
        "Client 2 submitting job...",
        "Worker B processing request 2",
        "Client 3 submitting job...",
        "Client 1 got Processed:1",
        "Worker A processing request 3",
        "Client 4 submitting job...",
        "Client 2 failed: can't process 2",
        "Worker B processing request 4",
        "Client 3 got Processed:3",
        "Client 4 got Processed:4",
    ]
