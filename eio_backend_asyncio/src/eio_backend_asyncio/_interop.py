"""Calls across the border: asyncio code from eio fibers and eio fibers from asyncio code.

Cancellation crosses both ways and is atomic: each side waits until the other
has really finished before it reports the cancellation, and a call that
completed is reported as completed. An error crosses as the same exception object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, cast

from eio.lowlevel import CancelContext, Fiber, Loop, coroutine_of, current_loop_or_none, suspend

from ._host import AsyncioPoller, host_for

T = TypeVar("T")


def _asyncio_poller_of_current_fiber(who: str) -> AsyncioPoller:
    loop = current_loop_or_none()
    if loop is None or loop.current is None:
        raise RuntimeError(
            f"{who} must be called from an eio fiber running on the asyncio backend "
            "(eio_backend_asyncio.run, run_main or run_eio); here no eio fiber is running"
        )
    poller = loop.poller
    if not isinstance(poller, AsyncioPoller):
        raise RuntimeError(
            f"{who} needs the asyncio backend (eio_backend_asyncio), "
            f"but this fiber runs on the {loop.backend_id or type(poller).__name__!r} backend"
        )
    return poller


async def run_asyncio(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``await fn(*args)`` as an asyncio task of the hosting loop; the fiber waits for it.

    Any asyncio library can be used there. The task's result is returned and
    its exception raised as the same object. Cancelling the fiber cancels
    the task (``task.cancel()``) and waits until it has really ended: if it
    ended cancelled, the fiber raises `eio.Cancelled`; if it finished anyway,
    its outcome is reported as usual.
    """
    poller = _asyncio_poller_of_current_fiber("run_asyncio")
    coro = coroutine_of(fn, args, "run_asyncio")
    outcome: list[asyncio.Task[Any]] = []
    cancelled: list[BaseException] = []

    def register(fiber: Fiber) -> None:
        # Made here, after the cancellation check: a fiber already cancelled starts no task.
        task = poller.aloop.create_task(cast(Coroutine[Any, Any, T], coro))
        poller.calls += 1
        outcome.append(task)

        def done(_: asyncio.Future[Any]) -> None:
            poller.calls -= 1
            fiber.wake(None)
            poller.kick()

        def cancel(error: BaseException) -> None:
            # Stay suspended: only the task's end wakes the fiber.
            cancelled.append(error)
            task.cancel()

        task.add_done_callback(done)
        fiber.cancel_fn = cancel

    try:
        await suspend(register)
    finally:
        if not outcome:
            coro.close()  # never started (the fiber was already cancelled)
    task = outcome[0]
    if task.cancelled():
        if cancelled:
            raise cancelled[0]
        raise asyncio.CancelledError(f"the asyncio task running {getattr(fn, '__qualname__', fn)!r} was cancelled")
    error = task.exception()
    if error is not None:
        raise error
    return cast(T, task.result())


class _Call:
    """One `run_eio` call: the fiber's outcome, handed to the waiting asyncio task."""

    __slots__ = ("future", "result", "error", "ended")

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future
        self.result: object = None
        self.error: BaseException | None = None
        self.ended = False

    def on_exit(self, fiber: Fiber, result: object, error: BaseException | None) -> None:
        fiber.cc.finish()
        self.result = result
        self.error = error
        self.ended = True
        if not self.future.done():
            self.future.set_result(None)

    def fail(self, error: BaseException) -> None:
        """End the call with ``error`` although its fiber never ended (a deadlock: it never will)."""
        if not self.ended:
            self.error = error
            self.ended = True
            if not self.future.done():
                self.future.set_result(None)


async def run_eio(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """From asyncio code: run ``await fn(*args)`` as an eio fiber hosted in the running asyncio loop.

    Every call in one asyncio loop shares one hosted eio loop, so their fibers
    can share promises and streams. The fiber's result is returned and its
    error raised as the same object. Cancelling the calling task cancels the
    fiber (which sees `eio.Cancelled`), waits for it to finish, then raises
    `asyncio.CancelledError` (or the fiber's own error, if it failed otherwise).
    """
    return await run_eio_call(fn, args, owner=False)


async def run_eio_call(fn: Callable[..., Awaitable[T]], args: tuple[Any, ...], owner: bool) -> T:
    """`run_eio`; ``owner``: the program owns the asyncio loop (`run`, `run_plain`), so it watches for deadlocks."""
    aloop = asyncio.get_running_loop()
    poller = host_for(aloop)
    loop = poller.loop
    coro = coroutine_of(fn, args, "run_eio")
    call = _Call(aloop.create_future())
    cc = CancelContext(loop, loop.root_cc, protected=False, name="run_eio")
    fiber = loop.spawn(coro, call.on_exit, cc)
    watch = None
    if owner:
        from ._deadlock import DeadlockWatch

        watch = DeadlockWatch(poller, asyncio.current_task(), call.fail)
        poller.on_idle = watch.idle
        loop.main_fiber = fiber
    poller.kick()
    try:
        await _wait_for_fiber(loop, cc, call)
    finally:
        if watch is not None:
            watch.stop()
            poller.on_idle = None
            loop.main_fiber = None
    if call.error is not None:
        error = call.error
        call.error = None  # no reference cycle through the traceback
        raise error
    return cast(T, call.result)


async def _wait_for_fiber(loop: Loop, cc: CancelContext, call: _Call) -> None:
    """Wait until ``call``'s fiber has ended; a cancellation of the task cancels the fiber first."""
    try:
        await asyncio.shield(call.future)
    except asyncio.CancelledError as ex:
        if not call.ended:

            def cancel_fiber(reason: BaseException = ex) -> None:
                # On the eio loop's own thread, inside a step (cancelling needs both).
                if cc.is_on():
                    cc.cancel(reason)

            loop.call_soon_threadsafe(cancel_fiber)
            while not call.ended:
                try:
                    await asyncio.shield(call.future)
                except asyncio.CancelledError:
                    continue  # cancelled again: the fiber is already being cancelled
        error = call.error
        if error is not None and not isinstance(error, _eio_cancelled()):
            raise error from ex
        raise


def _eio_cancelled() -> type[BaseException]:
    import eio

    return eio.Cancelled


async def run_main(main: Callable[[Any], Awaitable[T]]) -> T:
    """From asyncio code: run ``await main(env)`` with the asyncio backend's whole standard environment.

    The fiber is hosted in the running asyncio loop, as with `run_eio`.
    """
    return await run_main_call(main, owner=False)


async def run_main_call(main: Callable[[Any], Awaitable[T]], owner: bool) -> T:
    """`run_main`; ``owner`` as for `run_eio_call`."""
    from ._env import make_env

    env = make_env(asyncio.get_running_loop())
    return await run_eio_call(main, (env,), owner)
