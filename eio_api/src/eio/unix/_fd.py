"""`Fd`: one owned file descriptor, closed exactly once, never while an operation uses it.

Every operation brackets its use of the number with `Fd.use` / `Fd.unuse`.
Closing marks the holder closed at once (later uses raise
`eio.ResourceClosed`), wakes every fiber waiting for readiness on it, in
whatever domain, with that error, and releases the descriptor when the last
operation still using it is done. So an operation never meets a number the
OS has already given to another file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import cast

from .._core._loop import Loop, current_loop
from .._core._readiness import ReadinessPoller, readiness_poller
from .._core._switch import ReleaseHook, Switch
from .._io_errors import ResourceClosed

__all__ = ["Fd"]


class Fd:
    """An owned descriptor (``fd``) named ``label`` in messages ("stream socket", "file <cwd:a>").

    ``closer`` releases it (default ``os.close``); ``owned=False`` never
    closes the number itself (standard streams). Safe to share between domains.
    """

    __slots__ = ("fd", "label", "_closer", "_users", "_closing", "_waiting", "_lock", "_hook", "__weakref__")

    def __init__(self, fd: int, label: str, *, closer: Callable[[], None] | None = None, owned: bool = True) -> None:
        self.fd = fd
        self.label = label
        self._closer = closer if closer is not None else (lambda: os.close(fd)) if owned else None
        self._users = 0
        self._closing = False
        # Loops with fibers waiting for readiness on the descriptor, and how many each.
        self._waiting: dict[Loop, int] = {}
        self._lock = threading.Lock()
        self._hook: ReleaseHook | None = None

    def __repr__(self) -> str:
        return f"<{self.label} (closed)>" if self._closing else f"<{self.label} fd={self.fd}>"

    def __del__(self) -> None:
        # An abandoned object (a `lines()` loop left early) must not leak its descriptor.
        if not self._closing and not self._users:
            self._closing = True
            self._release()

    @property
    def closed(self) -> bool:
        """Whether `close` was called (the descriptor may still be in use by an operation until it ends)."""
        return self._closing

    def closed_error(self, what: str | None = None) -> ResourceClosed:
        """The error for using the descriptor after closing: ``[Errno 9] what: the label is closed``,
        or Python's ``I/O operation on closed label`` without ``what``."""
        if what is None:
            return ResourceClosed(f"I/O operation on closed {self.label}")
        return ResourceClosed(9, f"{what}: the {self.label} is closed")

    def use(self, what: str | None = None) -> int:
        """Start an operation: the descriptor, which stays open until the matching `unuse`."""
        with self._lock:
            if self._closing:
                raise self.closed_error(what)
            self._users += 1
        return self.fd

    def unuse(self) -> None:
        """End an operation started by `use` (the last one after `close` releases the descriptor)."""
        with self._lock:
            self._users -= 1
            last = self._closing and not self._users
        if last:
            self._release()

    def attach(self, sw: Switch | None) -> None:
        """Close when ``sw`` finishes (at once, raising, if it already has)."""
        if sw is not None:
            self._hook = sw.on_release(self.close)

    def detach(self) -> None:
        """Stop the switch from closing the descriptor (before a close by hand)."""
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.remove()

    async def wait_readable(self, what: str) -> None:
        """Wait, holding a use, until the descriptor may be readable; `eio.ResourceClosed` if closed meanwhile."""
        await self._wait(True, what)

    async def wait_writable(self, what: str) -> None:
        """Wait, holding a use, until the descriptor may be writable; `eio.ResourceClosed` if closed meanwhile."""
        await self._wait(False, what)

    async def _wait(self, readable: bool, what: str) -> None:
        loop = current_loop()
        poller = readiness_poller()
        waiting = self._waiting
        # Registered before the check: a close in another domain either sees
        # this loop (and wakes us) or is seen by the check.
        with self._lock:
            waiting[loop] = waiting.get(loop, 0) + 1
        try:
            if self._closing:
                raise self.closed_error(what)
            if readable:
                await poller.wait_readable(self.fd)
            else:
                await poller.wait_writable(self.fd)
        except ResourceClosed:
            raise self.closed_error(what) from None
        finally:
            with self._lock:
                n = waiting[loop] - 1
                if n:
                    waiting[loop] = n
                else:
                    del waiting[loop]
        if self._closing:
            raise self.closed_error(what)

    def close(self) -> None:
        """Close (idempotent): wake waiting fibers with `eio.ResourceClosed`; release once unused."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            loops = list(self._waiting)
            last = not self._users
        self.detach()
        for loop in loops:
            if loop.thread_id == threading.get_ident():
                self._wake_waiters(loop)
            else:
                loop.call_soon_threadsafe(lambda loop=loop: self._wake_waiters(loop))
        if last:
            self._release()

    def _wake_waiters(self, loop: Loop) -> None:
        # On ``loop``'s thread. Its waiters hold uses, so while any is left the
        # number is still ours (not reused by another file).
        if self._waiting.get(loop):
            # A fiber waits on it there: the poller has readiness waits.
            cast(ReadinessPoller, loop.poller).notify_closing(self.fd, self.closed_error())

    def _release(self) -> None:
        closer, self._closer = self._closer, None
        if closer is not None:
            closer()
