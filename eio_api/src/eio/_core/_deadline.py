"""Deadlines: a block whose operations are cancelled when a clock reaches a time.

`DeadlineScope` is the mechanism under `eio.time.with_timeout`,
`move_on_after` and `fail_after`. The block runs in a new cancellation
context; a timer cancels that context when the deadline comes, with a reason
unique to the scope. On the way out, only a `Cancelled` carrying that very
reason is turned into a timeout. So the outcome is atomic: an operation that
completed (a `Stream.take` that got an item, a read that got bytes) returns
its result even if the deadline came in the same scheduler pass, and the
code after it runs on; a timeout is reported only when the block was really
stopped by the deadline, and then the interrupted operation had no effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from ._cancel import ON, CancelContext, Cancelled
from ._fiber import Fiber
from ._loop import current_fiber
from ._traps import fork_raw


class TimerHandle(Protocol):
    """A pending timer: `cancel` stops it from firing."""

    def cancel(self) -> None:
        """Stop the timer (idempotent; own loop thread only)."""
        ...


class _Clock(Protocol):
    """What a deadline needs from a clock: the time now and a way to wait for one."""

    def now(self) -> float:
        """The clock's current time in seconds."""
        ...

    async def sleep_until(self, deadline: float, /) -> None:
        """Return once the clock reads ``deadline`` or later."""
        ...


def check_duration(seconds: object, who: str) -> float:
    """``seconds`` as a duration: ``inf`` is forever, NaN a `ValueError`, a negative one 0."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{who}: the duration must be a number of seconds, got {type(seconds).__name__} {seconds!r}")
    if math.isnan(seconds):
        raise ValueError(f"{who}: the duration is NaN")
    return float(seconds) if seconds > 0 else 0.0


def check_deadline(deadline: object, who: str) -> float:
    """``deadline`` as a time: ``inf`` is never, NaN a `ValueError`."""
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)):
        raise TypeError(f"{who}: the deadline must be a number, got {type(deadline).__name__} {deadline!r}")
    if math.isnan(deadline):
        raise ValueError(f"{who}: the deadline is NaN")
    return float(deadline)


class _Stopped(Exception):
    """Why a deadline's helper fiber is cancelled: the block ended first."""


class _FiberTimer:
    """A timer on a clock that offers only ``sleep_until``: a helper fiber sleeps, then fires."""

    __slots__ = ("_cc",)

    def __init__(
        self, clock: _Clock, deadline: float, fire: Callable[[], None], failed: Callable[[BaseException], None], who: str
    ) -> None:
        fiber = current_fiber()
        self._cc = cc = CancelContext(fiber.loop, fiber.cc, protected=False, name="deadline timer")

        async def sleeper() -> None:
            await clock.sleep_until(deadline)
            fire()

        def on_exit(_f: Fiber, _result: object, error: BaseException | None) -> None:
            cc.finish()
            if error is not None and not isinstance(error, Cancelled):
                failed(error)

        fiber.loop.next_fiber_name = f"{who} timer"
        fork_raw(cc, sleeper(), on_exit)

    def cancel(self) -> None:
        if self._cc.state == ON:
            self._cc.cancel(_Stopped())


def start_timer(
    clock: _Clock, deadline: float, fire: Callable[[], None], failed: Callable[[BaseException], None], who: str
) -> TimerHandle:
    """Call ``fire()`` on the loop once ``clock`` reaches ``deadline``.

    Clocks may offer ``call_at(deadline, callback) -> handle`` (eio's own
    clocks do: no fiber, no switch); for any other clock a helper fiber
    sleeps on it, and ``failed(error)`` is called if its sleep raises.
    """
    call_at: Callable[[float, Callable[[], None]], TimerHandle] | None = getattr(clock, "call_at", None)
    if call_at is not None:
        return call_at(deadline, fire)
    return _FiberTimer(clock, deadline, fire, failed, who)


class DeadlineScope:
    """A block whose operations are cancelled when ``clock`` reaches a deadline.

    ``cancelled_caught`` is True only if the deadline cancelled an operation
    of the block (the block was stopped); it stays False when the block
    finished first, even if the deadline passed in the same scheduler pass.
    The deadline cancels the block's context with ``make_reason()`` as the
    reason; with ``fail`` set, a block stopped by the deadline raises that
    same exception instead of ending quietly.
    """

    __slots__ = (
        "_clock",
        "_seconds",
        "_fail",
        "_make_reason",
        "_who",
        "_fiber",
        "_parent",
        "_cc",
        "_timer",
        "_reason",
        "_timer_error",
        "deadline",
        "cancelled_caught",
    )

    def __init__(
        self,
        clock: _Clock,
        seconds: float,
        who: str,
        make_reason: Callable[[], BaseException],
        fail: bool = False,
    ) -> None:
        self._clock = clock
        self._seconds = check_duration(seconds, who)
        self._fail = fail
        self._make_reason = make_reason
        self._who = who
        self._fiber: Fiber | None = None
        self._parent: CancelContext | None = None
        self._cc: CancelContext | None = None
        self._timer: TimerHandle | None = None
        self._reason: BaseException | None = None
        self._timer_error: BaseException | None = None
        self.deadline: float = math.inf
        self.cancelled_caught: bool = False

    def __repr__(self) -> str:
        return f"<{self._who} {self._seconds:g}s>"

    def __enter__(self) -> DeadlineScope:
        if self._fiber is not None:
            raise RuntimeError(f"{self._who}: a deadline scope can only be entered once")
        fiber = current_fiber()
        parent = fiber.cc
        if parent.state != ON:
            parent.check()
        cc = CancelContext(fiber.loop, parent, protected=False, name=self._who)
        fiber.move_to(cc)
        self._fiber, self._parent, self._cc = fiber, parent, cc
        if self._seconds != math.inf:
            self.deadline = self._clock.now() + self._seconds
            self._timer = start_timer(self._clock, self.deadline, self._expire, self._failed, self._who)
        return self

    def _expire(self) -> None:
        self._timer = None
        cc = self._cc
        if cc is not None and cc.state == ON:
            self._reason = self._make_reason()
            cc.cancel(self._reason)

    def _failed(self, error: BaseException) -> None:
        # The clock's sleep raised: stop the block and report that error.
        self._timer = None
        self._timer_error = error
        cc = self._cc
        if cc is not None and cc.state == ON:
            cc.cancel(error)

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        fiber, parent, cc = self._fiber, self._parent, self._cc
        assert fiber is not None and parent is not None and cc is not None
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()
        if fiber.cc is not cc:
            raise RuntimeError(f"{self._who}: blocks must be exited in the order they were entered")
        fiber.move_to(parent)
        cc.finish()
        if not isinstance(exc, Cancelled):
            return False
        if self._timer_error is not None and exc.reason is self._timer_error:
            raise self._timer_error
        if self._reason is None or exc.reason is not self._reason:
            return False  # cancelled by something else (a parent, a sibling's failure)
        self.cancelled_caught = True
        if self._fail:
            raise self._reason from None
        return True
