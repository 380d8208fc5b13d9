"""Recording a run: what every fiber did, for `python -m eio.trace` and Perfetto.

Recording is off unless a `Recorder` is active when a loop is created
(`eio_main.run(main, trace=...)`, ``EIO_TRACE``, or `recording`). Then the
loop gets a `LoopTracer`, which instruments it without touching the hot
paths of an unrecorded run:

- each fiber's ``ctx_run`` (the call that steps its coroutine) is wrapped, so
  every run of a fiber becomes a span, and where it then waits is read off
  its suspended coroutine (`waiting_at`);
- the run queue becomes a deque whose ``append`` notes who woke whom (the
  fiber running at the time, or the loop itself for IO, timers and other
  threads);
- fiber creation, cancellation, errors and `traceln` lines are events.

The same wrapper, with ``EIO_DEBUG=1`` (or `slow_fiber_threshold`), reports a
fiber that ran for longer than the threshold without suspending: a blocking
call in a fiber stalls every other fiber of its domain.

The record is Chrome Trace Event JSON: one process per domain, one thread
row per fiber, ``X`` spans for runs, ``i`` instants for trace lines and
cancellations, flow events (``s``/``f``) for wake-ups, and metadata naming
each row. `Recorder.logical` uses a counter instead of the real clock, so
the record of a deterministic run (on the mock backend) is the same every
time.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ._fiber import Fiber

if TYPE_CHECKING:
    from ._loop import Loop

_log = logging.getLogger("eio")

Event = dict[str, Any]


class Recorder:
    """Collects the events of every loop created while it is active (thread-safe)."""

    def __init__(self, logical: bool = False) -> None:
        self.logical = logical
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._tick = 0
        self._t0 = time.perf_counter()
        self._domains = 0

    def now(self) -> float:
        """Microseconds since the recording started (or the next tick, in logical mode)."""
        if self.logical:
            with self._lock:
                self._tick += 1
                return float(self._tick)
        return (time.perf_counter() - self._t0) * 1e6

    def add(self, event: Event) -> None:
        """Record one event."""
        with self._lock:
            self._events.append(event)

    def new_domain(self) -> int:
        """A number for a new loop (shown as a process in the viewer)."""
        with self._lock:
            self._domains += 1
            return self._domains

    def events(self) -> list[Event]:
        """The events so far."""
        with self._lock:
            return list(self._events)

    def to_json(self) -> str:
        """The record as Chrome Trace Event JSON."""
        return json.dumps({"traceEvents": self.events(), "displayTimeUnit": "ms"}, indent=None, separators=(",", ":"))

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the record to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())
            f.write("\n")


# The recorder that new loops attach to, and the debug threshold (seconds; None: off).
active: Recorder | None = None
slow_fiber_threshold: float | None = None


def _debug_threshold_from_env() -> float | None:
    value = os.environ.get("EIO_DEBUG", "")
    if value in ("", "0"):
        return None
    try:
        seconds = float(os.environ.get("EIO_DEBUG_SLOW", "0.1"))
    except ValueError:
        seconds = 0.1
    return seconds


slow_fiber_threshold = _debug_threshold_from_env()


@contextmanager
def recording(recorder: Recorder) -> Generator[Recorder, None, None]:
    """Record every loop created inside the block with ``recorder``."""
    global active
    previous = active
    active = recorder
    try:
        yield recorder
    finally:
        active = previous


class _TracedRunQueue(deque[Fiber]):
    """A run queue that records wake-ups (who made each fiber runnable)."""

    __slots__ = ("tracer",)

    tracer: LoopTracer

    def append(self, fiber: Fiber, /) -> None:
        self.tracer.woken(fiber)
        super().append(fiber)


class LoopTracer:
    """Instruments one loop for a `Recorder` and/or slow-fiber reports."""

    def __init__(self, loop: Loop, recorder: Recorder | None, threshold: float | None) -> None:
        self.loop = loop
        self.recorder = recorder
        self.threshold = threshold
        self.pid: int = recorder.new_domain() if recorder is not None else 0
        self._ids: dict[Fiber, int] = {}
        self._next_id = 0
        # fiber -> (waker id or 0 for the loop, time) of its pending wake-up
        self._wakes: dict[Fiber, tuple[int, float]] = {}
        self._flow = 0
        # Time spent in fibers stepped inside the current step (a fork runs its
        # child nested): a slow child must not make its parent look slow too.
        self._nested: list[float] = []
        if recorder is not None:
            self._meta(0, "loop")
            q = _TracedRunQueue(loop.run_queue)
            q.tracer = self
            loop.run_queue = q

    # -- events ---------------------------------------------------------------

    def _now(self) -> float:
        return self.recorder.now() if self.recorder is not None else 0.0

    def _add(self, event: Event) -> None:
        if self.recorder is not None:
            event["pid"] = self.pid
            self.recorder.add(event)

    def _meta(self, tid: int, name: str) -> None:
        self._add({"ph": "M", "name": "thread_name", "tid": tid, "args": {"name": name}})
        self._add({"ph": "M", "name": "thread_sort_index", "tid": tid, "args": {"sort_index": tid}})

    def fiber_id(self, fiber: Fiber | None) -> int:
        """The row of ``fiber`` (0: the loop itself)."""
        if fiber is None:
            return 0
        return self._ids.get(fiber, 0)

    def created(self, fiber: Fiber, name: str | None = None) -> None:
        """A new fiber: give it a row and wrap its steps."""
        self._next_id += 1
        fid = self._next_id
        self._ids[fiber] = fid
        parent = self.loop.current
        from ._loop import fiber_name

        label = name or fiber_name(fiber)
        self._meta(fid, f"{label} #{fid}")
        self._add(
            {
                "ph": "i",
                "s": "t",
                "name": "created",
                "tid": fid,
                "ts": self._now(),
                "args": {"parent": self.fiber_id(parent), "name": label},
            }
        )
        step = fiber.ctx_run
        tracer = self

        def traced_step(fn: Callable[..., Any], arg: object = None) -> Any:
            return tracer._step(fiber, fid, step, fn, arg)

        fiber.ctx_run = traced_step

    def _step(self, fiber: Fiber, fid: int, step: Callable[..., Any], fn: Callable[..., Any], arg: object) -> Any:
        t0 = self._now()
        wake = self._wakes.pop(fiber, None)
        if wake is not None and wake[0] != fid:
            self._flow += 1
            self._add({"ph": "s", "id": self._flow, "name": "wake", "cat": "wake", "tid": wake[0], "ts": wake[1]})
            self._add({"ph": "f", "id": self._flow, "name": "wake", "cat": "wake", "bp": "e", "tid": fid, "ts": t0})
        c0 = time.perf_counter()
        self._nested.append(0.0)
        outcome = "suspended"
        error: BaseException | None = None
        try:
            return step(fn, arg)
        except StopIteration:
            outcome = "finished"
            raise
        except BaseException as ex:
            outcome = "failed"
            error = ex
            raise
        finally:
            elapsed = time.perf_counter() - c0
            own = elapsed - self._nested.pop()
            if self._nested:
                self._nested[-1] += elapsed
            args: dict[str, object] = {}
            if outcome == "suspended":
                from ._loop import waiting_at

                args["waiting"] = waiting_at(fiber)
            elif error is not None:
                from ._cancel import Cancelled

                if isinstance(error, Cancelled):
                    outcome = "cancelled"
                args["error"] = repr(error)
            if self.recorder is not None:
                t1 = self._now()
                self._add({"ph": "X", "name": "run", "tid": fid, "ts": t0, "dur": max(t1 - t0, 0.0), "args": args})
                if outcome != "suspended":
                    # The id stays: the fiber's exit may still wake others.
                    self._add({"ph": "i", "s": "t", "name": outcome, "tid": fid, "ts": t1, "args": args})
            if self.threshold is not None and own > self.threshold:
                from ._loop import fiber_name

                _log.warning(
                    "fiber %s ran for %.3fs without switching (other fibers of this domain were stalled); then %s %s",
                    fiber_name(fiber),
                    own,
                    outcome,
                    args.get("waiting", args.get("error", "")),
                )

    def woken(self, fiber: Fiber) -> None:
        """``fiber`` was made runnable by the running fiber (or by the loop)."""
        if fiber not in self._wakes:
            self._wakes[fiber] = (self.fiber_id(self.loop.current), self._now())

    def traceln(self, text: str) -> None:
        """A trace line written by the running fiber."""
        self._add(
            {"ph": "i", "s": "t", "name": text, "cat": "traceln", "tid": self.fiber_id(self.loop.current), "ts": self._now()}
        )

    def cancelled(self, name: str, reason: BaseException) -> None:
        """A cancellation context was cancelled."""
        self._add(
            {
                "ph": "i",
                "s": "t",
                "name": "cancel",
                "cat": "cancel",
                "tid": self.fiber_id(self.loop.current),
                "ts": self._now(),
                "args": {"context": name, "reason": repr(reason)},
            }
        )


def attach(loop: Loop) -> LoopTracer | None:
    """The tracer for a new loop, if recording or slow-fiber reports are on."""
    if active is None and slow_fiber_threshold is None:
        return None
    return LoopTracer(loop, active, slow_fiber_threshold)
