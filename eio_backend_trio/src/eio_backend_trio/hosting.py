"""The eio loop hosted in a trio run, and the bridges between eio fibers and trio tasks.

One `Host` per trio run (kept in a `trio.lowlevel.RunVar`): its loop is
stepped by a trio system task, the driver, which then waits through trio
(for fiber IO, a timer, or a wake-up from another thread). Every
`run_eio` call of that run adds a root fiber to the same loop, so fibers of
different calls can share promises and streams.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, cast

import eio
import trio
from eio.lowlevel import CancelContext, Deadlock, Fiber, Loop, coroutine_of, current_loop_or_none, idle_verdict, suspend

from ._deadlock import is_trios_own
from .readiness import TrioPoller, new_poller

T = TypeVar("T")

BACKEND_ID = "trio"

# While fibers stay ready, the driver lets trio run (and looks for IO) after
# about this many fiber steps: a trio turn plus an epoll_wait cost several
# fiber switches, and this bounds the delay they see to tens of microseconds.
FIBER_STEPS_PER_TURN = 64


class TrioLoop(Loop):
    """An eio loop hosted by trio. `run` starts a trio run on this thread to host it (a domain's loop)."""

    __slots__ = ()

    def run(self, coro: Coroutine[Any, Any, Any]) -> object:
        """Run ``coro`` as a fiber of this loop inside a new trio run on this thread; return its result."""
        return trio.run(_run_on, self, coro)


def new_loop() -> TrioLoop:
    """A new loop for trio to host (one per trio run)."""
    return TrioLoop(new_poller(), backend_id=BACKEND_ID)


class Host:
    """One trio run's eio loop and the system task that drives it."""

    __slots__ = ("loop", "main", "poller", "_idle_since")

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.poller = cast(TrioPoller, loop.poller)
        # The main fiber's outcome when eio owns the trio run (then a deadlock can be detected).
        self.main: _Outcome | None = None
        self._idle_since = -1.0  # see eio.lowlevel.idle_verdict

    async def drive(self) -> None:
        """Step the loop, then wait through trio; forever (until the trio run ends and cancels it)."""
        loop = self.loop
        poller = self.poller
        step = loop.step
        next_timeout = loop.next_timeout
        run_queue = loop.run_queue
        try:
            while True:
                # Several passes while fibers stay ready, up to a budget of
                # fiber steps: a turn of trio costs a few fiber switches.
                budget = FIBER_STEPS_PER_TURN
                while True:
                    budget -= len(run_queue) + 1
                    step()
                    timeout = next_timeout()
                    if timeout != 0 or budget <= 0:
                        break
                if timeout == 0:
                    # Fibers are still ready: pick up IO without waiting, and
                    # let trio tasks run before the next passes.
                    poller.collect()
                    await trio.lowlevel.checkpoint()
                else:
                    if timeout is None and self.main is not None:
                        timeout = self._check_deadlock()
                    await poller.park(loop, timeout)
                    if run_queue or loop.inbox:
                        self._idle_since = -1.0
        finally:
            poller.close()

    def _check_deadlock(self) -> float | None:
        """The idle loop's verdict: how long to wait before checking again, or None (wait for IO or the end)."""
        loop = self.loop
        main = self.main
        if main is None or main.done.is_set() or self.poller.busy() or loop.pending_external or loop.inbox:
            self._idle_since = -1.0
            return None
        self._idle_since, verdict = idle_verdict(loop, self._idle_since, is_trios_own)
        if not isinstance(verdict, Deadlock):
            return verdict
        # Nothing at all can wake the loop: fail the main call instead of
        # hanging. The fibers are closed inside a step, so that their clean-up
        # (closing descriptors, release hooks) runs as on the loop's own turn.
        loop.call_soon_threadsafe(loop.abandon_fibers)
        loop.step()
        main.error = verdict
        main.done.set()
        return None


_HOST: trio.lowlevel.RunVar[Host] = trio.lowlevel.RunVar("eio_backend_trio.host")


def install(loop: Loop) -> Host:
    """Host ``loop`` in this trio run (its driver starts now); the run must not host one already."""
    host = Host(loop)
    _HOST.set(host)
    trio.lowlevel.spawn_system_task(host.drive, name="eio hosted loop", context=contextvars.Context())
    return host


def current_host() -> Host:
    """This trio run's host, started at first use."""
    try:
        return _HOST.get()
    except LookupError:
        return install(new_loop())


async def _run_on(loop: Loop, coro: Coroutine[Any, Any, Any]) -> object:
    host = install(loop)
    return await _await_fiber(loop, coro, host)


async def run_eio(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """From trio code: ``await fn(*args)`` as an eio fiber hosted in this trio run, and return its result.

    Errors cross as the same exception object. Cancelling the calling trio
    task (a cancel scope) cancels the fiber; the call returns only once the
    fiber has finished, then raises trio's cancellation.
    """
    host = current_host()
    coro = coroutine_of(fn, args, "eio_backend_trio.run_eio")
    return cast(T, await _await_fiber(host.loop, coro))


class _Outcome:
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: object = None
        self.error: BaseException | None = None


async def _await_fiber(loop: Loop, coro: Coroutine[Any, Any, Any], owner: Host | None = None) -> object:
    # Each call's fiber has a cancellation context of its own, so that a trio
    # cancellation of one call cancels only that call's fibers.
    cc = CancelContext(loop, loop.root_cc, protected=False, name="run_eio")
    outcome = _Outcome()

    def on_exit(fiber: Fiber, result: object, error: BaseException | None) -> None:
        cc.finish()
        outcome.result = result
        outcome.error = error
        outcome.done.set()

    fiber = loop.spawn(coro, on_exit, cc)
    if owner is not None:
        # eio owns this trio run: this is the main fiber.
        loop.main_fiber = fiber
        owner.main = outcome
    cast(TrioPoller, loop.poller).kick()
    try:
        await outcome.done.wait()
    except BaseException as host_error:
        # trio cancelled this call (or interrupted it): cancel the fiber, on
        # the loop's own turn, and wait until it has really finished.
        reason = host_error

        def cancel() -> None:
            if cc.state == eio.lowlevel.ON:
                cc.cancel(reason)

        loop.call_soon_threadsafe(cancel)
        with trio.CancelScope(shield=True):
            await outcome.done.wait()
        error = outcome.error
        if error is not None and not isinstance(error, eio.Cancelled):
            raise error
        raise
    if outcome.error is not None:
        error = outcome.error
        outcome.error = None
        raise error
    return outcome.result


class _Call:
    """A `run_trio` call in flight: its trio task's cancel scope and the fiber's cancellation."""

    __slots__ = ("cancelled", "scope")

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.cancelled: BaseException | None = None


def _not_here(loop: Loop | None) -> RuntimeError:
    where = "no eio fiber is running here" if loop is None else f"this fiber runs on the {loop.backend_id!r} backend"
    return RuntimeError(
        "eio_backend_trio.run_trio must be called from an eio fiber on the trio backend "
        f"(eio_backend_trio.run, run_eio or run_main): {where}"
    )


async def run_trio(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """From an eio fiber on the trio backend: ``await fn(*args)`` as trio code, and return its result.

    The fiber waits (other fibers keep running). Errors cross as the same
    exception object. Cancelling the fiber cancels the trio call; the fiber
    waits until that call has really ended, then raises `eio.Cancelled`
    (unless the call completed anyway: then its result is returned).
    """
    loop = current_loop_or_none()
    if loop is None or loop.current is None:
        raise _not_here(None)
    poller = loop.poller
    if not isinstance(poller, TrioPoller):
        raise _not_here(loop)
    call = _Call()

    async def task(fiber: Fiber) -> None:
        error: BaseException | None = None
        result: object = None
        try:
            try:
                with call.scope:
                    result = await coroutine_of(fn, args, "eio_backend_trio.run_trio")
            except BaseException as ex:  # noqa: BLE001 - handed to the fiber as the same object
                if isinstance(ex, trio.Cancelled) and not call.scope.cancel_called:
                    raise  # not ours: the trio run itself is ending
                error = ex
        finally:
            poller.calls -= 1
        if error is not None:
            fiber.wake_error(error)
        elif call.scope.cancelled_caught:
            assert call.cancelled is not None
            fiber.wake_error(call.cancelled)
        else:
            fiber.wake(result)
        poller.kick()

    def register(fiber: Fiber) -> None:
        def cancel(error: BaseException) -> None:
            # Deferred: the fiber is woken by the task once the call has ended.
            call.cancelled = error
            call.scope.cancel()

        fiber.cancel_fn = cancel
        poller.calls += 1
        trio.lowlevel.spawn_system_task(
            task, fiber, name=getattr(fn, "__qualname__", repr(fn)), context=contextvars.copy_context()
        )

    return cast(T, await suspend(register))
