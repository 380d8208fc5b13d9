"""The traps: suspend, fork and get the current context (Eio's three effects).

A fiber gives control to the run loop only by yielding `SUSPEND`: `wait` and
`suspend` here do it, and `Promise.__await__` does it inline (one frame less
per await). Everything else that waits (streams, sleeping, IO) is built on
`suspend`. Forking and reading the current fiber need no yield: they use the
loop's state directly.
"""

from __future__ import annotations

import contextvars
import inspect
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable
from typing import Any, cast

from ._cancel import ON, CancelContext
from ._fiber import ExitFn, Fiber
from ._loop import SUSPEND, NoLoopRunning, current_fiber, current_loop, loop_state

__all__ = [
    "SUSPEND",
    "check_async_fns",
    "coroutine_of",
    "current_fiber",
    "fork_raw",
    "suspend",
    "suspend_unchecked",
    "wait",
    "yield_",
]


@types.coroutine
def wait() -> Generator[object, object, Any]:
    """Give control to the loop until the current fiber is woken.

    The caller must already have arranged to be woken (and set
    ``fiber.cancel_fn`` if the wait is cancellable): this is the raw trap.
    Returns the value passed to `Fiber.wake`, or raises the error passed to
    `Fiber.wake_error`.
    """
    return (yield SUSPEND)


async def suspend(register: Callable[[Fiber], None]) -> Any:
    """Suspend the current fiber (Eio's ``Suspend.enter``).

    If the fiber's context is already cancelled, the fiber goes to the back
    of the run queue and then raises `Cancelled`; otherwise ``register(fiber)``
    arranges for the fiber to be woken (and should set ``fiber.cancel_fn``).
    """
    fiber = current_fiber()
    cc = fiber.cc
    if cc.state != ON:
        error = cc.get_error()
        assert error is not None
        fiber.wake_error(error)
    else:
        register(fiber)
    return await wait()


async def suspend_unchecked(register: Callable[[Fiber], None]) -> Any:
    """Like `suspend`, but without checking for cancellation first."""
    register(current_fiber())
    return await wait()


@types.coroutine
def yield_() -> Generator[object, object, None]:
    """Let other ready fibers run; this fiber goes to the back of the run queue.

    Cancellation is checked after resuming. (A generator-based coroutine: one
    object and one frame per call instead of two, on the hottest path there is.)
    """
    loop = loop_state.loop
    if loop is None or loop.current is None:
        raise NoLoopRunning("no eio loop is running in this thread")
    fiber = loop.current
    loop.run_queue.append(fiber)
    yield SUSPEND
    cc = fiber.cc
    if cc.state != ON:
        cc.check()


# The type of native coroutines, typed so that `type(x) is COROUTINE_TYPE` narrows fully.
COROUTINE_TYPE: type[Coroutine[Any, Any, Any]] = types.CoroutineType


def coroutine_of(fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], who: str) -> Coroutine[Any, Any, Any]:
    """Call the async function ``fn(*args)``, checking it really gave a coroutine.

    Misuse is reported clearly: a coroutine object passed instead of the
    function, or a plain function that returns something else.
    """
    if type(fn) is types.CoroutineType:
        raise _coroutine_given(cast(Coroutine[Any, Any, Any], fn), who)
    coro = fn(*args)
    if type(coro) is COROUTINE_TYPE:
        return coro
    return as_coroutine(coro, fn, who)


def as_coroutine(result: object, fn: object, who: str) -> Coroutine[Any, Any, Any]:
    """``result`` (what ``fn`` returned) as a coroutine, or a clear `TypeError` if it isn't one."""
    if isinstance(result, Coroutine):
        return cast(Coroutine[Any, Any, Any], result)  # a user-defined coroutine type
    if inspect.isawaitable(result):
        # A generator-based coroutine (such as eio.fiber.yield_) or another
        # awaitable: the fiber runs a coroutine that awaits it.
        return _awaiting(result)
    name = getattr(fn, "__qualname__", repr(fn))
    raise TypeError(f"{who} expects an async function, but {name} returned {type(result).__name__}, not a coroutine")


async def _awaiting(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _coroutine_given(coro: Coroutine[Any, Any, Any], who: str) -> TypeError:
    coro.close()  # it will never run; closing it avoids a "never awaited" warning
    name = getattr(coro, "__qualname__", "?")
    return TypeError(
        f"{who} expects an async function, but got a coroutine object {name}(); "
        "pass the function itself (and its arguments), not the result of calling it"
    )


def check_async_fns(fns: Iterable[object], who: str) -> None:
    """Raise a clear `TypeError` if any of ``fns`` is a coroutine object rather than a function.

    Every coroutine object among them is closed first, since none will run.
    """
    for f in fns:
        if type(f) is COROUTINE_TYPE:
            errors = [_coroutine_given(g, who) for g in fns if type(g) is COROUTINE_TYPE]
            raise errors[0]


def fork_raw(cc: CancelContext, coro: Coroutine[Any, Any, Any], on_exit: ExitFn) -> Fiber:
    """Start a new fiber in ``cc`` running ``coro`` (Eio's ``Fork`` effect).

    The new fiber runs at once, in a copy of the caller's context variables,
    until it first suspends or ends; then the caller continues. ``on_exit``
    must not raise.
    """
    loop = current_loop()
    fiber = Fiber(loop, coro, cc, contextvars.copy_context(), on_exit)
    loop.start(fiber)
    return fiber
