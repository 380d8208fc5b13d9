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
from collections.abc import Callable
from typing import cast

from eio.lowlevel import Deadlock, idle_verdict

from ._host import AsyncioPoller


class DeadlockWatch:
    """Watches one hosted loop on behalf of its main call; ``fail(Deadlock)`` ends that call."""

    __slots__ = ("poller", "main_task", "fail", "_checking", "_idle_since", "_recheck")

    def __init__(
        self, poller: AsyncioPoller, main_task: asyncio.Task[object] | None, fail: Callable[[BaseException], None]
    ) -> None:
        self.poller = poller
        self.main_task = main_task
        self.fail = fail
        self._checking = False
        self._idle_since = -1.0  # see eio.lowlevel.idle_verdict
        self._recheck: asyncio.TimerHandle | None = None

    def idle(self) -> None:
        """A step left the loop with nothing to do: check once asyncio's callbacks queued so far have run."""
        self._idle_since = -1.0  # fibers ran since the last check
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None
        if not self._checking:
            self._checking = True
            self.poller.aloop.call_soon(self._check)

    def _check(self) -> None:
        self._checking = False
        self._recheck = None
        poller = self.poller
        loop = poller.loop
        if loop.next_timeout() is not None or poller.busy() or loop.pending_external:
            self._idle_since = -1.0
            return
        if any(task is not self.main_task for task in asyncio.all_tasks(poller.aloop)):
            # Another asyncio task may still wake a fiber: look again later.
            self._idle_since = -1.0
            self._recheck = poller.aloop.call_later(THREAD_RECHECK, self._check)
            return
        self._idle_since, verdict = idle_verdict(loop, self._idle_since, _is_runners_sigint)
        if not isinstance(verdict, Deadlock):
            self._recheck = poller.aloop.call_later(verdict, self._check)
            return
        # The fibers can never run again: close their coroutines now (their
        # finally blocks run), as a self-driven loop does before raising.
        loop.abandon_fibers()
        self.fail(verdict)

    def stop(self) -> None:
        """The main call ended: no more checks."""
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None


# How often an idle loop looks again while an asyncio task or a thread may still wake it.
THREAD_RECHECK = 0.1


def _is_runners_sigint(handler: object) -> bool:
    # asyncio.Runner turns Ctrl-C into cancelling the main task (its handler is a
    # functools.partial of a Runner method): that ends the program, it wakes no fiber.
    if isinstance(handler, functools.partial):
        handler = cast("functools.partial[object]", handler).func
    return isinstance(getattr(handler, "__self__", None), asyncio.Runner)
