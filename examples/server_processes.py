"""A TCP server on every core: worker processes share one port (`eio_main.serve_processes`).

Run it with ``python examples/server_processes.py [WORKERS] [PORT]``. The
first line on stdout is the port (with port 0, the default, the OS picks one),
the second the workers' process ids. Each connection gets back each line it
sends, prefixed with the pid of the worker that served it.

Ctrl-C (SIGINT, sent to the whole process group by a terminal) stops it
gracefully: the workers ignore SIGINT; the parent's handler wakes a fiber
that leaves the switch, which tells the workers to stop accepting, waits
for their open connections to end, and reaps them. The last line on stdout
compares the number of open file descriptors at start and at exit.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import eio
import eio.net

import eio_main


async def pid_echo(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
    """Answer each line with ``<pid> <line>``, until the client shuts down its side."""
    r = eio.BufRead.of_flow(flow, max_size=4096)
    while not await r.at_end_of_input():
        line = await r.line()
        await eio.flow.write(flow, [f"{os.getpid()} ".encode(), line, b"\n"])


def log(message: str) -> None:
    """A line on stderr (stdout carries the port, the pids and the descriptor count)."""
    print(message, file=sys.stderr, flush=True)


async def main(workers: int, port: int) -> None:
    """Serve on ``port`` with ``workers`` processes until SIGINT."""
    interrupted = eio.Condition()

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        interrupted.broadcast()  # the one thing that is safe in a signal handler

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        async with eio.Switch.run(name="server") as sw:
            server = await eio_main.serve_processes(sw, eio.net.Tcp(eio.net.LOOPBACK_V4, port), pid_echo, workers=workers)
            print(server.addr.port, flush=True)
            print(" ".join(map(str, server.pids)), flush=True)
            await interrupted.await_no_mutex()
            log("SIGINT: stopping the workers; they finish their open connections")
        log("all workers have exited")
    finally:
        signal.signal(signal.SIGINT, previous)


def count_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd")) - 1  # minus listdir's own


if __name__ == "__main__":  # required: each worker process imports this module
    from multiprocessing import resource_tracker

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    chosen = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    resource_tracker.ensure_running()  # started once by the first spawn, and kept: counted from the start
    at_start = count_fds()

    async def run_main(env: object) -> None:
        await main(n, chosen)

    eio_main.run(run_main)
    print(f"fds: start={at_start} exit={count_fds()}", flush=True)
