"""The run loop shared by every backend.

A loop owns a run queue of ready fibers, a thread-safe inbox for wake-ups
from other threads, and a heap of timers on the monotonic clock. A backend
supplies a `Poller`, which waits for the outside world. The loop repeats:
run every fiber that is ready now, then ask the poller to wait for IO (not at
all if fibers are ready, else until the next timer), then fire due timers.
"""

from __future__ import annotations

import contextvars
import heapq
import os
import signal
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, Protocol, cast

from ._cancel import CancelContext, Cancelled
from ._fiber import ExitFn, Fiber
from ._tracing import LoopTracer
from ._tracing import attach as attach_tracer

# What the suspend trap yields to the loop. Anything else means the coroutine
# awaited an object from another async library.
SUSPEND = object()

# A child fiber's first step runs nested on the forking fiber's Python stack
# (that is what makes `fork` cheap and run the child first). Past this many
# nested levels the child is queued at the head of the run queue instead, so
# a chain of forks cannot exhaust the interpreter's recursion limit.
MAX_FORK_DEPTH = 100

_monotonic = time.monotonic

# While fibers are ready, the loop looks for IO (without blocking) once at
# least this many fiber steps have run since it last looked.
POLL_EVERY_STEPS = 8


class Poller(Protocol):
    """What a backend supplies to a loop: a way to wait for the outside world.

    The loop calls `poll` only when it drives itself (`Loop.run`); a loop
    hosted by another event loop (`Loop.step`) never blocks in its poller.
    """

    def poll(self, loop: Loop, timeout: float | None) -> None:
        """Wait for events for at most ``timeout`` seconds (None: no limit; 0: don't block).

        Completed operations wake their fibers. The loop never passes None
        unless `busy` said an operation is pending or another thread may
        still wake it (the loop itself reports deadlocks).
        """
        ...

    def busy(self) -> bool:
        """Whether an operation registered with the poller is still pending (its completion will wake a fiber)."""
        ...

    def notify(self) -> None:
        """Interrupt a blocking `poll`. Called from other threads and signal handlers."""
        ...

    def close(self) -> None:
        """Release the poller's OS resources."""
        ...


class Deadlock(RuntimeError):
    """Nothing can run and nothing can ever wake the loop: the program can't finish.

    Raised by `Loop.run` (so by every backend's ``run``) when no fiber is
    ready, no timer is pending, no IO operation is in flight, and no other
    thread could wake the loop. The message lists what each fiber waits on,
    and where.
    """


class _Local(threading.local):
    loop: Loop | None = None


loop_state = _Local()


class NoLoopRunning(RuntimeError):
    """An eio operation was used outside a running eio loop."""


def current_loop() -> Loop:
    """The loop running in this thread (raises `NoLoopRunning` if there is none)."""
    loop = loop_state.loop
    if loop is None:
        raise NoLoopRunning("no eio loop is running in this thread")
    return loop


def current_loop_or_none() -> Loop | None:
    """The loop running in this thread, or None."""
    return loop_state.loop


def current_fiber() -> Fiber:
    """The fiber running now in this thread."""
    loop = loop_state.loop
    if loop is None or loop.current is None:
        raise NoLoopRunning("no eio loop is running in this thread")
    return loop.current


# A blocking poll waits at most this long, so a far-off deadline (a day, or
# 1e300 seconds) never overflows a backend's time representation.
MAX_POLL_WAIT = 3600.0

# While only another thread could still wake the loop, it re-checks this often
# whether that thread is still alive (else the program would hang silently).
THREAD_RECHECK = 0.1

# How long an idle loop waits for a wake-up that only daemon threads could
# send before it reports a deadlock. A non-daemon thread (or a signal handler)
# keeps it waiting as long as it lives; a daemon thread may be a library's
# idle worker that lives forever, so it gets this grace period only.
DAEMON_GRACE = 1.0

# A heap with more cancelled timers than this (and more than half of it) is compacted.
_COMPACT_MIN = 64


class TimerEntry:
    """A pending timer; `cancel` makes it a no-op (the heap drops or compacts it)."""

    __slots__ = ("deadline", "seq", "callback", "loop")

    def __init__(self, deadline: float, seq: int, callback: Callable[[], None] | None, loop: Loop) -> None:
        self.deadline: float = deadline
        self.seq: int = seq
        self.callback = callback
        self.loop: Loop = loop

    def __lt__(self, other: TimerEntry) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        """Stop the timer from firing (own loop thread only; idempotent)."""
        if self.callback is not None:
            self.callback = None
            self.loop.timer_cancelled()


