"""Eio's README "Domain Manager" and "Executor Pool": CPU-bound work in other domains.

A domain is an OS thread with its own event loop. ``env.domain_mgr`` starts
one per call; an `eio.ExecutorPool` keeps a few and hands them jobs. Either
way the calling fiber waits while the other fibers of its domain keep running.
The order of the trace lines varies from run to run: the OS schedules the
domains as it likes. The tasks here are pure Python, so the domains take turns
holding CPython's interpreter lock rather than computing in parallel; for that,
use worker processes (``eio.ExecutorPool.of_processes``, see
``examples/cpu_processes.py``).

Run it with ``python examples/domains.py``.
"""

from __future__ import annotations

import eio

import eio_main


def sum_to(n: int) -> int:
    """A CPU-intensive task."""
    eio.traceln("Starting CPU-intensive task...")
    total = 0
    for i in range(1, n + 1):
        total += i
    eio.traceln("Finished")
    return total


async def with_domain_manager(domain_mgr: eio.DomainManager) -> None:
    """Run two tasks, each in a new domain."""

    async def test(n: int) -> None:
        async def job() -> int:
            return sum_to(n)

        eio.traceln(f"sum 1..{n} = {await eio.domain_manager.run(domain_mgr, job)}")

    await eio.fiber.both(lambda: test(100000), lambda: test(50000))


async def with_executor_pool(pool: eio.ExecutorPool) -> None:
    """Run two tasks on the pool's domains."""

    async def test(n: int) -> None:
        async def job() -> int:
            return sum_to(n)

        eio.traceln(f"sum 1..{n} = {await pool.submit(job, weight=1.0)}")

    await eio.fiber.both(lambda: test(100000), lambda: test(50000))


async def main(env: eio.Stdenv) -> None:
    """Both README examples, one after the other."""
    eio.traceln("Domain Manager:")
    await with_domain_manager(env.domain_mgr)
    eio.traceln("Executor Pool:")
    async with eio.Switch.run() as sw:
        await with_executor_pool(eio.ExecutorPool(sw, env.domain_mgr, domain_count=2))


if __name__ == "__main__":
    eio_main.run(main)
