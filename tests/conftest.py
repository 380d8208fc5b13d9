"""The conformance suite runs every test on every available backend.

`run` runs an async function (no environment) on the backend under test;
`trace` returns the lines `eio.traceln` wrote so far (without the ``+``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import pytest

import eio_mock

T = TypeVar("T")


class Runner(Protocol):
    """Runs ``await fn()`` on one backend's loop."""

    def __call__(self, fn: Callable[[], Awaitable[T]], /) -> T: ...


def _backends() -> list[tuple[str, Runner]]:
    backends: list[tuple[str, Runner]] = [("mock", eio_mock.backend.run)]
    try:
        import eio_backend_uring

        run_plain = getattr(eio_backend_uring, "run_plain", None)
        if run_plain is not None and getattr(eio_backend_uring, "unavailable_reason", lambda: "missing")() is None:
            backends.append(("uring", run_plain))
    except ImportError:
        pass
    try:
        import eio_backend_asyncio
        from eio_backend_asyncio._plugin import uvloop_unavailable_reason

        backends.append(("asyncio", eio_backend_asyncio.run_plain))
        if uvloop_unavailable_reason() is None:
            import uvloop

            def run_uvloop(fn: Callable[[], Awaitable[T]], /) -> T:
                return eio_backend_asyncio.run_plain(fn, loop_factory=uvloop.new_event_loop)

            backends.append(("asyncio-uvloop", run_uvloop))
    except ImportError:
        pass
    return backends


BACKENDS = _backends()


@pytest.fixture(params=[name for name, _ in BACKENDS])
def backend_name(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    return str(request.param)


@pytest.fixture
def run(backend_name: str) -> Runner:
    """Run an async function on the backend under test."""
    return dict(BACKENDS)[backend_name]


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
