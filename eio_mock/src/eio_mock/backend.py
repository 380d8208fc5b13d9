"""The mock backend: a deterministic loop with no IO (Eio's ``Eio_mock.Backend``).

`run` runs an async function; `run_full` passes it a whole standard
environment in memory (`MockEnv`, an `eio.Stdenv`): standard streams over
bytes, an in-memory file system and loopback network, scripted child
processes, mock clocks that advance by themselves (to the earliest deadline,
only when no fiber can run) and a seeded random source. The same program,
``stdin`` and ``seed`` give the same output and the same traces every time.
When nothing can run and nothing can wake the loop, `DeadlockDetected` is raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import eio
from eio.lowlevel import Loop, coroutine_of

from ._poller import DeadlockDetected, MockPoller
from .clock import MockClock
from .domain_manager import MockDomainManager
from .fs import MemDir, MemFs, cwd_dir, fs_dir
from .loopback import LoopbackNetwork
from .process import MockProcessManager
from .stdio import InputSource, OutputSink, SeededRandom

__all__ = ["DeadlockDetected", "Debug", "MockEnv", "new_env", "run", "run_full"]

T = TypeVar("T")


class Debug:
    """Debugging helpers (Eio's ``env#debug``): `traceln`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<debug>"

    @staticmethod
    def traceln(*args: object) -> None:
        """`eio.traceln`."""
        eio.traceln(*args)


def _dir_path(d: MemDir) -> eio.Path:
    return eio.Path(d)


@dataclass(eq=False)
class MockEnv:
    """What `run_full` passes to ``main``: a whole `eio.Stdenv` in memory.

    Beyond the standard attributes, ``files`` is the in-memory file system
    (for a test to prepare or inspect, see `eio_mock.fs.MemFs`).
    """

    stdin: InputSource
    stdout: OutputSink
    stderr: OutputSink
    files: MemFs
    cwd: eio.Path
    fs: eio.Path
    net: LoopbackNetwork
    process_mgr: MockProcessManager
    mono_clock: MockClock
    clock: MockClock
    secure_random: SeededRandom
    domain_mgr: MockDomainManager = field(default_factory=MockDomainManager)
    debug: Debug = field(default_factory=Debug)
    backend_id: str = "mock"


def new_env(stdin: bytes | None = b"", seed: int = 0, *, echo: bool = True) -> MockEnv:
    """A fresh mock environment (``stdin=None``: the process's own standard input).

    With ``echo``, what is written to ``stdout`` and ``stderr`` is also passed on to the process's own.
    """
    if stdin is not None and not isinstance(stdin, (bytes, bytearray, memoryview)):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"stdin must be bytes, not {type(stdin).__name__}")
    clock = MockClock()
    files = MemFs(clock.now)
    source = InputSource(None if stdin is None else bytes(stdin))
    out = OutputSink("stdout" if echo else None)
    err = OutputSink("stderr" if echo else None)
    return MockEnv(
        stdin=source,
        stdout=out,
        stderr=err,
        files=files,
        cwd=_dir_path(cwd_dir(files)),
        fs=_dir_path(fs_dir(files)),
        net=LoopbackNetwork(),
        process_mgr=MockProcessManager(source, out, err),
        # The wall clock reads the mono clock, as in Eio: one time line, two views.
        mono_clock=clock,
        clock=clock,
        secure_random=SeededRandom(seed),
    )


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


def run_env(fn: Callable[[MockEnv], Awaitable[T]], env: MockEnv) -> T:
    """Run ``await fn(env)`` on a new mock loop whose idle turns advance ``env``'s clock."""
    coro = coroutine_of(fn, (env,), "eio_mock.backend.run_full")
    loop = new_loop()
    loop.idle_hooks.append(env.mono_clock.try_advance)
    return _run_on(loop, coro)


def run_full(fn: Callable[[MockEnv], Awaitable[T]], stdin: bytes = b"", seed: int = 0) -> T:
    """Run ``await fn(env)`` with a whole standard environment in memory (see the module's docs).

    ``stdin`` is what ``env.stdin`` reads; ``seed`` determines ``env.secure_random``.
    """
    return run_env(fn, new_env(stdin, seed))


def run_process(fn: Callable[[MockEnv], Awaitable[T]]) -> T:
    """`run_full` reading the process's own standard input (what ``EIO_BACKEND=mock`` uses)."""
    return run_env(fn, new_env(None))


if TYPE_CHECKING:
    _ENV_IS: type[eio.Stdenv] = MockEnv
