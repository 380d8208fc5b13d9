"""The runtime's internals, for backend authors (Eio's ``Eio.Private``).

A backend creates a `Loop` with its own `Poller` and runs the main coroutine
with `Loop.run`. IO is done by suspending the current fiber (`suspend`) after
registering the operation, setting ``fiber.cancel_fn`` so cancellation can
stop it, and calling ``fiber.wake(result)`` (or ``wake_threadsafe`` from
another thread) when it completes.
"""

from ._core._backend import BackendInfo, BackendRegistry
from ._core._cancel import ON, CancelContext, CancelFn
from ._core._clocks import sleep_until_monotonic
from ._core._fiber import ExitFn, Fiber
from ._core._loop import (
    MAX_FORK_DEPTH,
    SUSPEND,
    Loop,
    NoLoopRunning,
    Poller,
    TimerEntry,
    current_fiber,
    current_loop,
    current_loop_or_none,
)
from ._core._threads import ThreadDomainManager, run_in_systhread
from ._core._trace import trace_prefix
from ._io_errors import add_context, from_oserror
from ._core._traps import coroutine_of, fork_raw, suspend, suspend_unchecked, wait, yield_

__all__ = [
    "BackendInfo",
    "BackendRegistry",
    "MAX_FORK_DEPTH",
    "ON",
    "SUSPEND",
    "CancelContext",
    "CancelFn",
    "ExitFn",
    "Fiber",
    "Loop",
    "NoLoopRunning",
    "Poller",
    "ThreadDomainManager",
    "TimerEntry",
    "coroutine_of",
    "current_fiber",
    "current_loop",
    "current_loop_or_none",
    "fork_raw",
    "from_oserror",
    "add_context",
    "run_in_systhread",
    "sleep_until_monotonic",
    "suspend",
    "suspend_unchecked",
    "trace_prefix",
    "wait",
    "yield_",
]
