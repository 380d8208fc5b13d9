"""A multi-domain TCP echo server, in the style of the Eio and Miou tutorials.

Run it with ``python examples/echo_server.py [PORT]``. The first line it
prints on stdout is the port it listens on (useful with port 0, the default,
which lets the OS pick one). Connections are accepted by two domains: the main
one and one more (``additional_domains``), each with its own loop (its own
io_uring ring on Linux), sharing the listening socket. It runs on the best
backend installed (``EIO_BACKEND=trio`` and the like choose one).

Ctrl-C (SIGINT) stops the server gracefully: it closes the listening socket
at once (new clients are refused, not left waiting), lets the connections in
progress finish, closes everything and exits with status 0. A second Ctrl-C
forces the exit: the open connections are closed and the status is 130.
The last line on stdout compares the number of open file descriptors at
start and at exit, to show that nothing leaked.

A connection that fails (a client that resets, say) is logged on stderr and
the server goes on serving the others.

``main`` needs only ``net``, ``domain_mgr`` and ``clock`` from the environment,
and says so with its own small Protocol.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Protocol

import eio
import eio.net


class Env(Protocol):
    """The capabilities the server uses."""

    @property
    def net(self) -> eio.net.Network:
        """Where to listen."""
        ...

    @property
    def domain_mgr(self) -> eio.DomainManager:
        """Where to run the additional accept loop."""
        ...

    @property
    def clock(self) -> eio.time.Clock:
        """The wall clock (for the log)."""
        ...


async def echo(flow: eio.net.StreamSocket, peer: eio.net.StreamAddr) -> None:
    """Send back everything ``peer`` sends, until it shuts down its side."""
    await eio.flow.copy(flow, flow)


def log(message: str) -> None:
    """A line on stderr (stdout carries the port and the descriptor count)."""
    print(message, file=sys.stderr, flush=True)


async def main(env: Env, port: int = 0) -> str:
    """Serve echo on ``port`` until SIGINT, then wait for open connections; return why it stopped.

    ``"interrupted"`` after one SIGINT, ``"forced"`` if a second one came
    before the open connections finished.
    """
    stop, stopper = eio.Promise[str].create()
    forced, forcer = eio.Promise[str].create()
    interrupted = eio.Condition()
    interrupts = 0

    async with eio.Switch.run(name="echo server") as sw:

        async def on_interrupt() -> None:
            # Condition.broadcast is the one thing that is safe in a signal handler;
            # the resolving is done here, in an ordinary fiber. The count says
            # how many arrived, so none is missed while this fiber is busy.
            seen = 0
            while seen < 2:
                while interrupts == seen:
                    await interrupted.await_no_mutex()
                seen = interrupts
                if not stop.is_resolved():
                    log("SIGINT: no more new connections; waiting for the open ones (Ctrl-C again to force)")
                    stopper.resolve("interrupted")
            log("second SIGINT: closing the open connections")
            forcer.resolve("forced")

        eio.fiber.fork_daemon(sw, on_interrupt)

        def handler(signum: int, frame: FrameType | None) -> None:
            nonlocal interrupts
            interrupts += 1
            interrupted.broadcast()

        previous = signal.signal(signal.SIGINT, handler)
        try:
            sock = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, port), backlog=128, reuse_addr=True)
            addr = eio.net.listening_addr(sock)
            assert isinstance(addr, eio.net.Tcp)
            print(addr.port, flush=True)
            log(f"listening on {addr} at {eio.time.now(env.clock):.0f}")

            def on_error(ex: Exception) -> None:
                log(f"connection failed: {ex!r}")

            async def serve() -> str:
                return await eio.net.run_server(
                    sock, echo, on_error=on_error, additional_domains=(env.domain_mgr, 1), stop=stop
                )

            async def force() -> str:
                return await forced

            # The first to finish wins: a forced stop cancels the server and its connections.
            why = await eio.fiber.first(serve, force)
            log(f"server stopped ({why})")
        finally:
            signal.signal(signal.SIGINT, previous)
    return why


def count_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd")) - 1  # minus listdir's own


def wait_for_domains() -> None:
    """Let finished domain threads close their rings (they do so just after handing back their result)."""
    for thread in threading.enumerate():
        if thread.name.startswith("eio-domain-"):
            thread.join(timeout=10)


if __name__ == "__main__":
    import eio_main

    chosen = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    at_start = count_fds()

    async def run_main(env: Env) -> str:
        return await main(env, chosen)

    why = eio_main.run(run_main)
    wait_for_domains()
    print(f"fds: start={at_start} exit={count_fds()}", flush=True)
    sys.exit(130 if why == "forced" else 0)