class Loop:
    """One domain's event loop: run queue, inbox, timers, and the current fiber.

    A backend either lets the loop drive itself (`run`: run what is ready,
    then block in the `Poller`) or hosts it in another event loop, which
    calls `step` and then waits itself (for `next_timeout` seconds, or until
    the poller's ``notify`` wakes it).
    """

    __slots__ = (
        "run_queue",
        "inbox",
        "current",
        "thread_id",
        "poller",
        "depth",
        "root_cc",
        "timers",
        "timer_seq",
        "timers_cancelled",
        "idle_hooks",
        "pending_external",
        "main_fiber",
        "main_done",
        "main_result",
        "main_error",
        "backend_id",
        "tracer",
        "next_fiber_name",
        "__weakref__",
    )

    def __init__(self, poller: Poller, backend_id: str = "") -> None:
        self.run_queue: deque[Fiber] = deque()
        self.inbox: deque[Fiber | Callable[[], None]] = deque()
        self.current: Fiber | None = None
        # The thread running this loop's fibers now; 0 while a hosted loop is
        # between steps, so that host code on the same thread wakes fibers
        # through the inbox (and so wakes the host) rather than the run queue.
        self.thread_id: int = 0
        self.poller: Poller = poller
        self.depth: int = 0
        self.root_cc: CancelContext = CancelContext(self, None, protected=False, name="root")
        self.timers: list[TimerEntry] = []
        self.timer_seq: int = 0
        self.timers_cancelled: int = 0
        # Called when nothing can run; each returns True if it made progress
        # (the mock clock advances this way).
        self.idle_hooks: list[Callable[[], bool]] = []
        # Operations running outside the loop (on threads) that will wake it.
        self.pending_external: int = 0
        self.main_fiber: Fiber | None = None
        self.main_done: bool = False
        self.main_result: object = None
        self.main_error: BaseException | None = None
        self.backend_id: str = backend_id
        # A name given to the next fiber forked (eio.fiber.fork(..., name=...)), for tracing.
        self.next_fiber_name: str | None = None
        # Set only while a run is recorded or slow fibers are reported (EIO_DEBUG).
        self.tracer: LoopTracer | None = attach_tracer(self)
        _live_loops.add(self)

    # -- called from any thread --------------------------------------------

    def notify(self) -> None:
        """Wake the loop if it is blocked waiting for events."""
        self.poller.notify()

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the loop's thread at its next turn (any thread, or a signal handler)."""
        self.inbox.append(fn)
        self.poller.notify()

    # -- timers ---------------------------------------------------------------

    def add_timer(self, deadline: float, callback: Callable[[], None]) -> TimerEntry:
        """Call ``callback()`` once `time.monotonic()` reaches ``deadline`` (own loop thread only)."""
        self.timer_seq += 1
        entry = TimerEntry(deadline, self.timer_seq, callback, self)
        heapq.heappush(self.timers, entry)
        return entry

    def timer_cancelled(self) -> None:
        """Count a cancelled timer; compact the heap once most of it is dead.

        Without this, a million ``with_timeout(3600, quick)`` calls would keep
        a million dead entries for an hour.
        """
        n = self.timers_cancelled + 1
        timers = self.timers
        if n > _COMPACT_MIN and n * 2 > len(timers):
            live = [t for t in timers if t.callback is not None]
            heapq.heapify(live)
            timers[:] = live
            n = 0
        self.timers_cancelled = n

    def _fire_timers(self) -> None:
        timers = self.timers
        now = _monotonic()
        while timers:
            entry = timers[0]
            if entry.callback is None:
                heapq.heappop(timers)
                if self.timers_cancelled:
                    self.timers_cancelled -= 1
            elif entry.deadline <= now:
                heapq.heappop(timers)
                cb = entry.callback
                entry.callback = None
                cb()
            else:
                break

    def _timer_wait(self) -> float | None:
        """Seconds until the earliest live timer (None if there is none)."""
        timers = self.timers
        while timers and timers[0].callback is None:
            heapq.heappop(timers)
            if self.timers_cancelled:
                self.timers_cancelled -= 1
        if not timers:
            return None
        return min(max(0.0, timers[0].deadline - _monotonic()), MAX_POLL_WAIT)

    def next_timeout(self) -> float | None:
        """For a host: how long it may wait before the next `step` (0: step again now; None: until notified)."""
        if self.run_queue or self.inbox:
            return 0.0
        return self._timer_wait()

    # -- fibers ---------------------------------------------------------------

    def start(self, fiber: Fiber) -> None:
        """Run a new fiber's first step now; return when it suspends or ends."""
        if self.tracer is not None:
            self.tracer.created(fiber, self.next_fiber_name)
            self.next_fiber_name = None
        if self.depth >= MAX_FORK_DEPTH:
            self.run_queue.appendleft(fiber)
            return
        parent = self.current
        self.depth += 1
        self.current = fiber
        try:
            y = fiber.ctx_run(fiber.send, None)
        except StopIteration as stop:
            # Fiber.exit, inlined: every fork that finishes at once passes here.
            fiber.cc.fibers.pop(fiber, None)
            fiber.on_exit(fiber, stop.value, None)
        except BaseException as ex:  # noqa: BLE001 - the fiber's error goes to its owner
            fiber.exit(None, ex)
        else:
            if y is not SUSPEND:
                self._foreign_await(fiber, y)
        finally:
            self.depth -= 1
            self.current = parent

    def spawn(self, coro: Coroutine[Any, Any, Any], on_exit: ExitFn, cc: CancelContext | None = None) -> Fiber:
        """Queue a new fiber running ``coro`` in ``cc`` (default: the root context).

        For code outside every fiber (a host loop calling into eio, a
        backend's ``run``): the fiber runs at the loop's next pass, in a copy
        of the caller's context variables. ``on_exit(fiber, result, error)``
        must not raise. Call it on the loop's thread (from another thread,
        go through `call_soon_threadsafe`).
        """
        fiber = Fiber(self, coro, cc or self.root_cc, contextvars.copy_context(), on_exit)
        if self.tracer is not None:
            self.tracer.created(fiber)
        self.run_queue.append(fiber)
        return fiber

    def _foreign_await(self, fiber: Fiber, yielded: object) -> None:
        fiber.error = TypeError(
            f"a fiber awaited {yielded!r}, which belongs to another async library; "
            "only eio operations can be awaited in an eio fiber"
        )
        self.run_queue.append(fiber)

    def _drain_inbox(self) -> None:
        inbox = self.inbox
        q = self.run_queue
        while inbox:
            item = inbox.popleft()
            if isinstance(item, Fiber):
                item.cancel_fn = None
                q.append(item)
            else:
                item()

    def _main_exit(self, fiber: Fiber, result: object, error: BaseException | None) -> None:
        self.main_done = True
        self.main_result = result
        self.main_error = error

    def run(self, coro: Coroutine[Any, Any, Any]) -> object:
        """Run ``coro`` as the main fiber until it ends; return its result or raise its error.

        The loop drives itself: it runs every ready fiber, then blocks in its
        poller until IO, a timer or another thread wakes it. It raises
        `Deadlock` when nothing can ever wake it again.
        """
        if loop_state.loop is not None:
            coro.close()
            raise RuntimeError("an eio loop is already running in this thread")
        loop_state.loop = self
        self.thread_id = threading.get_ident()
        self.main_fiber = self.spawn(coro, self._main_exit)
        try:
            try:
                self._run()
            except KeyboardInterrupt:
                self._unwind_after_interrupt()
        except BaseException:
            self.abandon_fibers()
            raise
        finally:
            loop_state.loop = None
            self.thread_id = 0
        if self.main_error is not None:
            error = self.main_error
            self.main_error = None
            if is_interrupt(error):
                # One short traceback for Ctrl-C, not the chain of the
                # cancellations it caused inside the program.
                raise KeyboardInterrupt() from None
            raise error
        return self.main_result

    def _unwind_after_interrupt(self) -> None:
        """Ctrl-C struck the loop itself (usually blocked in its poller): cancel every fiber and let them unwind.

        Fibers run their ``finally`` blocks and switches their release hooks,
        as for any cancellation. A second Ctrl-C (or any failure while
        unwinding) abandons them and ends the program at once.
        """
        self.current = None
        self.depth = 0
        try:
            self.root_cc.cancel(KeyboardInterrupt())
            self._run()
        except BaseException:
            self.abandon_fibers()
            raise KeyboardInterrupt() from None

    def step(self) -> None:
        """One turn of a hosted loop: take wake-ups from the inbox, fire due timers, run each ready fiber once.

        Fibers woken during the pass run at the next step. Between steps the
        host waits (at most `next_timeout` seconds, or until the poller's
        ``notify`` is called) and code it runs is not inside any fiber.
        """
        previous = loop_state.loop
        loop_state.loop = self
        self.thread_id = threading.get_ident()
        try:
            if self.inbox:
                self._drain_inbox()
            if self.timers:
                self._fire_timers()
            self._run_pass()
        finally:
            self.thread_id = 0
            loop_state.loop = previous

    def _run_pass(self) -> None:
        """Run every fiber queued now once (those woken meanwhile wait for the next pass)."""
        q = self.run_queue
        popleft = q.popleft
        n = len(q)
        while True:
            if not n:
                break
            n -= 1
            fiber = popleft()
            self.current = fiber
            error = fiber.error
            try:
                if error is None:
                    value = fiber.value
                    if value is not None:
                        fiber.value = None  # don't keep the value alive
                    y = fiber.ctx_run(fiber.send, value)
                else:
                    fiber.error = None
                    y = fiber.ctx_run(fiber.coro.throw, error)
            except StopIteration as stop:
                fiber.cc.fibers.pop(fiber, None)  # Fiber.exit, inlined
                fiber.on_exit(fiber, stop.value, None)
            except BaseException as ex:  # noqa: BLE001 - the fiber's error goes to its owner
                fiber.exit(None, ex)
            else:
                if y is not SUSPEND:
                    self._foreign_await(fiber, y)
        self.current = None

    def _run(self) -> None:
        q = self.run_queue
        popleft = q.popleft
        inbox = self.inbox
        poller = self.poller
        # `while True` with explicit breaks: CPython 3.11 only specialises a
        # loop's bytecode after unconditional backward jumps. The pass over the
        # run queue is `_run_pass`, written out again here: a call per pass
        # would cost a yield ping-pong about a tenth of its time.
        steps_since_poll = 0
        idle_since = -1.0  # when the loop became idle with only daemon threads left to wake it
        while True:
            n = len(q)
            steps_since_poll += n
            while True:
                if not n:
                    break
                n -= 1
                fiber = popleft()
                self.current = fiber
                error = fiber.error
                try:
                    if error is None:
                        value = fiber.value
                        if value is not None:
                            fiber.value = None  # don't keep the value alive
                        y = fiber.ctx_run(fiber.send, value)
                    else:
                        fiber.error = None
                        y = fiber.ctx_run(fiber.coro.throw, error)
                except StopIteration as stop:
                    fiber.cc.fibers.pop(fiber, None)  # Fiber.exit, inlined
                    fiber.on_exit(fiber, stop.value, None)
                except BaseException as ex:  # noqa: BLE001 - the fiber's error goes to its owner
                    fiber.exit(None, ex)
                else:
                    if y is not SUSPEND:
                        self._foreign_await(fiber, y)
            self.current = None
            if self.main_done:
                break
            if inbox:
                self._drain_inbox()
            if self.timers:
                self._fire_timers()
            if q:
                # Fibers are still ready: look for IO without blocking, but
                # only every POLL_EVERY_STEPS fiber steps. A non-blocking poll
                # costs about one fiber switch, so polling after every short
                # pass would double the cost of a ping-pong; this keeps IO
                # latency to a few microseconds under full load.
                if steps_since_poll >= POLL_EVERY_STEPS:
                    steps_since_poll = 0
                    poller.poll(self, 0.0)
                continue
            # Nothing is ready: let idle hooks (a mock clock) make progress,
            # else block until IO, a timer or another thread wakes us.
            progressed = False
            for hook in self.idle_hooks:
                if hook():
                    progressed = True
                    break
            if progressed or q or inbox:
                continue
            steps_since_poll = 0
            timeout = self._timer_wait()
            if timeout is None and not poller.busy() and not self.pending_external:
                idle_since, verdict = idle_verdict(self, idle_since)
                if isinstance(verdict, Deadlock):
                    raise verdict
                timeout = verdict
            else:
                idle_since = -1.0
            poller.poll(self, timeout)
            if q or inbox:
                idle_since = -1.0
            if inbox:
                self._drain_inbox()
            if self.timers:
                self._fire_timers()

    def abandon_fibers(self) -> None:
        """Close the coroutines of fibers that can never run again, deepest contexts first.

        Closing throws GeneratorExit into each coroutine so that its ``finally``
        blocks run now, not later from the garbage collector. Within one
        context the last to join is closed first: a switch's owner joined its
        context before the switch's fibers, so they are closed before the
        owner runs the switch's release hooks.
        """
        by_depth: list[tuple[int, int, Fiber]] = []
        seq = 0
        for depth, f in walk_fibers(self.root_cc):
            seq += 1
            by_depth.append((depth, seq, f))
        by_depth.sort(key=lambda t: (-t[0], -t[1]))
        self.run_queue.clear()
        for _, _, f in by_depth:
            f.cancel_fn = None
            self.current = f
            try:
                f.ctx_run(f.coro.close)
            except BaseException:  # noqa: BLE001 - best effort: the loop is already failing
                pass
            f.cc.fibers.pop(f, None)
        self.current = None


