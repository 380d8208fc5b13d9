"""Eio's README "Example: Signal handlers": waking fibers from a signal handler.

The operation here is a service that reads its configuration, and reads it
again each time the process gets SIGUSR1 (Eio's example uses SIGHUP). SIGINT
(Ctrl-C) cancels the whole operation. Both handlers only call
`eio.Condition.broadcast`, the one eio operation that is safe in a signal
handler: the handler may run between any two bytecodes of the program.

Run it with ``python examples/signal_condition.py``, then
``kill -USR1 <pid>`` (the pid is printed) and press Ctrl-C.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable
from types import FrameType

import eio

import eio_main


async def load_config(clock: eio.time.Clock) -> None:
    """Stand in for reading a configuration file (time passes)."""
    await eio.time.sleep(clock, 0.01)


async def watch_config(config_changed: eio.Condition, clock: eio.time.Clock) -> None:
    """Read the configuration now and again after every change notice; never returns."""

    async def update() -> None:
        eio.traceln(f"Reading configuration ('kill -SIGUSR1 {os.getpid()}' to reload)...")
        await load_config(clock)
        eio.traceln("Finished reading configuration")
        return None  # keep waiting for further changes

    await config_changed.loop_no_mutex(update)


async def run_op(interrupted: eio.Condition, operation: Callable[[], Awaitable[None]]) -> None:
    """Run ``operation`` until it ends or ``interrupted`` is broadcast.

    The first branch of `eio.fiber.first` runs first, so the fiber waits for
    the interruption before the message inviting the user to send it appears.
    """

    async def wait_for_interrupt() -> None:
        await interrupted.await_no_mutex()
        eio.traceln("Cancelled at user's request.")

    async def run() -> None:
        eio.traceln("Running operation (Ctrl-C to cancel)...")
        await operation()

    await eio.fiber.first(wait_for_interrupt, run)


def on_signal(signum: int, condition: eio.Condition) -> None:
    """Make ``signum`` broadcast ``condition``."""

    def handle(signum: int, frame: FrameType | None) -> None:
        # We're in a signal handler now: most operations are unsafe here,
        # but eio.Condition.broadcast is safe.
        condition.broadcast()

    signal.signal(signum, handle)


async def main(env: eio.Stdenv) -> None:
    """Install the handlers, then run the service until interrupted."""
    interrupted = eio.Condition()
    config_changed = eio.Condition()
    on_signal(signal.SIGINT, interrupted)
    on_signal(signal.SIGUSR1, config_changed)
    await run_op(interrupted, lambda: watch_config(config_changed, env.mono_clock))


if __name__ == "__main__":
    eio_main.run(main)
