"""Readiness waits: the one IO primitive every backend provides to shared code.

Shared code (sockets, pipes, processes in `eio.unix`) does IO by trying the
non-blocking system call first and, only when it would block, waiting for
the descriptor to become readable or writable through the running loop's
poller. A backend's poller implements `ReadinessPoller`; io_uring queues a
``POLL_ADD``, a selector backend registers the descriptor, a hosted backend
asks its host (``trio.lowlevel.wait_readable``, ``loop.add_reader``).
"""

from __future__ import annotations

from typing import Protocol, cast

from ._loop import Poller, current_loop


class ReadinessPoller(Poller, Protocol):
    """A poller that can wait for a file descriptor to become ready.

    Each wait suspends the calling fiber until the event may have happened
    (a spurious wake-up is allowed: callers retry their system call), and is
    cancellable: cancelling the fiber removes the registration and raises
    `eio.Cancelled`. At most one fiber waits for each direction of a
    descriptor at a time.
    """

    async def wait_readable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be readable (or has an error, or is at end of file)."""
        ...

    async def wait_writable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be writable (or has an error)."""
        ...

    def notify_closing(self, fd: int, error: BaseException, /) -> None:
        """``fd`` is about to be closed: wake every fiber waiting on it by raising ``error`` in it.

        Called before ``close(fd)``, on the loop's own thread, so that no wait
        outlives the descriptor (whose number the OS may soon reuse).
        """
        ...


def readiness_poller() -> ReadinessPoller:
    """The running loop's poller, which must support readiness waits."""
    poller = current_loop().poller
    # hasattr, not isinstance: a runtime Protocol check costs microseconds per wait.
    if not hasattr(poller, "wait_readable"):
        raise RuntimeError(f"this backend's poller ({type(poller).__name__}) has no readiness waits")
    return cast(ReadinessPoller, poller)


async def wait_readable(fd: int) -> None:
    """Suspend the current fiber until ``fd`` may be readable (cancellable; may wake spuriously)."""
    await readiness_poller().wait_readable(fd)


async def wait_writable(fd: int) -> None:
    """Suspend the current fiber until ``fd`` may be writable (cancellable; may wake spuriously)."""
    await readiness_poller().wait_writable(fd)


def notify_closing(fd: int, error: BaseException) -> None:
    """Wake every fiber of this loop waiting on ``fd`` with ``error``; call just before closing ``fd``."""
    readiness_poller().notify_closing(fd, error)