def is_interrupt(error: BaseException) -> bool:
    """Whether ``error`` is Ctrl-C, or what it caused (a `Cancelled` because of it, a group holding one)."""
    if isinstance(error, KeyboardInterrupt):
        return True
    if isinstance(error, Cancelled):
        return isinstance(error.reason, KeyboardInterrupt)
    if isinstance(error, BaseExceptionGroup):
        group = cast(BaseExceptionGroup[BaseException], error)
        return any(is_interrupt(e) for e in group.exceptions)
    return False


def walk_fibers(root: CancelContext) -> list[tuple[int, Fiber]]:
    """Every fiber in the tree under ``root`` with its depth, contexts in tree order.

    Iterative: a deep tree of contexts must not hit the recursion limit.
    """
    out: list[tuple[int, Fiber]] = []
    stack: list[tuple[CancelContext, int]] = [(root, 0)]
    while stack:
        cc, depth = stack.pop()
        stack.extend((child, depth + 1) for child in reversed(cc.children))
        out.extend((depth, f) for f in cc.fibers)
    return out


# -- who else could wake a loop ------------------------------------------------


class InternalThread(threading.Thread):
    """A thread of eio's own (a systhread worker, a domain).

    The deadlock check ignores these: an idle worker can't wake anyone, and
    a busy one is counted in ``Loop.pending_external``.
    """


