"""Deadlock detection for a trio run that eio owns (``run``, ``run_plain``, a domain).

When eio started the trio run itself, nothing but eio fibers, their
`run_trio` calls, other threads and signal handlers can wake the loop; if
none of them can, the main fiber can never finish, and the run ends with
`eio.Deadlock` (as on the self-driven backends) instead of hanging. A loop
hosted in a trio program of the user's is never declared deadlocked: any of
the program's trio tasks may still wake it.
"""

from __future__ import annotations

import signal
import threading

from eio.lowlevel import Fiber, InternalThread, Loop, walk_fibers


def others_may_wake() -> bool:
    """Whether another live thread, or a Python signal handler other than trio's and Python's own, may wake the loop."""
    me = threading.current_thread()
    for t in threading.enumerate():
        if t is not me and not isinstance(t, InternalThread) and t.is_alive():
            return True
    if me is threading.main_thread():
        for signum in signal.valid_signals():
            try:
                handler = signal.getsignal(signum)
            except ValueError:
                continue
            if not callable(handler) or handler is signal.default_int_handler:
                continue
            # trio's own Ctrl-C handler raises KeyboardInterrupt; it wakes no fiber.
            if str(getattr(handler, "__module__", "")).startswith("trio."):
                continue
            return True
    return False


def close_fibers(loop: Loop) -> None:
    """Close the coroutine of every fiber left, deepest contexts first, latest joined first.

    Their ``finally`` blocks and a switch's release hooks run now (a
    switch's fibers before its owner), not later from the garbage collector.
    """
    order: list[tuple[int, int, Fiber]] = [(depth, seq, f) for seq, (depth, f) in enumerate(walk_fibers(loop.root_cc))]
    order.sort(key=lambda t: (-t[0], -t[1]))
    loop.run_queue.clear()
    for _, _, fiber in order:
        fiber.cancel_fn = None
        loop.current = fiber
        try:
            fiber.ctx_run(fiber.coro.close)
        except BaseException:  # noqa: BLE001 - best effort: the run is failing with Deadlock already
            pass
        fiber.cc.fibers.pop(fiber, None)
    loop.current = None
