"""The mock backend: a deterministic loop with no IO (Eio's ``Eio_mock.Backend``).

`run` runs an async function; `run_full` passes it an environment whose clocks
are mock clocks that advance by themselves, to the earliest deadline, only
when no fiber can run. When nothing can run and nothing can wake the loop,
`DeadlockDetected` is raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from eio.lowlevel import Loop, coroutine_of

from ._poller import DeadlockDetected, MockPoller
from .clock import MockClock
from .domain_manager import MockDomainManager

__all__ = ["DeadlockDetected", "MockEnv", "run", "run_full"]

T = TypeVar("T")


@dataclass
class MockEnv:
    """The environment `run_full` passes: mock clocks, a mock domain manager and the backend's name."""

    clock: MockClock = field(default_factory=MockClock)
    mono_clock: MockClock = field(default_factory=MockClock)
    domain_mgr: MockDomainManager = field(default_factory=MockDomainManager)
    backend_id: str = "mock"


def new_loop() -> Loop:
    """A new mock loop (its poller must be closed after use)."""
    return Loop(MockPoller(), backend_id="mock")


def _run_on(loop: Loop, coro: Coroutine[Any, Any, T]) -> T:
    try:
        return cast(T, loop.run(coro))
    finally:
        loop.poller.close()


def run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``await fn()`` on a new mock loop and return its result."""
    coro = coroutine_of(fn, (), "eio_mock.backend.run")
    return _run_on(new_loop(), coro)


def run_full(fn: Callable[[MockEnv], Awaitable[T]]) -> T:
    """Run ``await fn(env)`` with a mock environment whose clocks advance when idle."""
    env = MockEnv()
    # The wall clock reads the mono clock, as in Eio: one time line, two views.
    env.clock = env.mono_clock
    coro = coroutine_of(fn, (env,), "eio_mock.backend.run_full")
    loop = new_loop()
    loop.idle_hooks.append(env.mono_clock.try_advance)
    return _run_on(loop, coro)
