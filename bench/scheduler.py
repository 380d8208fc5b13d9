"""Scheduler micro-benchmarks: eio side by side with asyncio, uvloop and trio.

Run ``uv run python bench/scheduler.py [--n 100000] [--repeat 3] [--only NAME] [--json PATH]``.
Three benchmarks, each written once per family (eio, asyncio, trio) in the
idiom of that library:

- ``spawn``: spawn N tasks that do nothing in one switch / TaskGroup / nursery
  and wait for them all (ns per task).
- ``yield``: two tasks yield to each other N times in all (ns per yield).
- ``stream``: a producer sends N ints through a channel of capacity 1 to a
  consumer (ns per item).

Each benchmark function takes a runner and N and returns a `Sample`; it times
only the work inside the running loop, not the loop's creation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from time import perf_counter_ns

if not __package__:
    # Run as a script: make the repository root importable so `bench` resolves.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import eio

from bench._common import (
    Impl,
    Results,
    Runner,
    Sample,
    all_impls,
    eio_trio_runner,
    format_ratios,
    format_table,
    machine_description,
    measure_once,
    write_json,
)

BenchFn = Callable[[Runner, int], Sample]

# -- spawn + join ---------------------------------------------------------------


def eio_spawn(run: Runner, n: int) -> Sample:
    """Fork ``n`` fibers that do nothing in one switch and wait for them."""
    fork = eio.fiber.fork

    async def main() -> Sample:
        count = 0

        async def child() -> None:
            nonlocal count
            count += 1

        t0 = perf_counter_ns()
        async with eio.Switch.run() as sw:
            for _ in range(n):
                fork(sw, child)
        t1 = perf_counter_ns()
        return Sample(t1 - t0, n, count)

    return run(main)


def asyncio_spawn(run: Runner, n: int) -> Sample:
    """Create ``n`` tasks that do nothing in one TaskGroup and wait for them."""

    async def main() -> Sample:
        count = 0

        async def child() -> None:
            nonlocal count
            count += 1

        t0 = perf_counter_ns()
        async with asyncio.TaskGroup() as tg:
            create_task = tg.create_task
            for _ in range(n):
                create_task(child())
        t1 = perf_counter_ns()
        return Sample(t1 - t0, n, count)

    return run(main)


def trio_spawn(run: Runner, n: int) -> Sample:
    """Start ``n`` tasks that do nothing in one nursery and wait for them."""
    import trio

    async def main() -> Sample:
        count = 0

        async def child() -> None:
            nonlocal count
            count += 1

        t0 = perf_counter_ns()
        async with trio.open_nursery() as nursery:
            start_soon = nursery.start_soon
            for _ in range(n):
                start_soon(child)
        t1 = perf_counter_ns()
        return Sample(t1 - t0, n, count)

    return run(main)


# -- yield ping-pong ------------------------------------------------------------


def eio_yield(run: Runner, n: int) -> Sample:
    """Two fibers each call `eio.fiber.yield_` n/2 times, alternating."""
    half = n // 2
    yield_ = eio.fiber.yield_

    async def main() -> Sample:
        count = 0

        async def player() -> None:
            nonlocal count
            for _ in range(half):
                await yield_()
            count += half

        t0 = perf_counter_ns()
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, player)
            eio.fiber.fork(sw, player)
        t1 = perf_counter_ns()
        return Sample(t1 - t0, 2 * half, count)

    return run(main)


def asyncio_yield(run: Runner, n: int) -> Sample:
    """Two tasks each ``await asyncio.sleep(0)`` n/2 times, alternating."""
    half = n // 2
    sleep = asyncio.sleep

    async def main() -> Sample:
        count = 0

        async def player() -> None:
            nonlocal count
            for _ in range(half):
                await sleep(0)
            count += half

        t0 = perf_counter_ns()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(player())
            tg.create_task(player())
        t1 = perf_counter_ns()
        return Sample(t1 - t0, 2 * half, count)

    return run(main)


def trio_yield(run: Runner, n: int) -> Sample:
    """Two tasks each ``await trio.lowlevel.checkpoint()`` n/2 times."""
    import trio

    half = n // 2
    checkpoint = trio.lowlevel.checkpoint

    async def main() -> Sample:
        count = 0

        async def player() -> None:
            nonlocal count
            for _ in range(half):
                await checkpoint()
            count += half

        t0 = perf_counter_ns()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(player)
            nursery.start_soon(player)
        t1 = perf_counter_ns()
        return Sample(t1 - t0, 2 * half, count)

    return run(main)


# -- stream of capacity 1 -------------------------------------------------------


def _check_sum(total: int, n: int) -> None:
    if total != n * (n - 1) // 2:
        raise AssertionError(f"consumer received items summing to {total}, expected {n * (n - 1) // 2}")


def eio_stream(run: Runner, n: int) -> Sample:
    """A producer adds 0..n-1 to an `eio.Stream` of capacity 1; a consumer takes them."""

    async def main() -> Sample:
        stream = eio.Stream[int](1)
        received = 0
        total = 0

        async def producer() -> None:
            add = stream.add
            for i in range(n):
                await add(i)

        async def consumer() -> None:
            nonlocal received, total
            take = stream.take
            t = 0
            for _ in range(n):
                t += await take()
            received = n
            total = t

        t0 = perf_counter_ns()
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, producer)
            eio.fiber.fork(sw, consumer)
        t1 = perf_counter_ns()
        _check_sum(total, n)
        return Sample(t1 - t0, n, received)

    return run(main)


def asyncio_stream(run: Runner, n: int) -> Sample:
    """A producer puts 0..n-1 into an `asyncio.Queue` of maxsize 1; a consumer gets them."""

    async def main() -> Sample:
        queue = asyncio.Queue[int](maxsize=1)
        received = 0
        total = 0

        async def producer() -> None:
            put = queue.put
            for i in range(n):
                await put(i)

        async def consumer() -> None:
            nonlocal received, total
            get = queue.get
            t = 0
            for _ in range(n):
                t += await get()
            received = n
            total = t

        t0 = perf_counter_ns()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(producer())
            tg.create_task(consumer())
        t1 = perf_counter_ns()
        _check_sum(total, n)
        return Sample(t1 - t0, n, received)

    return run(main)


def trio_stream(run: Runner, n: int) -> Sample:
    """A producer sends 0..n-1 over a trio memory channel of buffer size 1; a consumer receives them."""
    import trio

    async def main() -> Sample:
        send_ch, recv_ch = trio.open_memory_channel[int](1)
        received = 0
        total = 0

        async def producer() -> None:
            send = send_ch.send
            for i in range(n):
                await send(i)

        async def consumer() -> None:
            nonlocal received, total
            receive = recv_ch.receive
            t = 0
            for _ in range(n):
                t += await receive()
            received = n
            total = t

        t0 = perf_counter_ns()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(producer)
            nursery.start_soon(consumer)
        t1 = perf_counter_ns()
        _check_sum(total, n)
        return Sample(t1 - t0, n, received)

    return run(main)


# -- driver ---------------------------------------------------------------------

# Benchmark key -> (title in the table, implementation per family).
BENCHMARKS: dict[str, tuple[str, dict[str, BenchFn]]] = {
    "spawn": (
        "spawn + join (ns/task)",
        {"eio": eio_spawn, "asyncio": asyncio_spawn, "trio": trio_spawn},
    ),
    "yield": (
        "yield ping-pong (ns/yield)",
        {"eio": eio_yield, "asyncio": asyncio_yield, "trio": trio_yield},
    ),
    "stream": (
        "stream, capacity 1 (ns/item)",
        {"eio": eio_stream, "asyncio": asyncio_stream, "trio": trio_stream},
    ),
}

EIO_NAMES = ("eio(mock)", "eio(uring)", "eio(trio)")
PEER_NAMES = ("asyncio", "uvloop", "trio")
GOAL = 0.5  # the target: eio at most half of uvloop's cost


def _selected(only: list[str], bench: str, impl: Impl) -> bool:
    if not only:
        return True
    bench_named = any(o in BENCHMARKS for o in only)
    impl_named = any(o not in BENCHMARKS for o in only)
    return (not bench_named or bench in only) and (not impl_named or impl.name in only or impl.family in only)


def run_all(n: int, repeat: int, gc_enabled: bool, only: list[str], log: Callable[[str], None]) -> Results:
    """Run every selected benchmark on every usable implementation, one after another.

    The implementations take turns within each round (rather than each doing
    all its repeats at once), so that a change in the machine's load during
    the run affects them alike; the best round of each is kept.
    """
    results = Results(n=n, repeat=repeat, gc_enabled=gc_enabled)
    impls = all_impls()
    impls.insert(2, eio_trio_runner())  # after eio(mock) and eio(uring)
    for impl in impls:
        if impl.skip_reason is not None:
            results.skipped[impl.name] = impl.skip_reason
    for key, (title, fns) in BENCHMARKS.items():
        chosen = [impl for impl in impls if impl.run is not None and _selected(only, key, impl)]
        best: dict[str, Sample] = {}
        for _ in range(repeat):
            for impl in chosen:
                sample = measure_once(gc_enabled, _bind(fns[impl.family], impl, n))
                if sample.count != sample.ops:
                    raise AssertionError(f"{key} on {impl.name}: counted {sample.count}, expected {sample.ops}")
                if impl.name not in best or sample.elapsed_ns < best[impl.name].elapsed_ns:
                    best[impl.name] = sample
        for name, sample in best.items():
            log(f"  {title:30} {name:11} {sample.ns_per_op:10,.1f} ns/op")
        if best:
            results.ns_per_op[title] = {name: sample.ns_per_op for name, sample in best.items()}
    return results


def _bind(fn: BenchFn, impl: Impl, n: int) -> Callable[[], Sample]:
    run = impl.run
    assert run is not None
    return lambda: fn(run, n)


def goal_report(results: Results) -> str:
    """One line per eio backend and benchmark: the ratio to uvloop and whether it meets the goal."""
    lines: list[str] = []
    for bench, ratios in results.ratios(EIO_NAMES, ("uvloop",)).items():
        for name, ratio in ratios.items():
            verdict = "meets" if ratio <= GOAL else "misses"
            lines.append(f"  {bench:30} {name} = {ratio:.2f}x ({verdict} the <= {GOAL}x goal)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="operations per run (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this benchmark (spawn, yield, stream) or implementation "
        "(eio(mock), eio(uring), eio(trio), eio, asyncio, uvloop, trio); repeatable, comma-separated",
    )
    parser.add_argument("--gc", choices=("on", "off"), default="on", help="garbage collector during runs (default on)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="record every eio run (as eio_main.run(main, trace=...) does): the cost of recording",
    )
    args = parser.parse_args(argv)
    only = [o for arg in args.only for o in str(arg).split(",") if o]
    n = int(args.n)
    repeat = int(args.repeat)
    if n < 2 or repeat < 1:
        parser.error("--n must be at least 2 and --repeat at least 1")

    print(f"{machine_description()}; N = {n:,}, best of {repeat}, gc {args.gc}{', eio runs recorded' if args.trace else ''}")
    with eio.lowlevel.recording(eio.lowlevel.Recorder()) if args.trace else contextlib.nullcontext():
        results = run_all(n, repeat, args.gc == "on", only, lambda line: print(line, flush=True))
    for name, reason in results.skipped.items():
        print(f"skipped {name}: {reason}")
    print()
    print(format_table(results, EIO_NAMES + PEER_NAMES))
    print()
    print(format_ratios(results, EIO_NAMES, PEER_NAMES))
    goal = goal_report(results)
    if goal:
        print()
        print("Goal: eio at most half of uvloop's cost")
        print(goal)
    if args.json:
        write_json(str(args.json), results, EIO_NAMES, PEER_NAMES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
