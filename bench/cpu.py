"""CPU-bound pure-Python jobs: one domain, several domains, worker processes, a process pool.

The same job mix (``--jobs`` jobs, each counting the primes below ``--size``
by trial division: pure Python, holding the interpreter lock all along) runs:

- ``eio main domain``: one after another in the main fiber (the baseline);
- ``eio ExecutorPool(domains)``: `eio.ExecutorPool` on ``env.domain_mgr`` with
  ``--workers`` domains (threads): they take turns holding the interpreter lock;
- ``eio ExecutorPool.of_processes``: the same pool API with ``--workers`` worker processes;
- ``eio run_in_executor(ProcessPoolExecutor)``: `eio.run_in_executor` on a
  `concurrent.futures.ProcessPoolExecutor` with ``--workers`` processes;
- ``asyncio run_in_executor(ProcessPoolExecutor)`` and ``asyncio.to_thread``: the peers.

Pools are started and warmed up (one job per worker) before the clock starts:
only the job mix is timed. Wall time is the best of ``--repeat`` runs; the
speed-up is the baseline's time divided by each variant's. On N cores the
process variants can approach N times; threads can't beat 1.

    uv run python bench/cpu.py [--jobs 8] [--size 60000] [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import functools
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.context import SpawnContext
from typing import Any

import eio

import eio_main


def count_primes(below: int) -> int:
    """The number of primes below ``below``, by trial division (deliberately pure Python)."""
    count = 0
    for n in range(2, below):
        d = 2
        while d * d <= n:
            if n % d == 0:
                break
            d += 1
        else:
            count += 1
    return count


async def count_primes_job(below: int) -> int:
    """`count_primes` as an async job for `eio.ExecutorPool`."""
    return count_primes(below)


Timed = tuple[float, list[int]]


def pid_after(seconds: float) -> int:
    """This process's id, after a short sleep (so that concurrent warm-up calls land on different workers)."""
    time.sleep(seconds)
    return os.getpid()


def warm_up(ex: concurrent.futures.ProcessPoolExecutor, workers: int) -> None:
    """Return once all ``workers`` processes of ``ex`` have started and run a job (they start lazily)."""
    seen: set[int] = set()
    while len(seen) < workers:
        seen.update(ex.map(pid_after, [0.05] * workers))


def _spawn() -> SpawnContext:
    return multiprocessing.get_context("spawn")


def eio_main_domain(jobs: int, size: int, workers: int) -> Timed:
    """All jobs one after another in the main fiber."""

    async def main(env: Any) -> Timed:
        t0 = time.perf_counter()
        results = [count_primes(size) for _ in range(jobs)]
        return time.perf_counter() - t0, results

    return eio_main.run(main)


async def _pool_jobs(pool: eio.ExecutorPool, jobs: int, size: int, workers: int) -> Timed:
    job = functools.partial(count_primes_job, size)
    await eio.fiber.map(lambda _: pool.submit(functools.partial(count_primes_job, 10), weight=1.0), range(workers))
    t0 = time.perf_counter()
    results = await eio.fiber.map(lambda _: pool.submit(job, weight=1.0), range(jobs))
    return time.perf_counter() - t0, results


def eio_pool_domains(jobs: int, size: int, workers: int) -> Timed:
    """`eio.ExecutorPool` on ``env.domain_mgr``: worker domains (threads)."""

    async def main(env: Any) -> Timed:
        async with eio.Switch.run() as sw:
            return await _pool_jobs(eio.ExecutorPool(sw, env.domain_mgr, domain_count=workers), jobs, size, workers)

    return eio_main.run(main)


def eio_pool_processes(jobs: int, size: int, workers: int) -> Timed:
    """`eio.ExecutorPool.of_processes`: worker processes, each with its own loop."""

    async def main(env: Any) -> Timed:
        async with eio.Switch.run() as sw:
            return await _pool_jobs(eio.ExecutorPool.of_processes(sw, workers), jobs, size, workers)

    return eio_main.run(main)


