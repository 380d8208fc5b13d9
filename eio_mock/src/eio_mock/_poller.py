"""The mock backend's poller: there is no IO, so waiting only happens for other threads."""

from __future__ import annotations

import select
import socket

from eio.lowlevel import Deadlock, Loop

DeadlockDetected = Deadlock
"""The mock backend's name for `eio.Deadlock` (the same class)."""


class MockPoller:
    """Waits for wake-ups from other threads (the loop itself reports deadlocks)."""

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

    def busy(self) -> bool:
        """The mock backend has no IO of its own: never busy."""
        return False

    def poll(self, loop: Loop, timeout: float | None) -> None:
        """Wait until another thread (or a signal handler) wakes the loop, or ``timeout`` passes."""
        if timeout == 0:
            return
        # _waiting is set before the last look at the queues, so a wake-up
        # sent after that look is a byte on the socket: never lost.
        self._waiting = True
        try:
            # A signal handler on this thread may have woken a fiber
            # directly (onto the run queue) rather than through the inbox.
            if loop.inbox or loop.run_queue:
                return
            readable, _, _ = select.select([self._wake_r], [], [], timeout)
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
