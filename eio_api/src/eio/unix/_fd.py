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
from functools import partial
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

    # Lock-free, as it sits on every read and write: `users` and `waiting` are
    # lists changed only by append / pop / remove (atomic in CPython), and the
    # closer is taken from its one-element list by an atomic pop, so that it
    # runs once whoever gets there first. `use` announces itself before it
    # checks `closing`, and `close` sets `closing` before it checks `users`:
    # so either the user sees the close, or the close sees the user.
    __slots__ = ("fd", "label", "users", "waiting", "_closer", "closing", "_hook", "__weakref__")

    def __init__(self, fd: int, label: str, *, closer: Callable[[], None] | None = None, owned: bool = True) -> None:
        self.fd: int = fd
        self.label: str = label
        if closer is None and owned:
            closer = partial(os.close, fd)
        self._closer: list[Callable[[], None]] = [closer] if closer is not None else []
        # Set once by `close` (read directly on hot paths; `closed` is the same).
        # One entry per operation using the descriptor now.
        self.users: list[None] = []
        # One entry (its loop) per fiber waiting on the descriptor.
        self.waiting: list[Loop] = []
        self.closing: bool = False
        self._hook: ReleaseHook | None = None

    def __repr__(self) -> str:
        return f"<{self.label} (closed)>" if self.closing else f"<{self.label} fd={self.fd}>"

    def __del__(self) -> None:
        # An abandoned object (a `lines()` loop left early) must not leak its descriptor.
        if not self.users:
            self.closing = True
            self.release()

    def fileno(self) -> int:
        """The descriptor (`eio.ResourceClosed` once closed), so that an `Fd` can be passed on (``pass_fds``, `eio.unix.net.send_msg`)."""
        if self.closing:
            raise self.closed_error("fileno")
        return self.fd

    @property
    def closed(self) -> bool:
        """Whether `close` was called (the descriptor may still be in use by an operation until it ends)."""
        return self.closing

    def closed_error(self, what: str | None = None) -> ResourceClosed:
        """The error for using the descriptor after closing: ``[Errno 9] what: the label is closed``,
        or Python's ``I/O operation on closed label`` without ``what``."""
        if what is None:
            return ResourceClosed(f"I/O operation on closed {self.label}")
        return ResourceClosed(9, f"{what}: the {self.label} is closed")

    def use(self, what: str | None = None) -> int:
        """Start an operation: the descriptor, which stays open until the matching `unuse`."""
        users = self.users
        users.append(None)
        if self.closing:
            self.unuse()
            raise self.closed_error(what)
        return self.fd

    def unuse(self) -> None:
        """End an operation started by `use` (the last one after `close` releases the descriptor)."""
        users = self.users
        users.pop()
        if self.closing and not users:
            self.release()

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
        waiting = self.waiting
        # Announced before the check: a close in another domain either sees
        # this loop (and wakes us) or is seen by the check.
        waiting.append(loop)
        try:
            if self.closing:
                raise self.closed_error(what)
            if readable:
                await poller.wait_readable(self.fd)
            else:
                await poller.wait_writable(self.fd)
        except ResourceClosed:
            raise self.closed_error(what) from None
        finally:
            waiting.remove(loop)
        if self.closing:
            raise self.closed_error(what)

    def close(self) -> None:
        """Close (idempotent): wake waiting fibers with `eio.ResourceClosed`; release once unused.

        A backend's own waits on the descriptor announce themselves in
        `waiting` (append the loop before checking `closed`, remove it after).
        """
        if self.closing:
            return
        self.closing = True
        self.detach()
        me = threading.get_ident()
        for loop in set(self.waiting):
            if loop.thread_id == me:
                self._wake_waiters(loop)
            else:
                loop.call_soon_threadsafe(partial(self._wake_waiters, loop))
        if not self.users:
            self.release()

    def _wake_waiters(self, loop: Loop) -> None:
        # On ``loop``'s thread. Its waiters hold uses, so while any is left the
        # number is still ours (not reused by another file).
        if loop in self.waiting:
            # A fiber waits on it there: the poller has readiness waits.
            cast(ReadinessPoller, loop.poller).notify_closing(self.fd, self.closed_error())

    def release(self) -> None:
        """Close the descriptor now, if no one did (for `close` and the last `unuse`, when no operation uses it)."""
        try:
            closer = self._closer.pop()
        except IndexError:
            return  # released already (or never owned)
        closer()
