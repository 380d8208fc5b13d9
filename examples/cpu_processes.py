"""CPU-bound Python code on every core: `eio.ExecutorPool.of_processes`.

Fibers in different domains share CPython's interpreter lock, so pure-Python
computation in domains takes turns instead of running in parallel. An
`eio.ExecutorPool` made with ``of_processes`` has worker processes instead,
each running its own eio loop; jobs are async functions as for domains, with
the same weights (a job of weight 1.0 fills a worker), but they must be
picklable: module-level functions, or `functools.partial` of them.

Run it with ``python examples/cpu_processes.py``. The ``if __name__ ==
"__main__":`` guard is required: each worker process imports this module.
"""

from __future__ import annotations

import functools
import os

import eio

import eio_main


def count_primes(below: int) -> int:
    """The number of primes below ``below`` (pure Python, on purpose)."""
    return sum(1 for n in range(2, below) if all(n % d for d in range(2, int(n**0.5) + 1)))


async def job(below: int) -> tuple[int, int]:
    """A pool job: the count, and the process that computed it."""
    return count_primes(below), os.getpid()


async def main(env: object) -> None:
    """Count primes below 20,000 to 50,000 on two worker processes."""
    async with eio.Switch.run() as sw:
        pool = eio.ExecutorPool.of_processes(sw, 2)
        limits = [20_000, 30_000, 40_000, 50_000]
        results = await eio.fiber.map(lambda n: pool.submit(functools.partial(job, n), weight=1.0), limits)
    for n, (count, _) in zip(limits, results, strict=True):
        print(f"{count} primes below {n}")
    pids = {pid for _, pid in results}
    print(f"computed by {len(pids)} worker processes, none of them this one: {os.getpid() not in pids}")


if __name__ == "__main__":
    eio_main.run(main)
