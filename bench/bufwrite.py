"""Buffered writing: `eio.BufWrite` side by side with asyncio's `StreamWriter.write` + ``drain``.

Run ``uv run python bench/bufwrite.py [--n 1000000] [--repeat 3] [--json PATH]``.
N small writes (10 to 30 bytes) go into an in-memory sink that counts the
bytes and calls it gets, in the same process:

- eio: ``async with BufWrite.with_flow(sink) as w`` and ``w.bytes(b)`` per
  write; the sink is an object whose ``single_write`` counts and accepts
  everything;
- asyncio: ``writer.write(b)`` on a `asyncio.StreamWriter` whose transport
  accepts everything, copying it into its buffer as asyncio's socket
  transports do when the socket is busy (but with no system call at all).

Two workloads:

- ``response``: an HTTP-like response of 10 writes (status line, headers,
  body), then the writing task suspends once, as a server does while it
  waits for the next request (eio: ``yield_``, which also lets the writer
  fiber send the response in one ``single_write``; asyncio: ``await
  writer.drain()`` then ``await asyncio.sleep(0)``);
- ``bulk``: N writes with no suspension in between, then one flush / drain.

Times are ns per write; only the writing is timed, not the loop's creation.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from functools import partial
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

RESPONSE: list[bytes] = [
    b"HTTP/1.1 200 OK\r\n",
    b"Content-Type: text/plain\r\n",
    b"Content-Length: 13\r\n",
    b"Server: bench\r\n",
    b"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n",
    b"Cache-Control: no-cache\r\n",
    b"Connection: keep-alive\r\n",
    b"X-Request-Id: 0123456789\r\n",
    b"\r\n",
    b"Hello, world!",
]
WRITES_PER_RESPONSE = len(RESPONSE)
RESPONSE_BYTES = sum(len(b) for b in RESPONSE)

BenchFn = Callable[[Runner, int], Sample]


def _bulk_pieces(n: int) -> list[bytes]:
    """The ``n`` writes of the bulk workload: the response's pieces, round and round."""
    return [RESPONSE[i % WRITES_PER_RESPONSE] for i in range(n)]


