"""Line parsing: `eio.BufRead.line` side by side with asyncio's `StreamReader.readline`.

Run ``uv run python bench/bufread.py [--n 1000000] [--repeat 3] [--json PATH]``.
The same input, N lines of about 40 bytes, arrives in 64 KiB chunks:

- eio: a source whose ``single_read`` gives the next chunk (as much of it as
  fits), read by ``BufRead.of_flow(src, initial_size=65536, max_size=...)``;
- asyncio: a producer task ``feed_data``s one chunk at a time into a
  `asyncio.StreamReader` and yields, so data arrives as the reader needs it.

Two ways of reading each: a loop of single calls (``await r.line()`` /
``await reader.readline()``) and async iteration (``r.lines()`` /
``async for line in reader``). Only the reading is timed, in the same process.
"""

from __future__ import annotations

import argparse
import asyncio
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
    format_ratios,
    format_table,
    machine_description,
    measure_once,
    write_json,
)

CHUNK = 65536

BenchFn = Callable[[Runner, list[bytes], int], Sample]


def make_input(n: int) -> list[bytes]:
    """``n`` lines of 30 to 50 bytes (40 on average), cut into 64 KiB chunks."""
    data = b"".join(b"%08d %s\n" % (i, b"x" * (20 + i % 21)) for i in range(n))
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


class ChunkSource:
    """An in-memory source giving one chunk per read (or what fits of it), like a socket."""

    __slots__ = ("_chunks", "_i", "_off")

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks
        self._i = 0
        self._off = 0

    async def single_read(self, buf: memoryview, /) -> int:
        if self._i == len(self._chunks):
            raise eio.EndOfFile
        chunk = self._chunks[self._i]
        off = self._off
        n = min(len(buf), len(chunk) - off)
        buf[:n] = memoryview(chunk)[off : off + n]
        if off + n == len(chunk):
            self._i += 1
            self._off = 0
        else:
            self._off = off + n
        return n


def _reader(chunks: list[bytes]) -> eio.BufRead:
    return eio.BufRead.of_flow(ChunkSource(chunks), initial_size=CHUNK, max_size=1 << 20)


def eio_line(run: Runner, chunks: list[bytes], n: int) -> Sample:
    """``await r.line()`` until `eio.EndOfFile`."""

    async def main() -> Sample:
        r = _reader(chunks)
        line = r.line
        count = 0
        t0 = perf_counter_ns()
        try:
            while True:
                await line()
                count += 1
        except eio.EndOfFile:
            pass
        t1 = perf_counter_ns()
        return Sample(t1 - t0, n, count)

    return run(main)


def eio_lines(run: Runner, chunks: list[bytes], n: int) -> Sample:
    """``async for line in r.lines()``."""

    async def main() -> Sample:
        r = _reader(chunks)
        count = 0
        t0 = perf_counter_ns()
        async for _ in r.lines():
            count += 1
        t1 = perf_counter_ns()
        return Sample(t1 - t0, n, count)

    return run(main)


async def _feed(reader: asyncio.StreamReader, chunks: list[bytes]) -> None:
    sleep = asyncio.sleep
    for chunk in chunks:
        reader.feed_data(chunk)
        await sleep(0)
    reader.feed_eof()


def asyncio_readline(run: Runner, chunks: list[bytes], n: int) -> Sample:
    """``await reader.readline()`` until it returns ``b""``, while a task feeds the chunks."""

    async def main() -> Sample:
        reader = asyncio.StreamReader(limit=1 << 20)
        readline = reader.readline
        count = 0
        t0 = perf_counter_ns()
        feeder = asyncio.create_task(_feed(reader, chunks))
        while await readline():
            count += 1
        await feeder
        t1 = perf_counter_ns()
        return Sample(t1 - t0, n, count)

    return run(main)


def asyncio_iter(run: Runner, chunks: list[bytes], n: int) -> Sample:
    """``async for line in reader``, while a task feeds the chunks."""

    async def main() -> Sample:
        reader = asyncio.StreamReader(limit=1 << 20)
        count = 0
        t0 = perf_counter_ns()
        feeder = asyncio.create_task(_feed(reader, chunks))
        async for _ in reader:
            count += 1
        await feeder
        t1 = perf_counter_ns()
        return Sample(t1 - t0, n, count)

    return run(main)


BENCHMARKS: dict[str, tuple[str, dict[str, BenchFn]]] = {
    "line": ("line() / readline() (ns/line)", {"eio": eio_line, "asyncio": asyncio_readline}),
    "iter": ("lines() / async for (ns/line)", {"eio": eio_lines, "asyncio": asyncio_iter}),
}

EIO_NAMES = ("eio(mock)", "eio(uring)")
PEER_NAMES = ("asyncio", "uvloop")


def run_all(n: int, repeat: int, gc_enabled: bool, log: Callable[[str], None]) -> Results:
    """Every benchmark on every usable eio and asyncio implementation, taking turns; best of ``repeat``."""
    chunks = make_input(n)
    results = Results(n=n, repeat=repeat, gc_enabled=gc_enabled)
    impls: list[Impl] = []
    for impl in all_impls():
        if impl.family not in ("eio", "asyncio"):
            continue
        if impl.skip_reason is not None:
            results.skipped[impl.name] = impl.skip_reason
        else:
            impls.append(impl)
    for title, fns in BENCHMARKS.values():
        best: dict[str, Sample] = {}
        for _ in range(repeat):
            for impl in impls:
                sample = measure_once(gc_enabled, _bind(fns[impl.family], impl, chunks, n))
                if sample.count != n:
                    raise AssertionError(f"{title} on {impl.name}: read {sample.count} lines, expected {n}")
                if impl.name not in best or sample.elapsed_ns < best[impl.name].elapsed_ns:
                    best[impl.name] = sample
        for name, sample in best.items():
            log(f"  {title:32} {name:11} {sample.ns_per_op:8,.1f} ns/line")
        results.ns_per_op[title] = {name: s.ns_per_op for name, s in best.items()}
    return results


def _bind(fn: BenchFn, impl: Impl, chunks: list[bytes], n: int) -> Callable[[], Sample]:
    run = impl.run
    assert run is not None
    return lambda: fn(run, chunks, n)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="lines per run (default 1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    parser.add_argument("--gc", choices=("on", "off"), default="on", help="garbage collector during runs (default on)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    n = int(args.n)
    repeat = int(args.repeat)
    if n < 1 or repeat < 1:
        parser.error("--n and --repeat must be at least 1")

    print(f"{machine_description()}; N = {n:,} lines in {CHUNK // 1024} KiB chunks, best of {repeat}, gc {args.gc}")
    results = run_all(n, repeat, args.gc == "on", lambda line: print(line, flush=True))
    for name, reason in results.skipped.items():
        print(f"skipped {name}: {reason}")
    print()
    print(format_table(results, [*EIO_NAMES, *PEER_NAMES]))
    print()
    print(format_ratios(results, EIO_NAMES, PEER_NAMES))
    if args.json:
        write_json(str(args.json), results, EIO_NAMES, PEER_NAMES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
