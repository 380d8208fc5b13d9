"""Starting an asyncio loop and running eio on it: `run` and `run_plain`."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from typing import Any, TypeVar

from ._interop import run_eio_call, run_main_call

T = TypeVar("T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def _check_factory(loop_factory: object) -> None:
    if loop_factory is not None and not callable(loop_factory):
        raise TypeError(f"loop_factory must be a function returning an asyncio event loop (or None), not {loop_factory!r}")


def run(main: Callable[[Any], Awaitable[T]], loop_factory: LoopFactory | None = None) -> T:
    """Start a new asyncio loop and run ``await main(env)`` on it with the whole standard environment.

    ``loop_factory`` makes the asyncio loop (default: asyncio's own;
    ``uvloop.new_event_loop`` works). Returns ``main``'s result or raises its
    error; raises `eio.Deadlock` when nothing can ever wake the program.
    """
    _check_factory(loop_factory)
    with asyncio.Runner(loop_factory=loop_factory) as runner, _signals_wake(runner.get_loop()):
        return runner.run(run_main_call(main, owner=True))


def run_plain(fn: Callable[[], Awaitable[T]], loop_factory: LoopFactory | None = None) -> T:
    """Run ``await fn()`` as an eio fiber on a new asyncio loop, without an environment (tests, benchmarks)."""
    _check_factory(loop_factory)
    with asyncio.Runner(loop_factory=loop_factory) as runner, _signals_wake(runner.get_loop()):
        return runner.run(run_eio_call(fn, (), owner=True))


@contextmanager
def _signals_wake(aloop: asyncio.AbstractEventLoop) -> Generator[None]:
    """Make every signal wake ``aloop`` while it sleeps in the kernel, so Python signal handlers run at once.

    CPython runs handlers on the main thread only; if the kernel hands the
    signal to another thread, the main thread sleeps on unless a wake-up fd
    is set. asyncio sets one only for its own ``add_signal_handler`` (and
    uvloop for the time it runs); this sets one if nobody did, and restores it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    r, w = socket.socketpair()
    r.setblocking(False)
    w.setblocking(False)
    try:
        old = signal.set_wakeup_fd(w.fileno(), warn_on_full_buffer=False)
    except ValueError:  # not the main interpreter
        r.close()
        w.close()
        yield
        return
    if old != -1:
        signal.set_wakeup_fd(old)  # someone else's: it already wakes the loop
        r.close()
        w.close()
        yield
        return

    def drain() -> None:
        try:
            while r.recv(4096):
                pass
        except OSError:
            pass

    aloop.add_reader(r.fileno(), drain)
    try:
        yield
    finally:
        signal.set_wakeup_fd(-1)
        if not aloop.is_closed():
            aloop.remove_reader(r.fileno())
        r.close()
        w.close()
