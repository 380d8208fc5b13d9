"""TCP echo benchmark: eio (io_uring, the windows backend, hosted on trio, hosted in asyncio) against asyncio, uvloop and trio stream servers.

Each server runs in its own process; bench/echo_client.c (compiled with
``gcc -O2`` into a temporary directory at run time) drives it with N
connections, each sending a 64-byte message and waiting for its echo before
sending the next, and reports messages per second. Best of ``--repeat`` runs.

    uv run python bench/echo.py [--seconds 5] [--connections 100] [--repeat 3] [--only NAME ...]

Servers (``--only`` takes these names):

- ``eio(uring)``: `eio.net.run_server` with ``eio.flow.copy(flow, flow)`` per connection;
- ``eio(uring) pure``: the same on the pure-Python ring (``EIO_PURE_PYTHON=1``: the
  compiled accelerator unused; ``eio(uring)`` uses it when it was built);
- ``eio(uring) 2 domains``: the same with one additional domain (a second thread and ring);
- ``eio(windows)``: the same on the windows backend (`eio_backend_windows`: a selector
  loop, here epoll, with the shared Unix layer's sockets);
- ``eio(trio)``: the same eio server hosted on trio (`eio_backend_trio`), sockets from the
  shared Unix layer, readiness through the loop's own epoll; ``eio(trio) tasks``: the same
  with one trio task per readiness wait (the portable strategy), for comparison;
- ``eio(asyncio+uvloop)`` / ``eio(asyncio)``: the same on the asyncio backend
  (`eio_backend_asyncio.run`), hosted in uvloop / asyncio's own loop;
- ``asyncio streams`` / ``uvloop streams``: ``asyncio.start_server``, read / write / drain;
- ``trio``: ``trio.serve_tcp``, ``async for`` over the stream / ``send_all``;
- ``uvloop protocol``: a ``Protocol`` whose ``data_received`` writes back (no coroutines
  at all; shown as the ceiling for Python, not as a peer).

Besides throughput it reports the server's CPU time per message (user + system,
from ``/proc``): on a busy machine throughput swings with the other load, while
CPU per message stays comparable. Servers take turns, run after run. Every
ratio is eio's figure divided by the peer's (throughput: above 1 is better for
eio; CPU per message: below 1 is).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import cast

HERE = Path(__file__).resolve().parent
CLIENT_SOURCE = HERE / "echo_client.c"
HOST = "127.0.0.1"
WARMUP_SECONDS = 0.5  # WARMUP_S in echo_client.c


# -- servers (each runs in its own process: `echo.py --serve NAME`) --------------------------


def announce(port: int) -> None:
    """A server's first stdout line: the port it listens on (the driver reads it)."""
    print(port, flush=True)