def _wakes_nothing(handler: object) -> bool:
    return False


def idle_verdict(
    loop: Loop, idle_since: float, wakes_no_fiber: Callable[[object], bool] = _wakes_nothing
) -> tuple[float, Deadlock | float]:
    """Deadlock detection for a loop found idle: no fiber ready, no timer, nothing busy or pending.

    ``idle_since`` is what the previous call returned while the loop stayed
    idle (-1.0 the first time, or after any fiber ran). Returns the new
    ``idle_since`` and either the `Deadlock` to raise (nothing outside the
    loop can wake it: no other thread, no Python signal handler) or how many
    seconds to wait before asking again (a thread may still wake it; one
    left only with daemon threads fails after `DAEMON_GRACE` seconds).
    ``wakes_no_fiber(handler)`` tells signal handlers of the host (trio's
    or asyncio's Ctrl-C) apart from the program's own. Every loop uses this
    one rule, self-driven or hosted.
    """
    waker = _possible_waker(wakes_no_fiber)
    if waker is None:
        return -1.0, Deadlock(describe_deadlock(loop))
    if waker == "daemon":
        now = _monotonic()
        if idle_since < 0.0:
            return now, THREAD_RECHECK
        if now - idle_since > DAEMON_GRACE:
            return -1.0, Deadlock(describe_deadlock(loop, daemon_threads=True))
        return idle_since, THREAD_RECHECK
    return -1.0, THREAD_RECHECK


