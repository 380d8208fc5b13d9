"""Deadlock detection for an eio program that owns its asyncio loop (`run`, `run_plain`).

A guest in someone else's asyncio loop can never know that nothing will
wake it (any asyncio code may resolve a promise), so only `run` and
`run_plain`, which start the loop for the program, watch for deadlocks:
as a self-driven eio loop does, they raise `eio.Deadlock` when no fiber is
ready, no timer is pending, no fiber waits on a descriptor or an asyncio
call, no work is out on another thread, no other thread or signal handler
could wake the loop, and the asyncio loop runs no task but the program's own.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import threading
from collections.abc import Callable
from typing import cast

from eio.lowlevel import Deadlock, InternalThread, describe_deadlock

from ._host import AsyncioPoller


class DeadlockWatch:
    """Watches one hosted loop on behalf of its main call; ``fail(Deadlock)`` ends that call."""

    __slots__ = ("poller", "main_task", "fail", "_checking")

    def __init__(
        self, poller: AsyncioPoller, main_task: asyncio.Task[object] | None, fail: Callable[[BaseException], None]
    ) -> None:
        self.poller = poller
        self.main_task = main_task
        self.fail = fail
        self._checking = False

    def idle(self) -> None:
        """The hosted loop has nothing to do: check once asyncio's callbacks queued so far have run."""
        if not self._checking:
            self._checking = True
            self.poller.aloop.call_soon(self._check)

    def _check(self) -> None:
        self._checking = False
        poller = self.poller
        loop = poller.loop
        if loop.next_timeout() is not None or poller.busy() or loop.pending_external:
            return
        if any(task is not self.main_task for task in asyncio.all_tasks(poller.aloop)):
            return
        if _others_may_wake():
            return
        error = Deadlock(describe_deadlock(loop))
        # The fibers can never run again: close their coroutines now (their
        # finally blocks run), as a self-driven loop does before raising.
        loop._abandon_fibers()  # pyright: ignore[reportPrivateUsage]  # the loop's own clean-up; the contract has no public one
        self.fail(error)


def _others_may_wake() -> bool:
    """Whether another live thread of the program, or a Python signal handler, may still wake the loop."""
    me = threading.current_thread()
    if any(t is not me and not isinstance(t, InternalThread) and t.is_alive() for t in threading.enumerate()):
        return True
    if me is threading.main_thread():
        for signum in signal.valid_signals():
            try:
                handler = signal.getsignal(signum)
            except ValueError:
                continue
            if callable(handler) and handler is not signal.default_int_handler and not _is_runners_sigint(handler):
                return True
    return False


def _is_runners_sigint(handler: object) -> bool:
    # asyncio.Runner turns Ctrl-C into cancelling the main task (its handler is a
    # functools.partial of a Runner method): that ends the program, it wakes no fiber.
    if isinstance(handler, functools.partial):
        handler = cast("functools.partial[object]", handler).func
    return isinstance(getattr(handler, "__self__", None), asyncio.Runner)
