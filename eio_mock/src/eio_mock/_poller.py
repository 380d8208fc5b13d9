"""The mock backend's poller: there is no IO, so waiting only happens for other threads."""

from __future__ import annotations

import threading
import time

from eio.lowlevel import Loop


class DeadlockDetected(Exception):
    """Nothing can run and nothing can ever wake the loop: the main function can't finish."""

    def __init__(self, message: str = "Deadlock detected: no fiber can run, and nothing can wake one") -> None:
        super().__init__(message)


def _other_threads_alive() -> bool:
    me = threading.current_thread()
    return any(t is not me and not t.daemon and t.is_alive() for t in threading.enumerate())


class MockPoller:
    """Waits for wake-ups from other threads; raises `DeadlockDetected` when none can come.

    Another OS thread may still wake the loop (resolving a promise, say) while
    any non-daemon thread is alive or an external operation is pending, so
    the loop waits for it; otherwise being idle is a deadlock.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def notify(self) -> None:
        """Wake a waiting `poll` (any thread, or a signal handler)."""
        self._event.set()

    def poll(self, loop: Loop, timeout: float | None) -> None:
        """Wait until another thread wakes the loop, or ``timeout`` passes."""
        if timeout == 0:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        event = self._event
        while True:
            if loop.inbox:
                return
            if deadline is None:
                if loop.pending_external == 0 and not _other_threads_alive():
                    raise DeadlockDetected()
                step = 0.05  # re-check thread liveness this often
            else:
                step = deadline - time.monotonic()
                if step <= 0:
                    return
            if event.wait(step):
                event.clear()

    def close(self) -> None:
        """Nothing to release."""