def serve_eio(domains: int) -> None:
    """eio on io_uring: run_server, eio.flow.copy(flow, flow)."""
    import eio
    import eio.net
    from eio.lowlevel import ThreadDomainManager
    from eio_backend_uring._net import UringNetwork
    from eio_backend_uring._run import new_loop, run_plain

    async def echo(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
        await eio.flow.copy(flow, flow)

    async def main() -> None:
        async with eio.Switch.run() as sw:
            sock = await eio.net.listen(sw, UringNetwork(), eio.net.Tcp(HOST, 0), backlog=1024, reuse_addr=True)
            addr = eio.net.listening_addr(sock)
            assert isinstance(addr, eio.net.Tcp)
            announce(addr.port)
            extra = None if domains == 1 else (ThreadDomainManager(lambda: new_loop()[0]), domains - 1)
            # Clients leave by closing (or resetting) their connections: not an error here.
            await eio.net.run_server(sock, echo, on_error=lambda ex: None, additional_domains=extra)

    run_plain(main)


def serve_eio_trio(readiness: str) -> None:
    """eio hosted on trio (the shared Unix layer's sockets): run_server, eio.flow.copy(flow, flow).

    ``readiness``: "epoll" (the loop's own epoll, the default on Linux) or "tasks" (a trio task per wait).
    """
    import eio
    import eio.net
    import eio.unix
    from eio_backend_trio.hosting import TrioLoop
    from eio_backend_trio.readiness import TaskPoller, new_poller

    async def echo(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
        await eio.flow.copy(flow, flow)

    async def main() -> None:
        async with eio.Switch.run() as sw:
            sock = await eio.net.listen(sw, eio.unix.UnixNetwork(), eio.net.Tcp(HOST, 0), backlog=1024, reuse_addr=True)
            addr = eio.net.listening_addr(sock)
            assert isinstance(addr, eio.net.Tcp)
            announce(addr.port)
            await eio.net.run_server(sock, echo, on_error=lambda ex: None)

    TrioLoop(TaskPoller() if readiness == "tasks" else new_poller(), backend_id="trio").run(main())


def serve_eio_windows() -> None:
    """eio on the windows backend (a selector loop): run_server, eio.flow.copy(flow, flow)."""
    import eio
    import eio.net

    import eio_backend_windows

    async def echo(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
        await eio.flow.copy(flow, flow)

    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            sock = await eio.net.listen(sw, env.net, eio.net.Tcp(HOST, 0), backlog=1024, reuse_addr=True)
            addr = eio.net.listening_addr(sock)
            assert isinstance(addr, eio.net.Tcp)
            announce(addr.port)
            await eio.net.run_server(sock, echo, on_error=lambda ex: None)

    eio_backend_windows.run(main)


def serve_eio_asyncio(loop_factory: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
    """eio hosted in asyncio (on a loop from ``loop_factory``): run_server, eio.flow.copy(flow, flow)."""
    import eio
    import eio.net

    import eio_backend_asyncio

    async def echo(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
        await eio.flow.copy(flow, flow)

    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            sock = await eio.net.listen(sw, env.net, eio.net.Tcp(HOST, 0), backlog=1024, reuse_addr=True)
            addr = eio.net.listening_addr(sock)
            assert isinstance(addr, eio.net.Tcp)
            announce(addr.port)
            await eio.net.run_server(sock, echo, on_error=lambda ex: None)

    eio_backend_asyncio.run(main, loop_factory=loop_factory)


def serve_asyncio_streams(loop_factory: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
    """asyncio.start_server: read, write, drain."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    serve_asyncio(echo, loop_factory)


def serve_asyncio(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
) -> None:
    """Serve ``handle`` with ``asyncio.start_server`` on a loop from ``loop_factory``, forever."""

    async def main() -> None:
        server = await asyncio.start_server(handle, HOST, 0, backlog=1024)
        announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


def serve_uvloop_protocol() -> None:
    """uvloop with a plain Protocol: data_received writes back."""
    import uvloop

    class Echo(asyncio.Protocol):
        transport: asyncio.Transport

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # uvloop's transports are not subclasses of asyncio.Transport, but behave as one.
            self.transport = cast(asyncio.Transport, transport)

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0, backlog=1024)
        announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


def serve_trio() -> None:
    """trio.serve_tcp: async for over the stream, send_all."""
    import trio

    async def echo(stream: trio.SocketStream) -> None:
        async for data in stream:
            await stream.send_all(data)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, echo, 0, host=HOST))
            announce(listeners[0].socket.getsockname()[1])

    trio.run(main)


def uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop factory (imported only when a uvloop server runs)."""
    import uvloop

    return uvloop.new_event_loop


SERVERS: dict[str, Callable[[], None]] = {
    "eio(uring)": lambda: serve_eio(1),
    "eio(uring) pure": lambda: serve_eio(1),
    "eio(uring) 2 domains": lambda: serve_eio(2),
    "eio(windows)": serve_eio_windows,
    "eio(trio)": lambda: serve_eio_trio("epoll"),
    "eio(trio) tasks": lambda: serve_eio_trio("tasks"),
    "eio(asyncio+uvloop)": lambda: serve_eio_asyncio(uvloop_factory()),
    "eio(asyncio)": lambda: serve_eio_asyncio(None),
    "uvloop streams": lambda: serve_asyncio_streams(uvloop_factory()),
    "asyncio streams": lambda: serve_asyncio_streams(None),
    "trio": serve_trio,
    "uvloop protocol": serve_uvloop_protocol,
}
EIO_NAMES = (
    "eio(uring)",
    "eio(uring) pure",
    "eio(uring) 2 domains",
    "eio(windows)",
    "eio(trio)",
    "eio(trio) tasks",
    "eio(asyncio+uvloop)",
    "eio(asyncio)",
)
PEER_NAMES = ("uvloop streams", "asyncio streams", "trio", "uvloop protocol")


def unavailable(name: str) -> str | None:
    """Why server ``name`` can't run here, or None."""
    module = {
        "uvloop streams": "uvloop",
        "uvloop protocol": "uvloop",
        "trio": "trio",
        "eio(asyncio+uvloop)": "uvloop",
        "eio(asyncio)": "eio_backend_asyncio",
        "eio(windows)": "eio_backend_windows",
    }.get(name)
    if name.startswith("eio(uring)"):
        module = "eio_backend_uring"
    elif name.startswith("eio(trio)"):
        module = "eio_backend_trio"
    if module is None:
        return None
    try:
        mod = __import__(module)
    except ImportError as ex:
        return f"not importable: {ex}"
    if module in ("eio_backend_uring", "eio_backend_trio"):
        reason: str | None = mod.unavailable_reason()
        if reason is None and module == "eio_backend_uring" and not name.endswith(" pure") and not accelerator_built():
            reason = "the compiled accelerator is not built (the pure-Python ring is measured as `eio(uring) pure`)"
        return reason
    return None


def accelerator_built() -> bool:
    """Whether ``eio_backend_uring._accel`` imports (whatever ``EIO_PURE_PYTHON`` says in this process)."""
    try:
        __import__("eio_backend_uring._accel")
    except ImportError:
        return False
    return True


def server_environment(name: str) -> dict[str, str]:
    """The environment of server ``name``'s process: ``EIO_PURE_PYTHON=1`` for the ``pure`` ones, unset for the others."""
    env = dict(os.environ)
    env.pop("EIO_PURE_PYTHON", None)
    if name.endswith(" pure"):
        env["EIO_PURE_PYTHON"] = "1"
    return env


def check_ring_path(name: str) -> None:
    """In server ``name``'s process: refuse to measure an io_uring server on the wrong ring path."""
    if name.startswith("eio(uring)"):
        import eio_backend_uring

        if eio_backend_uring.accelerated() == name.endswith(" pure"):
            raise SystemExit(f"{name}: eio_backend_uring.accelerated() is {eio_backend_uring.accelerated()}")


# -- the client ------------------------------------------------------------------------


def compile_client(workdir: Path) -> Path:
    """Compile echo_client.c with ``gcc -O2`` into ``workdir``; return the executable's path."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise RuntimeError("no C compiler (gcc or cc) found: the echo benchmark needs one for its client")
    digest = hashlib.sha256(CLIENT_SOURCE.read_bytes()).hexdigest()[:12]
    exe = workdir / f"eio_echo_client_{digest}"
    if not exe.exists():
        subprocess.run([gcc, "-O2", "-Wall", "-o", str(exe), str(CLIENT_SOURCE)], check=True)
    return exe


_RESULT = re.compile(r"messages=(\d+) seconds=([\d.]+) msgs_per_s=(\d+) errors=(\d+)")


def run_client(exe: Path, port: int, connections: int, seconds: float, size: int = 64) -> tuple[float, int]:
    """Run the client against ``port``; return (messages per second, messages)."""
    out = subprocess.run(
        [str(exe), HOST, str(port), str(connections), str(seconds), str(size)],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    m = _RESULT.search(out)
    if m is None:
        raise RuntimeError(f"unexpected client output: {out!r}")
    if int(m.group(4)):
        raise RuntimeError(f"the server echoed wrong bytes: {out!r}")
    return float(m.group(3)), int(m.group(1))


class ServerProcess:
    """``echo.py --serve NAME`` as a child process; its first stdout line is the port."""

    def __init__(self, name: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", name],
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE.parent,
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

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the server has used so far."""
        return process_cpu_seconds(self.proc.pid)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of process ``pid``, all threads (Linux ``/proc``; zeros where there is none)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    return int(fields[11]) / _CLOCK_TICKS, int(fields[12]) / _CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` (Linux ``/proc``; 0.0 where there is none)."""
    user, system = process_cpu_times(pid)
    return user + system


class Result:
    """Per server: the best throughput, and the least server CPU time per operation, over the runs.

    ``user_us`` is the user-space part of that least CPU time (the rest is
    system time: the kernel's share of the sockets and the event loop).
    """

    __slots__ = ("rate", "cpu_us", "user_us")

    def __init__(self) -> None:
        self.rate = 0.0
        self.cpu_us = float("inf")
        self.user_us = float("inf")

    def add(self, rate: float, cpu_us: float, user_us: float = 0.0) -> None:
        """Keep the best of this run and the previous ones."""
        self.rate = max(self.rate, rate)
        if 0 < cpu_us < self.cpu_us:
            self.cpu_us = cpu_us
            self.user_us = user_us


def per_op_us(before: tuple[float, float], after: tuple[float, float], ops: float) -> tuple[float, float]:
    """CPU microseconds per operation (user + system, user) between two `process_cpu_times` readings."""
    if not ops:
        return 0.0, 0.0
    user = after[0] - before[0]
    system = after[1] - before[1]
    return (user + system) / ops * 1e6, user / ops * 1e6


def load_average() -> str:
    """The 1-minute load average, for the report (the machine may be shared)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def bench(names: Sequence[str], connections: int, seconds: float, repeat: int) -> tuple[dict[str, Result], dict[str, str]]:
    """Results per server, and the servers skipped with why.

    The servers take turns (one run of each, ``repeat`` times) so that a
    change in the machine's load hits them all alike.
    """
    results: dict[str, Result] = {}
    skipped: dict[str, str] = {}
    runnable: list[str] = []
    for name in names:
        reason = unavailable(name)
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
                    before = process_cpu_times(server.proc.pid)
                    rate, count = run_client(exe, server.port, connections, seconds)
                    after = process_cpu_times(server.proc.pid)
                finally:
                    server.stop()
                # The CPU time also covers the client's warm-up: count its messages too.
                cpu_us, user_us = per_op_us(before, after, count * (seconds + WARMUP_SECONDS) / seconds)
                results[name].add(rate, cpu_us, user_us)
                print(
                    f"  {name}: {rate:,.0f} msgs/s, {cpu_us:.1f} us CPU/msg ({user_us:.1f} user)",
                    file=sys.stderr,
                    flush=True,
                )
    return results, skipped


def format_results(results: dict[str, Result], connections: int, what: str = "64 B messages", unit: str = "msgs/s") -> str:
    """Markdown tables: throughput and server CPU per operation, then eio relative to each peer."""
    lines = [
        f"| server ({connections} connections, {what}) | {unit} | server CPU us/op | of which user |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {r.rate:,.0f} | {r.cpu_us:.1f} | {r.user_us:.1f} |" for name, r in results.items()]
    ratio_lines = [
        ratio_row(f"{e} / {p}", results[e], results[p])
        for e in EIO_NAMES
        for p in PEER_NAMES
        if e in results and p in results and results[p].rate > 0 and results[e].rate > 0
    ]
    if ratio_lines:
        lines += ["", RATIO_HEADER, *ratio_lines]
    return "\n".join(lines)


RATIO_HEADER = "| eio's figure / the peer's | throughput (above 1: eio is better) | CPU per op (below 1: eio is better) |\n|---|---:|---:|"
"""The header of the ratio tables: every ratio is eio's figure divided by the peer's."""


def ratio_row(label: str, eio: Result, peer: Result) -> str:
    """One row of a ratio table (see `RATIO_HEADER`)."""
    return f"| {label} | {eio.rate / peer.rate:.2f}x | {eio.cpu_us / peer.cpu_us:.2f}x |"


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
        check_ring_path(args.serve)
        SERVERS[args.serve]()
        return 0
    names: list[str] = list(args.only) if args.only else list(SERVERS)
    load_before = load_average()
    results, skipped = bench(names, args.connections, args.seconds, args.repeat)
    print(format_results(results, args.connections))
    print(f"\nload average (1 min) before / after: {load_before} / {load_average()}")
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            doc = {
                "msgs_per_s": {name: r.rate for name, r in results.items()},
                "server_cpu_us_per_msg": {name: r.cpu_us for name, r in results.items()},
                "server_user_us_per_msg": {name: r.user_us for name, r in results.items()},
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
