"""eio hosted on trio: eio fibers run inside a trio program, and trio code runs from eio fibers.

The eio loop of a trio run is stepped by a trio system task, which waits
through trio between steps, so eio and trio code share one thread and one
event loop. Four entry points:

- ``run(main)``: start trio, run ``main(env)`` (the whole `eio.Stdenv`,
  ``env.backend_id == "trio"``) and return its result;
- ``await run_trio(fn, *args)``: from an eio fiber, run trio code;
- ``await run_eio(fn, *args)``: from trio code, run ``fn`` as an eio fiber;
- ``await run_main(main)``: from trio code, ``main(env)`` with the whole environment.

Errors cross as the same exception object and cancellation crosses both ways.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from eio.lowlevel import coroutine_of

from ._env import new_env, run_main
from ._plugin import unavailable_reason
from .hosting import new_loop, run_eio, run_trio

__all__ = ["run", "run_eio", "run_main", "run_plain", "run_trio", "unavailable_reason"]

T = TypeVar("T")


def run(main: Callable[[Any], Awaitable[T]]) -> T:
    """Start trio, run ``await main(env)`` as an eio fiber with the whole standard environment, return its result.

    If no fiber can ever run again (nothing pending, no thread or signal
    handler that could wake one), raises `eio.Deadlock`.
    """
    coro = coroutine_of(main, (new_env(),), "eio_backend_trio.run")
    return cast(T, new_loop().run(coro))


def run_plain(fn: Callable[[], Awaitable[T]]) -> T:
    """Start trio and run ``await fn()`` as an eio fiber, without an environment (for tests and benchmarks)."""
    coro = coroutine_of(fn, (), "eio_backend_trio.run_plain")
    return cast(T, new_loop().run(coro))
