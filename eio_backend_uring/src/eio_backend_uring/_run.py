"""Running a main function on an io_uring loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from eio.lowlevel import Loop, coroutine_of

from ._sched import Uring

T = TypeVar("T")


def new_loop() -> tuple[Loop, Uring]:
    """A loop driven by a new ring (one per domain)."""
    uring = Uring()
    return Loop(uring, backend_id="uring"), uring


def run_plain(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``await fn()`` on a new io_uring loop, without an environment."""
    coro = coroutine_of(fn, (), "eio_backend_uring.run_plain")
    loop, uring = new_loop()
    try:
        return cast(T, loop.run(coro))
    finally:
        uring.close()
