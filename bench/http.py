"""HTTP/1.1 keep-alive "Hello, world!" benchmark: eio (io_uring, windows, hosted on trio, in asyncio) against uvloop, asyncio and trio.

Each server runs in its own process and answers every request on a
connection with the same small response; `wrk` drives it (100 connections,
one thread by default) and reports requests per second; the server's CPU
time per request is read from ``/proc``. Servers take turns, ``--repeat``
times; the best throughput and the least CPU time per request count.
Without ``wrk`` installed the benchmark says so and exits 1 (``apt-get
install -y wrk`` on Debian and Ubuntu).

    uv run python bench/http.py [--seconds 5] [--connections 100] [--repeat 3] [--only NAME ...]

Servers (``--only`` takes these names), each reading a request's head up to
the blank line and writing the response:

- ``eio(uring)``: `eio.net.run_server`; a ``BufRead`` per connection, each
  request head read up to its blank line by a parser on ``peek``/``ensure``/
  ``consume`` (the peers' ``readuntil`` work), one ``eio.flow.write`` per response;
- ``eio(uring) pure``: the same on the pure-Python ring (``EIO_PURE_PYTHON=1``: the
  compiled accelerator unused; the other ``eio(uring)`` servers use it when it was built);
- ``eio(uring) lines``: the same, the head read with ``BufRead.line`` (request
  line, then headers up to the blank line: more work than the peers do);
- ``eio(windows)``: the ``eio(uring)`` server on the windows backend (`eio_backend_windows`:
  a selector loop, here epoll), its sockets from the shared Unix layer;
- ``eio(trio)``: the ``eio(uring)`` server hosted on trio (`eio_backend_trio`), its sockets
  from the shared Unix layer;
- ``eio(asyncio+uvloop)`` / ``eio(asyncio)``: the ``eio(uring)`` server's handler on
  the asyncio backend (`eio_backend_asyncio.run`), hosted in uvloop / asyncio's own loop;
- ``uvloop streams`` / ``asyncio streams``: ``asyncio.start_server``,
  ``readuntil(b"\\r\\n\\r\\n")``, ``write`` and ``drain``;
- ``trio``: ``trio.serve_tcp``, ``receive_some`` into a buffer, ``send_all``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

if not __package__:
    # Run as a script, sys.path[0] is bench/, where this file would shadow the
    # standard library's `http` package. The repository root goes there instead
    # (so that `bench` resolves).
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.echo import (
    HOST,
    RATIO_HEADER,
    Result,
    announce,
    check_ring_path,
    format_results,
    load_average,
    per_op_us,
    process_cpu_times,
    ratio_row,
    serve_asyncio,
    server_environment,
    unavailable,
    uvloop_factory,
)

if TYPE_CHECKING:
    import eio

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!"


# -- servers (each runs in its own process: `http.py --serve NAME`) ----------------------------


async def _request_head(r: eio.BufRead) -> bytes:
    """A request's head, up to and including its blank line: what ``readuntil(b"\\r\\n\\r\\n")`` does.

    A parser on `eio.BufRead`'s low-level API (``peek``/``ensure``/``consume``),
    as the peers' servers search their buffer for the same 4 bytes.
    """
    scanned = 0
    while True:
        head = bytes(r.peek())
        end = head.find(b"\r\n\r\n", scanned)
        if end >= 0:
            r.consume(end + 4)
            return head[: end + 4]
        scanned = max(0, len(head) - 3)
        await r.ensure(len(head) + 1)


async def _request_lines(r: eio.BufRead) -> None:
    """A request's head read line by line (``BufRead.line``), as a parser of headers would."""
    await r.line()  # the request line
    while await r.line():  # headers, up to the blank line
        pass


