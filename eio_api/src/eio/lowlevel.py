"""The backend contract: everything a backend author needs, in one place (Eio's ``Eio.Private``).

Read this top to bottom before writing a backend.

The loop
    The fiber runtime is shared: a `Loop` owns the run queue, a thread-safe
    inbox, the timer heap and the cancellation tree. A backend gives it a
    `Poller` and either lets it drive itself, ``loop.run(coro)`` (run every
    ready fiber; when none is ready, block in ``poller.poll(loop, timeout)``;
    repeat until the main fiber ends), or hosts it in another event loop::

        fiber = loop.spawn(coro, on_exit)      # queue a root fiber (any number)
        while not done:
            loop.step()                        # inbox, due timers, one pass over the run queue
            wait_through_host(loop.next_timeout())   # 0: step again; None: until notified

    ``poller.notify()`` must wake the host (from any thread and from signal
    handlers). Between steps no fiber is current and ``loop.thread_id`` is 0,
    so code of the host that resolves a promise or adds to a stream wakes
    fibers through the inbox, and hence wakes the host.

Suspending (the cancel-function contract)
    A fiber waits by ``await suspend(register)``: if its context is
    cancelled, it raises `eio.Cancelled` at once (requeued at the tail);
    otherwise ``register(fiber)`` arranges a wake-up and sets
    ``fiber.cancel_fn``. Exactly one party wakes a suspended fiber:

    - the operation, on completion: ``fiber.wake(value)`` on the loop's own
      thread, ``fiber.wake_threadsafe(value)`` from anywhere (both clear
      ``cancel_fn``, so a later cancellation does nothing);
    - cancellation: the cancel tree calls ``cancel_fn(Cancelled(...))`` once,
      on the loop's thread. The cancel function either wakes the fiber at
      once with the error (``fiber.wake_error``) when the operation is
      certainly undone, or *defers*: it asks the OS to stop the operation
      and leaves the fiber suspended until the operation's own completion,
      which then reports what really happened (io_uring: ``ASYNC_CANCEL``,
      then the original completion). An operation that completed is never
      reported as cancelled: if the completion and the cancellation race,
      the completion wins and the fiber sees the cancellation at its next
      suspension.

Readiness waits
    Shared Unix code tries the non-blocking system call first and waits only
    on ``EAGAIN``, with `wait_readable` / `wait_writable`, which call the
    poller's own methods (see `ReadinessPoller`). A wait may end without the
    descriptor being ready (a stale event): code that makes a blocking call
    after a wait (a pipe that can't be made non-blocking, a pidfd's
    ``waitid``) checks first and waits again. Before closing a descriptor
    that fibers may wait on, call `notify_closing`.

The shared Unix layer
    With a `ReadinessPoller`, a backend needs nothing more:
    ``eio.unix.make_stdenv(backend_id, new_domain_loop)`` builds the whole
    standard environment (sockets, processes, standard streams, files and
    sandboxed directories) on the readiness waits and worker threads. A
    backend that does some operations better passes its own parts (its
    ``net``, its ``cwd`` and ``fs`` directories).

Deadlock
    A self-driven loop raises `Deadlock` (with what each fiber waits on) when
    no fiber is ready, no timer is pending, ``poller.busy()`` is False, no
    operation on another thread is counted in ``loop.pending_external``, and
    no other thread or signal handler could wake it. Work handed to another
    thread must be counted there until its wake-up is queued. A loop with
    only daemon threads left to wake it gives them `DAEMON_GRACE` seconds.
    A host-driven loop applies the same rule with `idle_verdict` each time it
    finds the loop idle, and `Loop.abandon_fibers` closes what is left.

Debugging
    `fiber_tree` shows every switch and fiber and what each waits on;
    `recording(Recorder())` records the loops created inside it (what
    ``eio_main.run(main, trace=...)`` does), and ``EIO_DEBUG=1`` logs fibers
    that run longer than ``EIO_DEBUG_SLOW`` seconds (default 0.1) without
    switching.

Registration
    A backend distribution declares an entry point in the group ``eio``
    naming a module with ``eio_register_backends(registry)``, which calls
    ``registry.register(BackendInfo(...))``.
"""

from ._core._backend import BackendInfo, BackendRegistry, imported_later
from ._core._cancel import ON, CancelContext, CancelFn
from ._core._clocks import sleep_until_monotonic
from ._core._fiber import ExitFn, Fiber
from ._core._loop import (
    MAX_FORK_DEPTH,
    SUSPEND,
    Deadlock,
    InternalThread,
    Loop,
    NoLoopRunning,
    Poller,
    TimerEntry,
    current_fiber,
    current_loop,
    current_loop_or_none,
    describe_deadlock,
    fiber_tree,
    idle_verdict,
    waiting_at,
    walk_fibers,
)
from ._core._readiness import ReadinessPoller, notify_closing, readiness_poller, wait_readable, wait_writable
from ._core._threads import ThreadDomainManager, run_in_systhread
from ._core._trace import trace_prefix
from ._core._tracing import Recorder, recording
from ._core._traps import coroutine_of, fork_raw, suspend, suspend_unchecked, wait, yield_
from ._io_errors import add_context, from_oserror

__all__ = [
    "BackendInfo",
    "BackendRegistry",
    "MAX_FORK_DEPTH",
    "ON",
    "SUSPEND",
    "CancelContext",
    "CancelFn",
    "Deadlock",
    "ExitFn",
    "Fiber",
    "InternalThread",
    "Loop",
    "NoLoopRunning",
    "Poller",
    "ReadinessPoller",
    "Recorder",
    "ThreadDomainManager",
    "TimerEntry",
    "add_context",
    "coroutine_of",
    "current_fiber",
    "current_loop",
    "current_loop_or_none",
    "describe_deadlock",
    "fiber_tree",
    "fork_raw",
    "imported_later",
    "idle_verdict",
    "from_oserror",
    "notify_closing",
    "readiness_poller",
    "recording",
    "run_in_systhread",
    "sleep_until_monotonic",
    "suspend",
    "suspend_unchecked",
    "trace_prefix",
    "wait",
    "wait_readable",
    "wait_writable",
    "waiting_at",
    "walk_fibers",
    "yield_",
]
