"""TCP echo on more than one core: `eio_main.serve_processes` with 1 and 2 workers against uvloop streams.

The same load generator as bench/echo.py (bench/echo_client.c: N connections,
each sending a 64-byte message and waiting for its echo before sending the
next) drives, one after another:

- ``eio(uring)``: `eio.net.run_server` in one process (as in echo.py);
- ``eio(uring) 1 worker process`` / ``eio(uring) 2 worker processes``:
  `eio_main.serve_processes` (workers on io_uring, ``SO_REUSEPORT``), the same handler;
- ``uvloop streams``: ``asyncio.start_server`` on uvloop, one process (the peer).

Server CPU time per message counts every server process (the parent and its
workers). The load generator needs CPU too: on a 2-core machine it competes
with two workers, so the throughput gain of a second worker is bounded by that.

    uv run python bench/echo_processes.py [--seconds 5] [--connections 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if not __package__:
    # Run as a script (or imported by a worker process as the main module),
    # sys.path[0] is bench/: the repository root goes there so that `bench` resolves.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.echo import (
    HOST,
    WARMUP_SECONDS,
    Result,
    announce,
    compile_client,
    process_cpu_seconds,
    run_client,
    serve_asyncio_streams,
    serve_eio,
    unavailable,
    uvloop_factory,
)

if TYPE_CHECKING:
    import eio.net


async def echo(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
    """The handler each worker runs (module-level, so it can be sent to worker processes)."""
    import eio

    await eio.flow.copy(flow, flow)


def ignore_error(_ex: Exception) -> None:
    """Clients leave by closing (or resetting) their connections: not an error here."""


def serve_eio_processes(workers: int) -> None:
    """`eio_main.serve_processes` with ``workers`` workers; prints the port, then the workers' pids."""
    import eio
    import eio.net

    import eio_main

    async def main(env: Any) -> None:
        async with eio.Switch.run() as sw:
            server = await eio_main.serve_processes(
                sw, eio.net.Tcp(HOST, 0), echo, workers=workers, backlog=1024, on_error=ignore_error
            )
            announce(server.addr.port)
            print(" ".join(map(str, server.pids)), flush=True)
            await eio.fiber.await_cancel()

    eio_main.run(main)


SERVERS: dict[str, Callable[[], None]] = {
    "eio(uring)": lambda: serve_eio(1),
    "eio(uring) 1 worker process": lambda: serve_eio_processes(1),
    "eio(uring) 2 worker processes": lambda: serve_eio_processes(2),
    "uvloop streams": lambda: serve_asyncio_streams(uvloop_factory()),
}
PEER = "uvloop streams"


class ServerProcess:
    """``echo_processes.py --serve NAME`` as a child process: the port, then (for workers) their pids."""

    def __init__(self, name: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", name], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"server {name!r} did not start (printed {line!r})")
        self.port = int(line)
        self.pids = [self.proc.pid]
        if "worker" in name:
            self.pids += [int(p) for p in self.proc.stdout.readline().split()]

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its workers."""
        return sum(process_cpu_seconds(pid) for pid in self.pids)

    def stop(self) -> None:
        """Kill the server; its workers see their pipe close, stop, and exit. Wait for them all."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() for pid in self.pids[1:]) and time.monotonic() < deadline:
            time.sleep(0.05)


def bench(names: Sequence[str], connections: int, seconds: float, repeat: int) -> tuple[dict[str, Result], dict[str, str]]:
    """Results per server (the servers take turns, ``repeat`` times), and the servers skipped with why."""
    results: dict[str, Result] = {}
    skipped: dict[str, str] = {}
    runnable: list[str] = []
    for name in names:
        reason = unavailable("eio(uring)" if name.startswith("eio") else name)
        if reason is None:
            runnable.append(name)
            results[name] = Result()
        else:
            skipped[name] = reason
    with tempfile.TemporaryDirectory(prefix="eio-echo-bench-") as tmp:
        exe = compile_client(Path(tmp))
        for _ in range(repeat):
            for name in runnable:
                server = ServerProcess(name)
                try:
                    before = server.cpu_seconds()
                    rate, count = run_client(exe, server.port, connections, seconds)
                    used = server.cpu_seconds() - before
                finally:
                    server.stop()
                cpu_us = used / (count * (seconds + WARMUP_SECONDS) / seconds) * 1e6 if count else 0.0
                results[name].add(rate, cpu_us)
                print(f"  {name}: {rate:,.0f} msgs/s, {cpu_us:.1f} us CPU/msg", file=sys.stderr, flush=True)
    return results, skipped


def format_results(results: dict[str, Result], connections: int) -> str:
    """A Markdown table: throughput, server CPU per message, and throughput relative to uvloop streams."""
    peer = results.get(PEER)
    lines = [
        f"| server ({connections} connections, 64 B messages, {os.cpu_count()} CPUs) | msgs/s | server CPU us/msg | throughput / {PEER}'s (above 1: better) |",
        "|---|---:|---:|---:|",
    ]
    for name, r in results.items():
        ratio = f"{r.rate / peer.rate:.2f}x" if peer is not None and peer.rate > 0 else "-"
        lines.append(f"| {name} | {r.rate:,.0f} | {r.cpu_us:.1f} | {ratio} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``--serve``, be one of its servers)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run (default 5)")
    parser.add_argument("--connections", type=int, default=100, help="concurrent connections (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per server; the best counts (default 3)")
    parser.add_argument("--only", nargs="*", choices=sorted(SERVERS), help="servers to run (default: all)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--serve", choices=sorted(SERVERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        SERVERS[args.serve]()
        return 0
    names: list[str] = list(args.only) if args.only else list(SERVERS)
    results, skipped = bench(names, args.connections, args.seconds, args.repeat)
    print(format_results(results, args.connections))
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            doc = {
                "msgs_per_s": {name: r.rate for name, r in results.items()},
                "server_cpu_us_per_msg": {name: r.cpu_us for name, r in results.items()},
                "skipped": skipped,
                "connections": args.connections,
                "seconds": args.seconds,
                "cpus": os.cpu_count(),
            }
            json.dump(doc, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
