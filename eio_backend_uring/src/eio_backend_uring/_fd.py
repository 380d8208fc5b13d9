"""Flows over file descriptors, through the ring (stdin/stdout/stderr, pipes, files).

Reads and writes are io_uring READ/WRITE operations at the current file
position (``offset=-1``) unless an offset is given. A cancelled operation is
cancelled in the kernel too.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence

import eio
from eio.lowlevel import current_loop

from ._sched import Uring, check_cancelled


def uring() -> Uring:
    """The ring of the loop running in this thread (raises if it isn't an io_uring loop)."""
    poller = current_loop().poller
    if not isinstance(poller, Uring):
        raise RuntimeError("this operation needs the io_uring backend's loop")
    return poller


class FdClosed(eio.Io):
    """An operation was attempted on a flow whose file descriptor was closed."""


def _os_error(res: int, what: str) -> OSError:
    return OSError(-res, f"{what}: {os.strerror(-res)}")


async def read_op(fd: int, bufs: Sequence[memoryview | bytearray], offset: int = -1) -> int:
    """One ring READ (READV for several buffers) at ``offset`` (-1: the file position).

    Returns the completion's result as is: bytes read, 0 at the end, or
    ``-errno``; callers turn a failure into the error that fits them.
    """
    check_cancelled()
    u = uring()
    ud = u.next_user_data()
    if len(bufs) == 1:
        u.ring.prep_read(ud, fd, bufs[0], offset)
    else:
        u.ring.prep_readv(ud, fd, bufs, offset)
    return await u.await_op(ud)


async def write_op(fd: int, bufs: Sequence[bytes | memoryview], offset: int = -1) -> int:
    """One ring WRITE (WRITEV for several buffers); the result as is (bytes written or ``-errno``)."""
    check_cancelled()
    u = uring()
    ud = u.next_user_data()
    if len(bufs) == 1:
        u.ring.prep_write(ud, fd, bufs[0], offset)
    else:
        u.ring.prep_writev(ud, fd, bufs, offset)
    return await u.await_op(ud)


async def read_fd(fd: int, buf: memoryview | bytearray, offset: int = -1) -> int:
    """Read into ``buf`` from ``fd``; 0 at end of file. Raises OSError on failure."""
    res = await read_op(fd, (buf,), offset)
    if res < 0:
        raise _os_error(res, "read")
    return res


async def write_fd(fd: int, bufs: Sequence[bytes | memoryview], offset: int = -1) -> int:
    """Write (some of) ``bufs`` to ``fd``; return how many bytes went. Raises OSError on failure."""
    res = await write_op(fd, bufs, offset)
    if res < 0:
        raise _os_error(res, "write")
    return res


class FdFlow:
    """A two-way flow over a file descriptor (a pipe, a tty, a file at its current position).

    ``close`` closes the descriptor if the flow owns it. After closing,
    every operation raises `FdClosed` (not a stray EBADF on a reused number).
    """

    __slots__ = ("_fd", "_owned", "_label")

    def __init__(self, fd: int, *, owned: bool, label: str) -> None:
        self._fd = fd
        self._owned = owned
        self._label = label

    def __repr__(self) -> str:
        return f"<{self._label} fd={self._fd}>"

    def fileno(self) -> int:
        """The descriptor (raises `FdClosed` once closed)."""
        if self._fd < 0:
            raise FdClosed(f"{self._label} is closed")
        return self._fd

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at least one byte; `eio.EndOfFile` at the end."""
        n = await read_fd(self.fileno(), buf)
        if n == 0:
            raise eio.EndOfFile()
        return n

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write at least one byte from ``bufs``; return how many."""
        try:
            return await write_fd(self.fileno(), bufs)
        except OSError as ex:
            if ex.errno == errno.EPIPE:
                raise eio.net.ConnectionReset(f"{self._label}: the reader went away") from ex
            raise

    async def shutdown(self, how: eio.flow.ShutdownCommand, /) -> None:
        """Pipes and files have no half-close: closing the write side is `close`."""
        if how in ("send", "all"):
            await self.close()

    async def close(self) -> None:
        """Close the descriptor if owned (idempotent)."""
        fd, self._fd = self._fd, -1
        if fd >= 0 and self._owned:
            os.close(fd)


class SecureRandom:
    """A source of cryptographically secure random bytes (``getrandom``); never ends."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<secure random>"

    async def single_read(self, buf: memoryview, /) -> int:
        """Fill ``buf`` with random bytes."""
        check_cancelled()
        data = os.getrandom(len(buf))
        buf[: len(data)] = data
        return len(data)