def _possible_waker(wakes_no_fiber: Callable[[object], bool] = _wakes_nothing) -> str | None:
    """What outside the loop may still wake it: "thread" (a non-daemon thread or a signal handler), "daemon", or None."""
    me = threading.current_thread()
    daemons = False
    for t in threading.enumerate():
        if t is not me and not isinstance(t, InternalThread) and t.is_alive():
            if not t.daemon:
                return "thread"
            daemons = True
    if me is threading.main_thread():
        # A Python signal handler (other than Ctrl-C's default) may wake a fiber.
        for signum in signal.valid_signals():
            try:
                handler = signal.getsignal(signum)
            except ValueError:
                continue
            if (
                callable(handler)
                and handler is not signal.default_int_handler
                and not getattr(handler, "eio_wakes_no_fiber", False)
                and not wakes_no_fiber(handler)
            ):
                return "thread"
    return "daemon" if daemons else None


def describe_deadlock(loop: Loop, daemon_threads: bool = False) -> str:
    """The message of a `Deadlock`: each fiber, what it waits on and where."""
    lines = ["Deadlock detected: no events scheduled but main function hasn't returned"]
    if daemon_threads:
        names = sorted(t.name for t in threading.enumerate() if t.daemon and not isinstance(t, InternalThread))
        lines.append(
            f"  (no wake-up came for {DAEMON_GRACE:g}s; only daemon threads were left: {', '.join(names)}; "
            "hand work to other threads with eio.run_in_executor or run_in_systhread so the loop counts it)"
        )
    main = loop.main_fiber
    fibers = walk_fibers(loop.root_cc)
    fibers.sort(key=lambda t: t[1] is not main)  # stable: the main fiber first
    for _, f in fibers:
        who = "main fiber" if f is main else f"fiber {fiber_name(f)}"
        lines.append(f"  {who} is waiting {waiting_at(f)}")
    return "\n".join(lines)


