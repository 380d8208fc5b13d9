"""Waiting for `concurrent.futures` work from a fiber: thread pools, process pools, clusters.

`await_future` suspends the calling fiber until a `concurrent.futures.Future`
is done, without blocking its domain: the future's completion, on whatever
thread completes it, wakes the loop through its inbox. While the wait is
outstanding it is counted in ``loop.pending_external``, so a backend's
deadlock detector knows that another thread will wake the loop.

Only the core's suspend/wake API is used, so every backend supports it.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from ._fiber import Fiber
from ._loop import current_fiber
from ._traps import suspend_unchecked

__all__ = ["await_future", "run_in_executor"]

T = TypeVar("T")


def _check_future(future: object) -> None:
    if not isinstance(future, concurrent.futures.Future):
        raise TypeError(f"await_future: future must be a concurrent.futures.Future, not {type(future).__name__}")


async def await_future(future: concurrent.futures.Future[T]) -> T:
    """Wait for ``future`` and return its result (or raise its exception).

    The calling fiber waits; its domain's other fibers keep running. A future
    that is already done is not waited for (the fiber is not suspended).

    Cancelling the fiber cancels the future if its work has not started
    (``future.cancel()`` succeeds) and raises `eio.Cancelled`. Work that has
    started can't be interrupted: the fiber waits for it to end, discards
    its result and raises `eio.Cancelled`. Work that had already finished
    when the cancellation came is not reported as cancelled: its result is
    returned (the next cancellable operation raises instead).

    The error raised is the future's own exception object (a process pool
    gives a copy made by pickling, with the remote traceback as its cause);
    a future cancelled by someone else raises
    `concurrent.futures.CancelledError`.
    """
    _check_future(future)
    if future.done():
        return future.result()
    fiber = current_fiber()
    loop = fiber.loop
    # Written and read only on the loop's thread (by `cancel` and `finish`).
    cancelled: list[BaseException] = []

    def finish() -> None:  # on the loop's thread
        loop.pending_external -= 1
        if cancelled:
            fiber.wake_error(cancelled[0])
        else:
            fiber.wake(None)

    def done(_: concurrent.futures.Future[T]) -> None:  # on the thread that completed the future
        loop.call_soon_threadsafe(finish)

    def cancel(error: BaseException) -> None:  # on the loop's thread
        if future.done():
            return  # it finished: `finish` is on its way with the result
        cancelled.append(error)
        # Succeeds only if the work has not started; then `done` runs now.
        future.cancel()

    def register(f: Fiber) -> None:
        loop.pending_external += 1
        f.cancel_fn = cancel
        future.add_done_callback(done)
        error = f.cc.get_error()
        if error is not None and f.cancel_fn is not None:
            # Cancelled before waiting: the same as being cancelled while waiting.
            f.cancel_fn = None
            cancel(error)

    await suspend_unchecked(register)
    return future.result()


async def run_in_executor(executor: concurrent.futures.Executor, fn: Callable[..., T], /, *args: object) -> T:
    """Run ``fn(*args)`` on ``executor`` and wait for its result, as `await_future` does.

    ``executor`` is any `concurrent.futures.Executor`: a thread pool, a
    process pool (then ``fn`` and ``args`` must be picklable), or a cluster's
    executor such as ``dask.distributed.Client.get_executor()``. A fiber
    that is already cancelled submits nothing and raises `eio.Cancelled`.
    """
    if not isinstance(executor, concurrent.futures.Executor):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
        raise TypeError(f"run_in_executor: executor must be a concurrent.futures.Executor, not {type(executor).__name__}")
    if not callable(fn):
        raise TypeError(f"run_in_executor: fn must be callable, not {type(fn).__name__}")
    current_fiber().cc.check()
    return await await_future(executor.submit(fn, *args))
