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
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from ._cancel import CancelContext
from ._fiber import Fiber

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
    """What a backend supplies to a loop: a way to wait for the outside world."""

    def poll(self, loop: Loop, timeout: float | None) -> None:
        """Wait for events for at most ``timeout`` seconds (None: no limit; 0: don't block).

        Completed operations wake their fibers. Raise an exception (such as a
        deadlock error) when nothing can ever wake the loop again.
        """
        ...

    def notify(self) -> None:
        """Interrupt a blocking `poll`. Called from other threads and signal handlers."""
        ...

    def close(self) -> None:
        """Release the poller's OS resources."""
        ...


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


class TimerEntry:
    """A pending timer; `cancel` makes it a no-op (it is dropped lazily)."""

    __slots__ = ("deadline", "seq", "callback")

    def __init__(self, deadline: float, seq: int, callback: Callable[[], None] | None) -> None:
        self.deadline: float = deadline
        self.seq: int = seq
        self.callback = callback

    def __lt__(self, other: TimerEntry) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        """Stop the timer from firing."""
        self.callback = None


class Loop:
    """One domain's event loop: run queue, inbox, timers, and the current fiber."""

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
        "idle_hooks",
        "pending_external",
        "main_done",
        "main_result",
        "main_error",
        "backend_id",
        "debug_name",
    )

    def __init__(self, poller: Poller, backend_id: str = "") -> None:
        self.run_queue: deque[Fiber] = deque()
        self.inbox: deque[Fiber | Callable[[], None]] = deque()
        self.current: Fiber | None = None
        self.thread_id: int = 0
        self.poller: Poller = poller
        self.depth: int = 0
        self.root_cc: CancelContext = CancelContext(self, None, protected=False, name="root")
        self.timers: list[TimerEntry] = []
        self.timer_seq: int = 0
        # Called when nothing can run; each returns True if it made progress
        # (the mock clock advances this way).
        self.idle_hooks: list[Callable[[], bool]] = []
        # Operations running outside the loop (on threads) that will wake it.
        self.pending_external: int = 0
        self.main_done: bool = False
        self.main_result: object = None
        self.main_error: BaseException | None = None
        self.backend_id: str = backend_id
        self.debug_name: str = ""

    # -- called from any thread --------------------------------------------

    def notify(self) -> None:
        """Wake the loop if it is blocked waiting for events."""
        self.poller.notify()

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the loop's thread at its next turn."""
        self.inbox.append(fn)
        self.poller.notify()

    # -- timers ---------------------------------------------------------------

    def add_timer(self, deadline: float, callback: Callable[[], None]) -> TimerEntry:
        """Call ``callback()`` once `time.monotonic()` reaches ``deadline``."""
        self.timer_seq += 1
        entry = TimerEntry(deadline, self.timer_seq, callback)
        heapq.heappush(self.timers, entry)
        return entry

    def _fire_timers(self) -> None:
        timers = self.timers
        now = _monotonic()
        while timers:
            entry = timers[0]
            if entry.callback is None:
                heapq.heappop(timers)
            elif entry.deadline <= now:
                heapq.heappop(timers)
                cb = entry.callback
                entry.callback = None
                cb()
            else:
                break

    def _next_timeout(self) -> float | None:
        timers = self.timers
        while timers and timers[0].callback is None:
            heapq.heappop(timers)
        if not timers:
            return None
        return max(0.0, timers[0].deadline - _monotonic())

    # -- fibers ---------------------------------------------------------------

    def start(self, fiber: Fiber) -> None:
        """Run a new fiber's first step now; return when it suspends or ends."""
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
        """Run ``coro`` as the main fiber until it ends; return its result or raise its error."""
        if loop_state.loop is not None:
            coro.close()
            raise RuntimeError("an eio loop is already running in this thread")
        loop_state.loop = self
        self.thread_id = threading.get_ident()
        main = Fiber(self, coro, self.root_cc, contextvars.copy_context(), self._main_exit)
        self.run_queue.append(main)
        try:
            self._run()
        except BaseException:
            self._abandon_fibers()
            raise
        finally:
            loop_state.loop = None
        if self.main_error is not None:
            error = self.main_error
            self.main_error = None
            raise error
        return self.main_result

    def _run(self) -> None:
        q = self.run_queue
        popleft = q.popleft
        inbox = self.inbox
        poller = self.poller
        # `while True` with explicit breaks: CPython 3.11 only specialises a
        # loop's bytecode after unconditional backward jumps.
        steps_since_poll = 0
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
            poller.poll(self, self._next_timeout())
            if inbox:
                self._drain_inbox()
            if self.timers:
                self._fire_timers()

    def _abandon_fibers(self) -> None:
        """Close the coroutines of fibers that can never run again, deepest contexts first.

        Closing throws GeneratorExit into each coroutine so that its ``finally``
        blocks run now, not later from the garbage collector. Within one
        context the last to join is closed first: a switch's owner joined its
        context before the switch's fibers, so they are closed before the
        owner runs the switch's release hooks.
        """
        by_depth: list[tuple[int, int, Fiber]] = []
        seq = 0
        # Iterative walk: a deep tree of contexts must not hit the recursion limit.
        stack: list[tuple[CancelContext, int]] = [(self.root_cc, 0)]
        while stack:
            cc, depth = stack.pop()
            stack.extend((child, depth + 1) for child in reversed(cc.children))
            for f in cc.fibers:
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
