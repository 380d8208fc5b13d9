"""Fibers: a coroutine plus the context it runs in.

A fiber is resumed by putting it on its loop's run queue with the value (or
error) to send into its coroutine. Exactly one party may wake a suspended
fiber: whoever wakes it first (an operation completing, or cancellation)
clears ``cancel_fn`` so the other does nothing.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ._cancel import CancelContext, CancelFn

if TYPE_CHECKING:
    from ._loop import Loop

_get_ident = threading.get_ident

ExitFn = Callable[["Fiber", object, "BaseException | None"], None]


class Fiber:
    """A fiber: one coroutine driven by a `Loop` (Eio's fiber context).

    ``cc`` is the cancellation context the fiber is in now; ``ctx_run`` runs
    code in its `contextvars.Context` (a forked fiber gets a copy of its parent's).
    ``cancel_fn`` is set while the fiber is suspended in a cancellable
    operation. ``on_exit(fiber, result, error)`` runs when the coroutine ends.
    """

    __slots__ = ("loop", "coro", "send", "cc", "ctx_run", "value", "error", "cancel_fn", "on_exit")

    def __init__(
        self,
        loop: Loop,
        coro: Coroutine[Any, Any, Any],
        cc: CancelContext,
        context: contextvars.Context,
        on_exit: ExitFn,
    ) -> None:
        self.loop: Loop = loop
        self.coro: Coroutine[Any, Any, Any] = coro
        # Bound methods are cached: the run loop calls them on every step.
        self.send: Callable[[Any], Any] = coro.send
        self.cc: CancelContext = cc
        self.ctx_run: Callable[..., Any] = context.run
        self.value: object = None
        self.error: BaseException | None = None
        self.cancel_fn: CancelFn | None = None
        self.on_exit: ExitFn = on_exit
        cc.fibers[self] = None

    def __repr__(self) -> str:
        return f"<Fiber {getattr(self.coro, '__qualname__', self.coro)} in {self.cc!r}>"

    # Waking, from the fiber's own loop thread (including a signal handler there).

    def wake(self, value: object = None) -> None:
        """Resume the suspended fiber with ``value`` (own loop thread only)."""
        self.cancel_fn = None
        self.value = value
        self.loop.run_queue.append(self)

    def wake_error(self, error: BaseException) -> None:
        """Resume the suspended fiber by raising ``error`` in it (own loop thread only)."""
        self.cancel_fn = None
        self.error = error
        self.loop.run_queue.append(self)

    # Waking from any thread.

    def wake_threadsafe(self, value: object = None) -> None:
        """Resume the fiber with ``value``; may be called from any OS thread."""
        loop = self.loop
        if _get_ident() == loop.thread_id:
            self.wake(value)
        else:
            self.value = value
            loop.inbox.append(self)
            loop.notify()

    def wake_error_threadsafe(self, error: BaseException) -> None:
        """Resume the fiber by raising ``error``; may be called from any OS thread."""
        loop = self.loop
        if _get_ident() == loop.thread_id:
            self.wake_error(error)
        else:
            self.error = error
            loop.inbox.append(self)
            loop.notify()

    def move_to(self, cc: CancelContext) -> None:
        """Move the fiber to another cancellation context (joining it last)."""
        del self.cc.fibers[self]
        cc.fibers[self] = None
        self.cc = cc

    def exit(self, result: object, error: BaseException | None) -> None:
        """Bookkeeping when the coroutine has ended (called by the loop)."""
        self.cc.fibers.pop(self, None)
        self.on_exit(self, result, error)