def _eio_handler(
    read_head: Callable[[eio.BufRead], Awaitable[object]],
) -> Callable[[eio.net.StreamSocket, eio.net.StreamAddr], Awaitable[None]]:
    """The eio servers' connection handler: a BufRead for the requests, one `eio.flow.write` per response."""
    import eio

    response = [RESPONSE]

    async def handle(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
        r = eio.BufRead.of_flow(flow, max_size=65536)
        while not await r.at_end_of_input():
            await read_head(r)
            await eio.flow.write(flow, response)

    return handle


def serve_eio(read_head: Callable[[eio.BufRead], Awaitable[object]], backend: str = "uring") -> None:
    """eio on io_uring (or the windows backend, or hosted on trio): a BufRead for the requests, one `eio.flow.write` per response."""
    import eio
    import eio.net

    handle = _eio_handler(read_head)

    async def main() -> None:
        async with eio.Switch.run() as sw:
            sock = await eio.net.listen(sw, network(), eio.net.Tcp(HOST, 0), backlog=1024, reuse_addr=True)
            addr = eio.net.listening_addr(sock)
            assert isinstance(addr, eio.net.Tcp)
            announce(addr.port)
            # wrk closes its connections at the end, possibly mid-request: not an error here.
            await eio.net.run_server(sock, handle, on_error=lambda ex: None)

    if backend == "trio":
        import eio.unix

        from eio_backend_trio import run_plain as trio_run_plain

        network: Callable[[], eio.net.Network] = eio.unix.UnixNetwork
        trio_run_plain(main)
    elif backend == "windows":
        import eio.unix

        from eio_backend_windows import run_plain as windows_run_plain

        network = eio.unix.UnixNetwork
        windows_run_plain(main)
    else:
        from eio_backend_uring._net import UringNetwork
        from eio_backend_uring._run import run_plain

        network = UringNetwork
        run_plain(main)


def serve_eio_asyncio(loop_factory: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
    """eio hosted in asyncio (on a loop from ``loop_factory``), with the same handler as ``eio(uring)``."""
    import eio
    import eio.net

    import eio_backend_asyncio

    handle = _eio_handler(_request_head)

    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            sock = await eio.net.listen(sw, env.net, eio.net.Tcp(HOST, 0), backlog=1024, reuse_addr=True)
            addr = eio.net.listening_addr(sock)
            assert isinstance(addr, eio.net.Tcp)
            announce(addr.port)
            await eio.net.run_server(sock, handle, on_error=lambda ex: None)

    eio_backend_asyncio.run(main, loop_factory=loop_factory)


def serve_asyncio_streams(loop_factory: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
    """asyncio.start_server: readuntil, write, drain."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                writer.write(RESPONSE)
                await writer.drain()
        finally:
            writer.close()

    serve_asyncio(handle, loop_factory)


def serve_trio() -> None:
    """trio.serve_tcp: receive_some into a buffer, send_all."""
    import trio

    async def handle(stream: trio.SocketStream) -> None:
        buf = bytearray()
        try:
            while True:
                end = buf.find(b"\r\n\r\n")
                while end < 0:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    buf += data
                    end = buf.find(b"\r\n\r\n")
                del buf[: end + 4]
                await stream.send_all(RESPONSE)
        except trio.BrokenResourceError:
            pass

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host=HOST, backlog=1024))
            announce(listeners[0].socket.getsockname()[1])

    trio.run(main)


_EIO = "eio(uring)"
_EIO_LINES = "eio(uring) lines"
_EIO_PURE = "eio(uring) pure"
_PEERS = ("uvloop streams", "asyncio streams", "trio")

SERVERS: dict[str, Callable[[], None]] = {
    _EIO: lambda: serve_eio(_request_head),
    _EIO_PURE: lambda: serve_eio(_request_head),
    _EIO_LINES: lambda: serve_eio(_request_lines),
    "eio(windows)": lambda: serve_eio(_request_head, "windows"),
    "eio(trio)": lambda: serve_eio(_request_head, "trio"),
    "eio(asyncio+uvloop)": lambda: serve_eio_asyncio(uvloop_factory()),
    "eio(asyncio)": lambda: serve_eio_asyncio(None),
    "uvloop streams": lambda: serve_asyncio_streams(uvloop_factory()),
    "asyncio streams": lambda: serve_asyncio_streams(None),
    "trio": serve_trio,
}


# -- the load -----------------------------------------------------------------------------------


class ServerProcess:
    """``http.py --serve NAME`` as a child process; its first stdout line is the port."""

    def __init__(self, name: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", name],
            stdout=subprocess.PIPE,
            text=True,
            env=server_environment(name),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"server {name!r} did not start (printed {line!r})")
        self.port = int(line)

    def stop(self) -> None:
        """Kill the server and reap it."""
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


_REQUESTS = re.compile(r"Requests/sec:\s+([\d.]+)")
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def run_wrk(wrk: str, port: int, connections: int, seconds: float, threads: int) -> float:
    """Requests per second wrk measured against ``port``."""
    out = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", f"http://{HOST}:{port}/"],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    m = _REQUESTS.search(out)
    if m is None:
        raise RuntimeError(f"unexpected wrk output: {out!r}")
    bad = _ERRORS.search(out)
    if bad is not None:
        raise RuntimeError(f"the server gave {bad.group(1)} bad responses: {out!r}")
    return float(m.group(1))


def bench(
    wrk: str, names: Sequence[str], connections: int, seconds: float, repeat: int, threads: int
) -> tuple[dict[str, Result], dict[str, str]]:
    """Results per server (servers take turns, run after run), and the servers skipped with why."""
    results: dict[str, Result] = {}
    skipped: dict[str, str] = {}
    runnable: list[str] = []
    for name in names:
        reason = unavailable(_EIO if name == _EIO_LINES else name)
        if reason is None:
            runnable.append(name)
            results[name] = Result()
        else:
            skipped[name] = reason
    for _ in range(repeat):
        for name in runnable:
            server = ServerProcess(name)
            try:
                before = process_cpu_times(server.proc.pid)
                rate = run_wrk(wrk, server.port, connections, seconds, threads)
                after = process_cpu_times(server.proc.pid)
            finally:
                server.stop()
            cpu_us, user_us = per_op_us(before, after, rate * seconds)
            results[name].add(rate, cpu_us, user_us)
            print(f"  {name}: {rate:,.0f} req/s, {cpu_us:.1f} us CPU/req ({user_us:.1f} user)", file=sys.stderr, flush=True)
    return results, skipped


def format_http_results(results: dict[str, Result], connections: int) -> str:
    """`format_results`' tables, with the line-by-line eio server compared to the peers too."""
    text = format_results(results, connections, "wrk, keep-alive", "req/s")
    rows = [
        ratio_row(f"{variant} / {p}", results[variant], results[p])
        for variant in (_EIO_LINES,)
        if variant in results and results[variant].rate > 0
        for p in _PEERS
        if p in results and results[p].rate > 0
    ]
    if not rows:
        return text
    if RATIO_HEADER not in text:
        text += "\n\n" + RATIO_HEADER
    return text + "\n" + "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``--serve``, be one of its servers)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per run (default 5)")
    parser.add_argument("--connections", type=int, default=100, help="concurrent connections (default 100)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per server; the best counts (default 3)")
    parser.add_argument("--only", nargs="*", choices=sorted(SERVERS), help="servers to run (default: all)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--serve", choices=sorted(SERVERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        check_ring_path(args.serve)
        SERVERS[args.serve]()
        return 0
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is missing: this benchmark needs it (apt-get install -y wrk); nothing was measured")
        return 1
    names: list[str] = list(args.only) if args.only else list(SERVERS)
    load_before = load_average()
    results, skipped = bench(wrk, names, args.connections, args.seconds, args.repeat, args.threads)
    print(format_http_results(results, args.connections))
    print(f"\nload average (1 min) before / after: {load_before} / {load_average()}")
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            doc = {
                "req_per_s": {name: r.rate for name, r in results.items()},
                "server_cpu_us_per_req": {name: r.cpu_us for name, r in results.items()},
                "server_user_us_per_req": {name: r.user_us for name, r in results.items()},
                "skipped": skipped,
                "connections": args.connections,
                "seconds": args.seconds,
            }
            json.dump(doc, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
