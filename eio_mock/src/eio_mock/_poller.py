"""The mock backend's poller: there is no IO, so waiting only happens for other threads."""

from __future__ import annotations

import select
import socket
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

    __slots__ = ("_wake_r", "_wake_w", "_waiting")

    def __init__(self) -> None:
        # A socket pair, not a threading.Event: notify may run in a signal
        # handler that interrupted this very thread, and a write to a socket
        # takes no lock (Event.set could deadlock on the Event's own lock).
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._waiting = False

    def notify(self) -> None:
        """Wake a waiting `poll` (any thread, or a signal handler)."""
        if self._waiting:
            try:
                self._wake_w.send(b"\0")
            except OSError:
                pass  # the buffer is full (a wake-up is already pending) or closed

    def poll(self, loop: Loop, timeout: float | None) -> None:
        """Wait until another thread wakes the loop, or ``timeout`` passes."""
        if timeout == 0:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if deadline is None:
                if not loop.inbox and loop.pending_external == 0 and not _other_threads_alive():
                    raise DeadlockDetected()
                step = 0.05  # re-check thread liveness this often
            else:
                step = deadline - time.monotonic()
                if step <= 0:
                    return
            # _waiting is set before the last look at the inbox, so a wake-up
            # sent after that look is a byte on the socket: never lost.
            self._waiting = True
            try:
                # A signal handler on this thread may have woken a fiber
                # directly (onto the run queue) rather than through the inbox.
                if loop.inbox or loop.run_queue:
                    return
                readable, _, _ = select.select([self._wake_r], [], [], step)
            finally:
                self._waiting = False
            if readable:
                self._drain()

    def _drain(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass  # nothing more to read

    def close(self) -> None:
        """Close the wake-up sockets."""
        self._wake_r.close()
        self._wake_w.close()