# Every loop not yet garbage-collected, for `fiber_tree` dumps on request (SIGQUIT).
_live_loops: weakref.WeakSet[Loop] = weakref.WeakSet()


def fiber_tree(loop: Loop | None = None) -> str:
    """The tree of cancellation contexts (switches) and fibers of ``loop`` (default: every live loop).

    Each fiber is shown with what it waits on and the line it waits at: the
    picture to look at when a program seems stuck.
    """
    loops = [loop] if loop is not None else [lp for lp in list(_live_loops) if lp.main_fiber is not None or lp.root_cc.fibers]
    lines: list[str] = []
    for lp in loops:
        lines.append(f"loop {lp.backend_id or '?'} (thread {lp.thread_id or 'idle'}):")
        stack: list[tuple[CancelContext, int]] = [(lp.root_cc, 1)]
        while stack:
            cc, depth = stack.pop()
            pad = "  " * depth
            state = ("", " (cancelling)", " (finished)")[cc.state]
            lines.append(f"{pad}{cc.name or 'context'}{' [protected]' if cc.protected else ''}{state}")
            for f in cc.fibers:
                who = "main fiber" if f is lp.main_fiber else f"fiber {fiber_name(f)}"
                if f is lp.current:
                    status = "running"
                elif getattr(f.coro, "cr_running", False):
                    status = "running (it started a fiber that is running now)"
                elif f in lp.run_queue:
                    status = "ready"
                else:
                    status = f"waiting {waiting_at(f)}"
                lines.append(f"{pad}  {who}: {status}")
            stack.extend((child, depth + 1) for child in reversed(cc.children))
    return "\n".join(lines)


def fiber_name(fiber: Fiber) -> str:
    """The qualified name of the function a fiber runs."""
    return str(getattr(fiber.coro, "__qualname__", None) or repr(fiber.coro))


_CORE_DIR = os.path.dirname(__file__)


def waiting_at(fiber: Fiber) -> str:
    """Where a suspended fiber waits: the eio operation and the line of the caller's code.

    Found by walking the chain of awaited coroutines, so suspending records
    nothing on the hot path.
    """
    frames: list[FrameType] = []
    obj: object = fiber.coro
    for _ in range(1000):  # a cycle is impossible, but a bound costs nothing
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
        if isinstance(frame, FrameType):
            frames.append(frame)
        nxt = getattr(obj, "cr_await", None)
        if nxt is None:
            nxt = getattr(obj, "gi_yieldfrom", None)
        if nxt is None:
            break
        obj = nxt
    if not frames:
        return "(not started)"
    # The operation: the innermost frame outside the run loop's traps.
    op = frames[-1]
    for f in reversed(frames):
        if f.f_code.co_name not in ("wait", "suspend", "suspend_unchecked"):
            op = f
            break
    caller = None
    for f in reversed(frames):
        if not f.f_code.co_filename.startswith(_EIO_DIR):
            caller = f
            break
    what = f"in {op.f_code.co_qualname}"
    if caller is not None and caller is not op:
        what += f" at {caller.f_code.co_filename}:{caller.f_lineno} ({caller.f_code.co_qualname})"
    elif caller is not None:
        what += f" at {caller.f_code.co_filename}:{caller.f_lineno}"
    return what


_EIO_DIR = os.path.dirname(_CORE_DIR)
