"""``eio_main.run(main)``: run an eio program on the best backend installed here.

Backends are separate distributions found through the ``eio`` entry-point
group (see `eio.lowlevel.BackendInfo`). Choice: ``backend=`` or the
``EIO_BACKEND`` environment variable forces one (and fails loudly, naming
what is installed, if it is missing or can't run here: a forced backend
never falls back); otherwise the available backend with the highest
priority wins: uring (Linux with a usable io_uring), windows (win32), trio.
The mock backend is only used when asked for by name.

``eio_main.serve_processes`` serves one TCP port from several worker
processes, each running its own loop on the best backend.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from eio.lowlevel import BackendInfo, Recorder, fiber_tree, recording

from ._registry import Registry, discover

if TYPE_CHECKING:
    from ._server_processes import ServerProcesses, WorkerExited, serve_processes

__all__ = [
    "BackendNotInstalled",
    "BackendUnavailable",
    "NoBackendAvailable",
    "ServerProcesses",
    "WorkerExited",
    "choose",
    "run",
    "serve_processes",
]

T = TypeVar("T")

# The distributions to suggest, by backend name, when one is asked for but missing.
KNOWN_DISTRIBUTIONS = {
    "uring": "eio-backend-uring",
    "trio": "eio-backend-trio",
    "windows": "eio-backend-windows",
    "mock": "eio-mock",
}


class BackendError(RuntimeError):
    """No backend could be chosen."""


class BackendNotInstalled(BackendError):
    """The backend asked for is not installed."""


class BackendUnavailable(BackendError):
    """The backend asked for is installed but can't be used on this machine."""


class NoBackendAvailable(BackendError):
    """No installed backend can be used on this machine."""


def _installed(registry: Registry) -> str:
    names = sorted(registry.backends)
    return ", ".join(names) if names else "none"


def choose(backend: str | None = None, *, registry: Registry | None = None) -> BackendInfo:
    """The backend `run` would use (same rules, same errors)."""
    registry = registry if registry is not None else discover()
    name = backend if backend is not None else os.environ.get("EIO_BACKEND") or None
    if name is not None:
        info = registry.backends.get(name)
        if info is None:
            dist = KNOWN_DISTRIBUTIONS.get(name, f"eio-backend-{name}")
            raise BackendNotInstalled(
                f"eio backend {name!r} was asked for but is not installed "
                f"(installed: {_installed(registry)}); install it with: pip install {dist}"
            )
        reason = info.unavailable_reason()
        if reason is not None:
            raise BackendUnavailable(f"eio backend {name!r} was asked for but can't be used here: {reason}")
        return info
    reasons: list[str] = []
    for info in sorted(registry.backends.values(), key=lambda b: -b.priority):
        if not info.auto:
            continue
        reason = info.unavailable_reason()
        if reason is None:
            return info
        reasons.append(f"{info.name}: {reason}")
    detail = "; ".join(reasons) if reasons else "no backend that runs by default is installed"
    raise NoBackendAvailable(
        f"no eio backend can run here ({detail}); installed: {_installed(registry)}. "
        "Install one, e.g. pip install eio-backend-trio"
    )


def run(
    main: Callable[[Any], Awaitable[T]],
    *,
    backend: str | None = None,
    trace: str | os.PathLike[str] | None = None,
) -> T:
    """Run ``await main(env)`` on the chosen backend and return what it returns.

    ``env`` is the backend's standard environment (an `eio.Stdenv`).
    ``trace`` (or the ``EIO_TRACE`` environment variable) records the run as
    Chrome Trace Event JSON in that file, for Perfetto or
    ``python -m eio.trace FILE -o run.svg`` (on the mock backend, times in
    the record are logical ticks). On the main thread, ``SIGQUIT``
    (Ctrl-\\) prints the tree of fibers and what each waits on, to stderr.
    """
    info = choose(backend)
    trace = trace if trace is not None else (os.environ.get("EIO_TRACE") or None)
    try:
        with _sigquit_dumps_fibers():
            if trace is None:
                return cast(T, info.run(main))
            # On the mock backend a tick per event replaces the clock, so a
            # deterministic program records the same file every time.
            recorder = Recorder(logical=info.name == "mock")
            try:
                with recording(recorder):
                    return cast(T, info.run(main))
            finally:
                recorder.write(trace)
    except KeyboardInterrupt:
        # Ctrl-C: the backend has already cancelled and unwound every fiber;
        # show the user one line at their own call, not the backend's frames.
        raise KeyboardInterrupt() from None


@contextmanager
def _sigquit_dumps_fibers() -> Generator[None, None, None]:
    """While the block runs, SIGQUIT prints `eio.lowlevel.fiber_tree` instead of killing the process."""
    sigquit = getattr(signal, "SIGQUIT", None)
    if (
        sigquit is None
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(sigquit) is not signal.SIG_DFL
    ):
        yield
        return

    def dump(_signum: int, _frame: object) -> None:
        sys.stderr.write(fiber_tree() + "\n")
        sys.stderr.flush()

    # Printing the tree wakes no fiber: the deadlock check may ignore this handler.
    dump.eio_wakes_no_fiber = True  # type: ignore[attr-defined]  # a marker attribute on a plain function
    signal.signal(sigquit, dump)
    try:
        yield
    finally:
        signal.signal(sigquit, signal.SIG_DFL)


_LAZY = frozenset({"ServerProcesses", "WorkerExited", "serve_processes"})


def __getattr__(name: str) -> Any:
    # The multi-process server pulls in multiprocessing: loaded on first use only.
    if name in _LAZY:
        from . import _server_processes

        return getattr(_server_processes, name)
    raise AttributeError(f"module 'eio_main' has no attribute {name!r}")
