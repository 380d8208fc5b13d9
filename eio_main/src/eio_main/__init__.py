"""``eio_main.run(main)``: run an eio program on the best backend installed here.

Backends are separate distributions found through the ``eio`` entry-point
group (see `eio.lowlevel.BackendInfo`). Choice: ``backend=`` or the
``EIO_BACKEND`` environment variable forces one (and fails loudly, naming
what is installed and what to install, if it is missing or can't run here:
a forced backend never falls back); otherwise the available backend with the
highest priority wins: uring (Linux with a usable io_uring), windows (win32),
trio. The mock backend is only used when asked for by name.

``main`` must accept an `eio.Stdenv` (or a Protocol with fewer attributes
that every ``Stdenv`` satisfies); pyright rejects any other ``main``.

``eio_main.serve_processes`` serves one TCP port from several worker
processes, each running its own loop on the best backend.
"""

from __future__ import annotations

import difflib
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import eio
from eio.lowlevel import BackendInfo, Recorder, coroutine_of, fiber_tree, recording

from ._registry import Registry, discover

if TYPE_CHECKING:
    from ._server_processes import ServerProcesses, WorkerExited, serve_processes

__all__ = [
    "BACKENDS",
    "BackendError",
    "BackendNotInstalled",
    "BackendUnavailable",
    "IncompleteEnvironment",
    "KnownBackend",
    "NoBackendAvailable",
    "ServerProcesses",
    "WorkerExited",
    "choose",
    "install_hint",
    "run",
    "serve_processes",
]

T = TypeVar("T")


@dataclass(frozen=True)
class KnownBackend:
    """A backend this project knows of: its distribution, the ``eio-main`` extra that installs it, where it runs."""

    name: str
    distribution: str
    released: bool
    """Whether the distribution exists yet (hints only name released ones)."""
    platforms: tuple[str, ...] = ()
    """The ``sys.platform`` prefixes it is the default for (empty: used only when asked for)."""

    def install_command(self) -> str:
        """``pip install "eio-main[uring]"``: the extra keeps eio-main and the backend in step."""
        return f'pip install "eio-main[{self.name}]"'


# The one table of backends that hints may name. A backend being built is listed
# with released=False: flip it when its distribution is a workspace member and an
# eio-main extra (eio_main/pyproject.toml) names it.
BACKENDS: dict[str, KnownBackend] = {
    b.name: b
    for b in (
        # In the order of preference: a platform's hint names the first that runs there.
        KnownBackend("uring", "eio-backend-uring", released=True, platforms=("linux",)),
        KnownBackend("windows", "eio-backend-windows", released=True, platforms=("win32",)),
        KnownBackend("mock", "eio-mock", released=True),
        KnownBackend("trio", "eio-backend-trio", released=True, platforms=("linux", "darwin", "win32", "freebsd")),
        KnownBackend("asyncio", "eio-backend-asyncio", released=True),
    )
}

# Every attribute of `eio.Stdenv`, checked on the environment a backend hands to ``main``.
STDENV_ATTRIBUTES = (
    "stdin", "stdout", "stderr", "cwd", "fs", "net", "process_mgr", "domain_mgr",
    "clock", "mono_clock", "secure_random", "debug", "backend_id",
)  # fmt: skip


class BackendError(RuntimeError):
    """No backend could be chosen."""


class BackendNotInstalled(BackendError):
    """The backend asked for is not installed (or no backend of that name exists)."""


class BackendUnavailable(BackendError):
    """The backend asked for is installed but can't be used on this machine."""


class NoBackendAvailable(BackendError):
    """No installed backend can be used on this machine."""


class IncompleteEnvironment(BackendError, TypeError):
    """A backend handed ``main`` an environment that lacks part of `eio.Stdenv` (a bug in that backend)."""


def _installed(registry: Registry) -> str:
    names = sorted(registry.backends)
    return ", ".join(names) if names else "none"


