"""Linux io_uring backend for eio.

The backend talks to the kernel through its own small ring layer, written
with the standard library only (``_abi``: constants and struct layouts;
``_syscalls``; ``_pin``: buffer addresses; ``_codecs``: socket addresses and
statx; ``_ring``: the ring; ``_probe``: availability):
``ctypes`` for the three io_uring system calls, ``mmap`` for the shared
submission and completion queues, and ``struct`` to fill and read their entries.
No third-party binding is used. The per-operation half of the ring
(``_ring_core``: filling SQEs, entering the kernel, waking fibers from
completions) also exists compiled, in ``_accel`` (C, built by a normal
install when a C compiler is present); the two behave the same, and
:func:`accelerated` says which one runs. The backend registers itself under the ``eio``
entry point group as ``uring``; it declares itself available only when
:func:`eio_backend_uring._probe.unavailable_reason` returns ``None``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from ._errors import Deadlock
from ._plugin import unavailable_reason

__all__ = ["Deadlock", "UringUnavailable", "accelerated", "run", "run_plain", "unavailable_reason"]

T = TypeVar("T")


class UringUnavailable(RuntimeError):
    """io_uring can't be used on this machine; the message says why."""


def accelerated() -> bool:
    """Whether rings in this process use the compiled accelerator.

    True when the package was installed with a C compiler present (the
    accelerator is then built) and the environment variable
    ``EIO_PURE_PYTHON`` is unset, empty or ``"0"`` at import. Otherwise the
    pure-Python ring runs: the same behaviour, more CPU per operation.
    Always False off Linux.
    """
    try:
        from ._accel_choice import ACCELERATED
    except ImportError:  # not Linux
        return False
    return ACCELERATED


def _check() -> None:
    reason = unavailable_reason()
    if reason is not None:
        raise UringUnavailable(f"the io_uring backend can't run here: {reason}")


def run(main: Callable[..., Awaitable[T]]) -> T:
    """Run ``await main(env)`` on a new io_uring loop, with the full standard environment."""
    _check()
    from eio.lowlevel import coroutine_of

    from ._env import uring_env
    from ._run import new_loop

    env = uring_env()
    coro = coroutine_of(main, (env,), "eio_backend_uring.run")
    loop, uring = new_loop()
    try:
        return cast(T, loop.run(coro))
    finally:
        uring.close()


def run_plain(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``await fn()`` on a new io_uring loop without an environment (for tests and benchmarks)."""
    _check()
    from ._run import run_plain as _run_plain

    return _run_plain(fn)