def expected_bytes(bench: str, n: int) -> int:
    """How many bytes ``bench`` writes for ``n`` (``response`` rounds ``n`` down to whole responses)."""
    if bench == "response":
        return (n // WRITES_PER_RESPONSE) * RESPONSE_BYTES
    return sum(len(b) for b in _bulk_pieces(n))


# -- eio ------------------------------------------------------------------------------------


class CountingSink:
    """An in-memory sink that accepts everything and counts bytes and calls."""

    __slots__ = ("nbytes", "calls")

    def __init__(self) -> None:
        self.nbytes = 0
        self.calls = 0

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        n = 0
        for b in bufs:
            n += len(b)
        self.nbytes += n
        self.calls += 1
        return n


def eio_response(run: Runner, n: int) -> Sample:
    """``n // 10`` responses of 10 ``w.bytes`` calls each, with a yield after each response."""
    responses = n // WRITES_PER_RESPONSE

    async def main() -> Sample:
        sink = CountingSink()
        yield_ = eio.fiber.yield_
        t0 = perf_counter_ns()
        async with eio.BufWrite.with_flow(sink) as w:
            write = w.bytes
            for _ in range(responses):
                for piece in RESPONSE:
                    write(piece)
                await yield_()
        t1 = perf_counter_ns()
        assert sink.calls == responses, f"eio: {sink.calls} single_write calls for {responses} responses"
        return Sample(t1 - t0, responses * WRITES_PER_RESPONSE, sink.nbytes)

    return run(main)


def eio_bulk(run: Runner, n: int) -> Sample:
    """``n`` ``w.bytes`` calls, then the end of ``with_flow`` sends what is left."""
    pieces = _bulk_pieces(n)

    async def main() -> Sample:
        sink = CountingSink()
        t0 = perf_counter_ns()
        async with eio.BufWrite.with_flow(sink) as w:
            write = w.bytes
            for piece in pieces:
                write(piece)
        t1 = perf_counter_ns()
        return Sample(t1 - t0, n, sink.nbytes)

    return run(main)


# -- asyncio ---------------------------------------------------------------------------------


class CountingTransport(asyncio.WriteTransport):
    """An in-memory transport that accepts everything, copying it into its buffer and counting calls.

    It copies as asyncio's socket transports do whenever the socket can't
    take the data at once; it never makes a system call.
    """

    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()
        self.calls = 0
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.buffer += data
        self.calls += 1

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True


def _stream_writer() -> tuple[asyncio.StreamWriter, CountingTransport]:
    loop = asyncio.get_running_loop()
    transport = CountingTransport()
    reader = asyncio.StreamReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    protocol.connection_made(transport)
    return asyncio.StreamWriter(transport, protocol, reader, loop), transport


def asyncio_response(run: Runner, n: int) -> Sample:
    """``n // 10`` responses of 10 ``writer.write`` calls, then ``drain`` and ``sleep(0)``."""
    responses = n // WRITES_PER_RESPONSE

    async def main() -> Sample:
        writer, transport = _stream_writer()
        write = writer.write
        drain = writer.drain
        sleep = asyncio.sleep
        t0 = perf_counter_ns()
        for _ in range(responses):
            for piece in RESPONSE:
                write(piece)
            await drain()
            await sleep(0)
        t1 = perf_counter_ns()
        writer.close()
        return Sample(t1 - t0, responses * WRITES_PER_RESPONSE, len(transport.buffer))

    return run(main)


def asyncio_bulk(run: Runner, n: int) -> Sample:
    """``n`` ``writer.write`` calls, then one ``drain``."""
    pieces = _bulk_pieces(n)

    async def main() -> Sample:
        writer, transport = _stream_writer()
        write = writer.write
        t0 = perf_counter_ns()
        for piece in pieces:
            write(piece)
        await writer.drain()
        t1 = perf_counter_ns()
        writer.close()
        return Sample(t1 - t0, n, len(transport.buffer))

    return run(main)


BENCHMARKS: dict[str, tuple[str, dict[str, BenchFn]]] = {
    "response": (
        "response: 10 writes + 1 suspension (ns/write)",
        {"eio": eio_response, "asyncio": asyncio_response},
    ),
    "bulk": ("bulk small writes (ns/write)", {"eio": eio_bulk, "asyncio": asyncio_bulk}),
}

EIO_NAMES = ("eio(mock)", "eio(uring)")
PEER_NAMES = ("asyncio", "uvloop")


def run_all(n: int, repeat: int, gc_enabled: bool, log: Callable[[str], None], only: str | None = None) -> Results:
    """Every benchmark on every usable eio and asyncio implementation, taking turns; best of ``repeat``."""
    results = Results(n=n, repeat=repeat, gc_enabled=gc_enabled)
    impls: list[Impl] = []
    for impl in all_impls():
        if impl.family not in ("eio", "asyncio") or (only is not None and impl.name != only):
            continue
        if impl.skip_reason is not None:
            results.skipped[impl.name] = impl.skip_reason
        else:
            impls.append(impl)
    for bench, (title, fns) in BENCHMARKS.items():
        want = expected_bytes(bench, n)
        best: dict[str, Sample] = {}
        for _ in range(repeat):
            for impl in impls:
                run = impl.run
                assert run is not None
                fn = fns[impl.family]
                sample = measure_once(gc_enabled, partial(fn, run, n))
                if sample.count != want:
                    raise AssertionError(f"{title} on {impl.name}: wrote {sample.count} bytes, expected {want}")
                if impl.name not in best or sample.elapsed_ns < best[impl.name].elapsed_ns:
                    best[impl.name] = sample
        for name, sample in best.items():
            log(f"  {title:46} {name:11} {sample.ns_per_op:8,.1f} ns/write")
        results.ns_per_op[title] = {name: s.ns_per_op for name, s in best.items()}
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="writes per run (default 1000000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    parser.add_argument("--gc", choices=("on", "off"), default="on", help="garbage collector during runs (default on)")
    parser.add_argument("--only", metavar="NAME", help="run only this implementation, e.g. 'eio(mock)'")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    n = int(args.n)
    repeat = int(args.repeat)
    if n < WRITES_PER_RESPONSE or repeat < 1:
        parser.error(f"--n must be at least {WRITES_PER_RESPONSE} and --repeat at least 1")

    print(f"{machine_description()}; N = {n:,} writes, best of {repeat}, gc {args.gc}")
    results = run_all(n, repeat, args.gc == "on", lambda line: print(line, flush=True), args.only)
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