def install_hint(name: str, platform: str | None = None) -> str:
    """What to tell a user who asked for backend ``name``: how to install it, or what they may have meant."""
    known = BACKENDS.get(name)
    if known is None:
        close = difflib.get_close_matches(name, list(BACKENDS), n=3, cutoff=0.5)
        names = ", ".join(sorted(BACKENDS))
        if close:
            return f"no backend is called {name!r}; did you mean {' or '.join(map(repr, close))}? (known backends: {names})"
        return f"no backend is called {name!r} (known backends: {names})"
    if not known.released:
        return f"{known.distribution} is not released yet; {_platform_hint(platform)}"
    return f"install it with: {known.install_command()}"


def _platform_hint(platform: str | None = None) -> str:
    """The released backend to install on ``platform`` (default: this one), or the mock as a last resort."""
    platform = platform if platform is not None else sys.platform
    for known in BACKENDS.values():
        if known.released and any(platform.startswith(p) for p in known.platforms):
            return f"install the backend for this platform with: {known.install_command()}"
    mock = BACKENDS["mock"]
    return (
        f"no backend for {platform} is released yet; the in-memory mock backend runs anywhere: "
        f"{mock.install_command()}, then EIO_BACKEND=mock"
    )


def choose(backend: str | None = None, *, registry: Registry | None = None) -> BackendInfo:
    """The backend `run` would use (same rules, same errors)."""
    registry = registry if registry is not None else discover()
    name = backend if backend is not None else os.environ.get("EIO_BACKEND") or None
    if name is not None:
        info = registry.backends.get(name)
        if info is None:
            raise BackendNotInstalled(
                f"eio backend {name!r} was asked for but is not installed "
                f"(installed: {_installed(registry)}); {install_hint(name)}"
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
    hint = _platform_hint()
    raise NoBackendAvailable(
        f"no eio backend can run here ({detail}); installed: {_installed(registry)}. {hint[0].upper()}{hint[1:]}"
    )


def _checked(info: BackendInfo, main: Callable[[eio.Stdenv], Awaitable[T]]) -> Callable[[eio.Stdenv], Awaitable[T]]:
    async def checked_main(env: eio.Stdenv) -> T:
        missing = [a for a in STDENV_ATTRIBUTES if not hasattr(env, a)]
        if missing:
            raise IncompleteEnvironment(
                f"the {info.name!r} backend ({info.distribution}) gave main an environment without "
                f"{', '.join(missing)}: it is not a whole eio.Stdenv"
            )
        return await coroutine_of(main, (env,), "eio_main.run")

    # The main fiber keeps the program's own name (in recorded runs and deadlock reports).
    checked_main.__name__ = getattr(main, "__name__", checked_main.__name__)
    checked_main.__qualname__ = getattr(main, "__qualname__", checked_main.__qualname__)
    return checked_main


def run(
    main: Callable[[eio.Stdenv], Awaitable[T]],
    *,
    backend: str | None = None,
    trace: str | os.PathLike[str] | None = None,
) -> T:
    """Run ``await main(env)`` on the chosen backend and return what it returns.

    ``env`` is the backend's standard environment, a whole `eio.Stdenv`.
    ``trace`` (or the ``EIO_TRACE`` environment variable) records the run as
    Chrome Trace Event JSON in that file, for Perfetto or
    ``python -m eio.trace FILE -o run.svg`` (on the mock backend, times in
    the record are logical ticks). On the main thread, ``SIGQUIT``
    (Ctrl-\\) prints the tree of fibers and what each waits on, to stderr.
    """
    info = choose(backend)
    checked = _checked(info, main)
    trace = trace if trace is not None else (os.environ.get("EIO_TRACE") or None)
    try:
        with _sigquit_dumps_fibers():
            if trace is None:
                return cast(T, info.run(checked))
            # On the mock backend a tick per event replaces the clock, so a
            # deterministic program records the same file every time.
            recorder = Recorder(logical=info.name == "mock")
            try:
                with recording(recorder):
                    return cast(T, info.run(checked))
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
