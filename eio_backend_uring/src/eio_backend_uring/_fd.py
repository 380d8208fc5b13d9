"""Ring reads and writes on a descriptor (files), at the file position or at an offset.

Reads and writes are io_uring READ/WRITE operations at the current file
position (``offset=-1``) unless an offset is given. A cancelled operation is
cancelled in the kernel too. (Standard streams and pipes are `eio.unix.FdFlow`.)
"""

from __future__ import annotations

from collections.abc import Sequence

from eio.lowlevel import current_loop

from ._sched import Uring, check_cancelled


def uring() -> Uring:
    """The ring of the loop running in this thread (raises if it isn't an io_uring loop)."""
    poller = current_loop().poller
    if not isinstance(poller, Uring):
        raise RuntimeError("this operation needs the io_uring backend's loop")
    return poller


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
