"""eio's Windows backend: a ``select`` loop woken through a socket pair, with blocking work on worker threads.

The default backend on Windows, and a backend with no dependency beyond
``eio-api`` on any other system (there it is never chosen automatically:
ask for it with ``eio_main.run(main, backend="windows")`` or
``EIO_BACKEND=windows``).

- The loop waits with a `SelectorPoller`: plain ``select`` on Windows (which
  waits on sockets only), the system's best selector elsewhere. Other
  threads and signal handlers wake it through a socket pair, and
  ``signal.set_wakeup_fd`` makes a signal end the wait.
- Sockets are the shared layer's (`eio.unix.UnixNetwork`): try the call,
  wait for readiness on ``EAGAIN``/``WSAEWOULDBLOCK``.
- What can't be waited for with ``select`` on Windows runs on worker
  threads: files, the console and pipes (standard streams and a child's
  pipes), and a child's exit.
- On Windows, ``cwd`` and ``fs`` are `PathDir` directories (no ``dir_fd``
  there): the sandbox checks a path string component by component with the
  Windows path rules (`check_component`). Elsewhere they are the shared
  layer's descriptor-walking directories; ``run(main, path_dirs=True)``
  gives the Windows ones instead (to test them on any system).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import eio.unix
from eio.lowlevel import Loop, coroutine_of
from eio.path import Path

from ._pathdir import PathDir, cwd_path_dir, fs_path_dir
from ._poller import SelectorPoller
from ._winpath import check_component, split_relative

__all__ = ["PathDir", "SelectorPoller", "check_component", "new_loop", "run", "run_plain", "split_relative", "stdenv"]

T = TypeVar("T")

BACKEND_ID = "windows"


def new_loop() -> Loop:
    """A new loop with its own selector and wake-up sockets (one per domain)."""
    return Loop(SelectorPoller(), backend_id=BACKEND_ID)


def stdenv(*, path_dirs: bool | None = None) -> eio.unix.UnixEnv:
    """The standard environment; ``path_dirs`` (default: on Windows only) makes ``cwd`` and ``fs`` `PathDir` s."""
    if path_dirs is None:
        path_dirs = sys.platform == "win32"
    if path_dirs:
        return eio.unix.make_stdenv(BACKEND_ID, new_loop, cwd=Path(cwd_path_dir()), fs=Path(fs_path_dir()))
    return eio.unix.make_stdenv(BACKEND_ID, new_loop)


def _run_loop(coro: Any) -> Any:
    loop = new_loop()
    try:
        return loop.run(coro)
    finally:
        cast(SelectorPoller, loop.poller).close()


def run(main: Callable[[eio.unix.UnixEnv], Awaitable[T]], *, path_dirs: bool | None = None) -> T:
    """Run ``await main(env)`` on a new loop, with the full standard environment (see `stdenv`)."""
    env = stdenv(path_dirs=path_dirs)
    return cast(T, _run_loop(coroutine_of(main, (env,), "eio_backend_windows.run")))


def run_plain(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``await fn()`` on a new loop without an environment."""
    return cast(T, _run_loop(coroutine_of(fn, (), "eio_backend_windows.run_plain")))