def eio_run_in_executor(jobs: int, size: int, workers: int) -> Timed:
    """`eio.run_in_executor` on a `ProcessPoolExecutor`."""
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=_spawn()) as ex:
        warm_up(ex, workers)

        async def main(env: Any) -> Timed:
            t0 = time.perf_counter()
            results = await eio.fiber.map(lambda _: eio.run_in_executor(ex, count_primes, size), range(jobs))
            return time.perf_counter() - t0, results

        return eio_main.run(main)


def asyncio_run_in_executor(jobs: int, size: int, workers: int) -> Timed:
    """asyncio's ``loop.run_in_executor`` on a `ProcessPoolExecutor` (the peer)."""
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=_spawn()) as ex:
        warm_up(ex, workers)

        async def main() -> Timed:
            loop = asyncio.get_running_loop()
            t0 = time.perf_counter()
            results = await asyncio.gather(*(loop.run_in_executor(ex, count_primes, size) for _ in range(jobs)))
            return time.perf_counter() - t0, list(results)

        return asyncio.run(main())


def asyncio_to_thread(jobs: int, size: int, workers: int) -> Timed:
    """``asyncio.to_thread`` (threads: the interpreter lock serialises the jobs)."""

    async def main() -> Timed:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(workers))
        t0 = time.perf_counter()
        results = await asyncio.gather(*(asyncio.to_thread(count_primes, size) for _ in range(jobs)))
        return time.perf_counter() - t0, list(results)

    return asyncio.run(main())


VARIANTS: dict[str, Callable[[int, int, int], Timed]] = {
    "eio main domain": eio_main_domain,
    "eio ExecutorPool(domains)": eio_pool_domains,
    "eio ExecutorPool.of_processes": eio_pool_processes,
    "eio run_in_executor(ProcessPoolExecutor)": eio_run_in_executor,
    "asyncio run_in_executor(ProcessPoolExecutor)": asyncio_run_in_executor,
    "asyncio.to_thread": asyncio_to_thread,
}
BASELINE = "eio main domain"


def bench(names: Sequence[str], jobs: int, size: int, workers: int, repeat: int) -> dict[str, float]:
    """Best wall time per variant; the variants take turns, ``repeat`` times."""
    expected = [count_primes(size)] * jobs
    best: dict[str, float] = {}
    for _ in range(repeat):
        for name in names:
            seconds, results = VARIANTS[name](jobs, size, workers)
            if results != expected:
                raise AssertionError(f"{name} computed {results}, expected {expected}")
            best[name] = min(best.get(name, float("inf")), seconds)
            print(f"  {name}: {seconds:.3f} s", file=sys.stderr, flush=True)
    return best


def format_results(best: dict[str, float], jobs: int, workers: int) -> str:
    """A Markdown table: wall time and speed-up over the main domain."""
    base = best.get(BASELINE)
    lines = [f"| {jobs} CPU-bound jobs, {workers} workers, {os.cpu_count()} CPUs | wall s | speed-up |", "|---|---:|---:|"]
    for name, s in best.items():
        lines.append(f"| {name} | {s:.3f} | {f'{base / s:.2f}x' if base else '-'} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=8, help="jobs in the mix (default 8)")
    parser.add_argument("--size", type=int, default=60_000, help="each job counts the primes below this (default 60000)")
    parser.add_argument("--workers", type=int, default=2, help="domains / processes (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the best counts (default 3)")
    parser.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="variants to run (default: all)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    names: list[str] = list(args.only) if args.only else list(VARIANTS)
    load_before = os.getloadavg()[0]
    best = bench(names, args.jobs, args.size, args.workers, args.repeat)
    print(format_results(best, args.jobs, args.workers))
    # With other work on the machine there may be no free core: then no variant can speed up.
    print(f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"wall_seconds": best, "jobs": args.jobs, "size": args.size, "workers": args.workers}, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
