"""Flows over plain descriptors (standard streams, pipes), secure random bytes, and `Debug`.

`FdFlow` picks how to wait once, from what the descriptor is:

- non-blocking (pipes made for a child, or a descriptor already in that
  mode): try the system call, wait for readiness on ``EAGAIN``;
- a pipe, socket, tty or device left blocking (the standard streams, shared
  with other processes, whose mode we must not change): check readiness
  (a ``select`` that doesn't wait; if not ready, wait for it), then make one
  call that can't block (a write is cut to ``PIPE_BUF`` bytes, which a
  writable pipe always takes);
- a regular file or directory (always "ready", yet reads may block on the
  disk), and anything on Windows: the call runs on a worker thread.
"""

from __future__ import annotations

import os
import select
import stat
import sys
from collections.abc import Sequence
from typing import Final

from .. import flow as _flow
from .._core._switch import Switch
from .._core._threads import run_in_systhread
from .._core._trace import traceln
from .._flow._errors import EndOfFile
from .._io_errors import ConnectionReset, from_oserror
from ._fd import Fd
from ._net import check_cancelled

__all__ = ["Debug", "FdFlow", "SecureRandom"]

_PIPE_BUF: Final = 512 if sys.platform != "linux" else 4096  # POSIX guarantees 512; Linux's pages hold 4096
_NONBLOCKING: Final = "nonblocking"
_POLL: Final = "poll"
_THREAD: Final = "thread"


def _mode_of(fd: int) -> str:
    if sys.platform == "win32":
        return _THREAD
    try:
        if not os.get_blocking(fd):
            return _NONBLOCKING
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
            return _THREAD
    except OSError:
        return _THREAD  # not open: the first operation reports it
    return _POLL


def _ready_now(fd: int, write: bool) -> bool | None:
    """Whether ``fd`` is readable (writable) right now: one ``select`` that doesn't wait; None if it can't tell.

    Cheaper than suspending when, as usual for standard streams, it is.
    (``select`` rather than ``poll``: macOS's ``poll`` refuses ttys.)
    """
    if fd >= 1024:  # beyond select's FD_SETSIZE
        return None
    try:
        if write:
            return bool(select.select((), (fd,), (), 0)[1])
        return bool(select.select((fd,), (), (), 0)[0])
    except (OSError, ValueError):
        return None  # the call after it reports the problem


async def wait_until_ready(holder: Fd, fd: int, write: bool) -> None:
    """Wait until a blocking call on ``fd`` won't block.

    A readiness wait may end on a stale event (see `eio.lowlevel`), so the
    descriptor is checked again after each wait before the blocking call.
    """
    if _ready_now(fd, write):
        return
    while True:
        if write:
            await holder.wait_writable("write")
        else:
            await holder.wait_readable("read")
        if _ready_now(fd, write) is not False:
            return


class FdFlow:
    """A two-way flow over a descriptor (a pipe, a tty, a file at its current position).

    ``FdFlow(fd, owned=..., label=...)``; ``nonblocking=True`` first puts the
    descriptor in non-blocking mode (only for one this program alone uses,
    such as a pipe it made). ``close`` closes the descriptor if owned; after
    closing every operation raises `eio.ResourceClosed`.
    """

    __slots__ = ("_fd", "_mode")

    def __init__(self, fd: int, *, owned: bool, label: str, nonblocking: bool = False) -> None:
        if nonblocking and sys.platform != "win32":
            os.set_blocking(fd, False)
        self._fd = Fd(fd, label, owned=owned)
        self._mode = _mode_of(fd)

    def __repr__(self) -> str:
        return repr(self._fd)

    def fileno(self) -> int:
        """The descriptor (`eio.ResourceClosed` once closed)."""
        if self._fd.closed:
            raise self._fd.closed_error("fileno")
        return self._fd.fd

    def attach(self, sw: Switch | None) -> FdFlow:
        """Close the descriptor when ``sw`` finishes (at once, raising, if it already has); returns the flow."""
        self._fd.attach(sw)
        return self

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at least one byte; `eio.EndOfFile` at the end."""
        check_cancelled()
        holder = self._fd
        fd = holder.use("read")
        try:
            mode = self._mode
            while True:
                try:
                    size = len(buf)
                    if mode is _NONBLOCKING:
                        data = os.read(fd, size)
                    elif mode is _POLL:
                        await wait_until_ready(holder, fd, False)
                        data = os.read(fd, size)
                    else:
                        data = await run_in_systhread(lambda size=size: os.read(fd, size))
                    break
                except BlockingIOError:
                    await holder.wait_readable("read")
                except OSError as ex:
                    raise from_oserror(ex, f"reading {holder.label}") from ex
        finally:
            holder.unuse()
        n = len(data)
        if n == 0:
            raise EndOfFile()
        buf[:n] = data
        return n

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write at least one byte from ``bufs``; return how many."""
        check_cancelled()
        holder = self._fd
        fd = holder.use("write")
        try:
            mode = self._mode
            while True:
                try:
                    if mode is _NONBLOCKING:
                        return os.write(fd, bufs[0])
                    if mode is _POLL:
                        await wait_until_ready(holder, fd, True)
                        return os.write(fd, memoryview(bufs[0])[:_PIPE_BUF])
                    return await run_in_systhread(lambda: os.write(fd, bufs[0]))
                except BlockingIOError:
                    await holder.wait_writable("write")
                except BrokenPipeError as ex:
                    raise ConnectionReset(f"{holder.label}: the reader went away") from ex
                except OSError as ex:
                    raise from_oserror(ex, f"writing {holder.label}") from ex
        finally:
            holder.unuse()

    async def shutdown(self, how: _flow.ShutdownCommand, /) -> None:
        """Pipes and files have no half-close: closing the write side is `close`."""
        if how in ("send", "all"):
            await self.close()

    async def close(self) -> None:
        """Close the descriptor if owned (idempotent)."""
        self._fd.close()


class SecureRandom:
    """A source of cryptographically secure random bytes (``os.urandom``); never ends."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<secure random>"

    async def single_read(self, buf: memoryview, /) -> int:
        """Fill ``buf`` with random bytes."""
        check_cancelled()
        data = os.urandom(len(buf))
        buf[: len(data)] = data
        return len(data)


class Debug:
    """Debugging helpers (Eio's ``env#debug``): `traceln`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<debug>"

    @staticmethod
    def traceln(*args: object) -> None:
        """`eio.traceln`."""
        traceln(*args)


def stdio_flows() -> tuple[FdFlow, FdFlow, FdFlow]:
    """Flows for the process's standard input, output and error (never closing the descriptors)."""
    return (
        FdFlow(0, owned=False, label="stdin"),
        FdFlow(1, owned=False, label="stdout"),
        FdFlow(2, owned=False, label="stderr"),
    )
