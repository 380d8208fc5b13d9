"""The conformance suite runs every test on every available backend.

`run` runs an async function (no environment) on the backend under test;
`trace` returns the lines `eio.traceln` wrote so far (without the ``+``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, cast

import pytest
from eio.lowlevel import BackendInfo
from eio_main._registry import discover

T = TypeVar("T")


class Runner(Protocol):
    """Runs ``await fn()`` on one backend's loop."""

    def __call__(self, fn: Callable[[], Awaitable[T]], /) -> T: ...


def _available() -> list[BackendInfo]:
    """Every installed backend (its ``eio`` entry point) usable on this machine, by name."""
    infos = sorted(discover().backends.values(), key=lambda info: info.name)
    return [info for info in infos if info.unavailable_reason() is None]


AVAILABLE = _available()
# `run` fixture: every backend that can run a plain function.
BACKENDS: list[tuple[str, Runner]] = [(info.name, info.run_plain) for info in AVAILABLE if info.run_plain is not None]
# Backends whose environment is the real operating system (the mock's is simulated).
OS_BACKENDS: dict[str, Callable[[Callable[[Any], Awaitable[Any]]], Any]] = {
    info.name: info.run for info in AVAILABLE if info.name != "mock"
}


def _start_libuv_once() -> None:
    """libuv opens a process-wide signal pipe with its first loop and keeps it: open it now, before any fd count."""
    try:
        import uvloop
    except ImportError:
        return
    uvloop.new_event_loop().close()


_start_libuv_once()


@pytest.fixture(params=[name for name, _ in BACKENDS])
def backend_name(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    return str(request.param)


@pytest.fixture
def run(backend_name: str) -> Runner:
    """Run an async function on the backend under test."""
    return dict(BACKENDS)[backend_name]


# Every backend's ``run(main)``: the OS backends, and the mock with its in-memory environment.
ENV_BACKENDS: dict[str, Callable[[Callable[[Any], Awaitable[Any]]], Any]] = {info.name: info.run for info in AVAILABLE}


@pytest.fixture(params=sorted(OS_BACKENDS))
def os_backend(request: pytest.FixtureRequest) -> str:
    """The name of an operating-system backend under test (its ``run(main)`` gives ``main`` a real env)."""
    return str(request.param)


@pytest.fixture(params=sorted(ENV_BACKENDS))
def env_backend(request: pytest.FixtureRequest) -> str:
    """The name of any backend under test, the mock included (its env is in memory).

    A test marked ``real_os`` (it needs descriptors, socket options, files on
    disk...) is skipped on the mock.
    """
    name = str(request.param)
    if name == "mock" and request.node.get_closest_marker("real_os") is not None:
        pytest.skip("needs the real operating system (the mock's environment is in memory)")
    return name


def run_env(backend: str, main: Callable[[Any], Awaitable[T]]) -> T:
    """``main(env)`` on the backend ``backend``, with its full environment."""
    return cast(T, ENV_BACKENDS[backend](main))


def run_checked(backend: str, main: Callable[[Any], Awaitable[T]]) -> T:
    """`run_env`, then no descriptor may be left open and no child unreaped (after the domains' threads end)."""
    before = sorted(os.listdir("/proc/self/fd"))
    try:
        return run_env(backend, main)
    finally:
        for t in threading.enumerate():
            if t.name.startswith("eio-domain-"):
                t.join()  # a domain closes its loop just after handing back its result
        assert sorted(os.listdir("/proc/self/fd")) == before
        try:
            assert os.waitpid(-1, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            pass  # no children at all


class Trace:
    """What `eio.traceln` printed, as lines without the leading ``+``."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def lines(self) -> list[str]:
        """The traced lines since the last call (stderr lines starting with ``+``)."""
        err = self._capsys.readouterr().err
        return [line[1:] for line in err.splitlines() if line.startswith("+")]


@pytest.fixture
def trace(capsys: pytest.CaptureFixture[str]) -> Trace:
    """Access to the trace output of the test."""
    return Trace(capsys)
