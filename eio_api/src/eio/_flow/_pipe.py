"""An in-memory pipe: a bounded buffer with a reading end and a writing end, for process managers without OS pipes.

Used by `eio.process.parse_out` when the process manager has no ``pipe``,
and by the mock's process manager as its ``pipe``. A writer waits while
``capacity`` bytes are buffered, so memory stays bounded; closing the
writing end makes the reader see `eio.EndOfFile` after the buffered data;
closing the reading end makes writes fail with `eio.net.ConnectionReset`
(as an OS pipe's ``EPIPE``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .._core._condition import Condition
from .._core._loop import current_fiber
from .._core._switch import Switch
from .._io_errors import ConnectionReset, ResourceClosed
from ._errors import EndOfFile

__all__ = ["MemPipeSink", "MemPipeSource", "mem_pipe"]

PIPE_CAPACITY = 65536  # as Linux's default pipe buffer


class _Shared:
    __slots__ = ("data", "capacity", "reader_closed", "writer_closed", "changed")

    def __init__(self, capacity: int) -> None:
        self.data = bytearray()
        self.capacity = capacity
        self.reader_closed = False
        self.writer_closed = False
        self.changed = Condition()


class MemPipeSource:
    """The reading end of `mem_pipe`: a source that can be closed."""

    __slots__ = ("_s", "_label")

    def __init__(self, shared: _Shared, label: str) -> None:
        self._s = shared
        self._label = label

    def __repr__(self) -> str:
        return f"<{self._label} (read end){' closed' if self._s.reader_closed else ''}>"

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at least one byte; `eio.EndOfFile` once the writer closed and the buffer is empty."""
        s = self._s
        while True:
            current_fiber().cc.check()
            if s.reader_closed:
                raise ResourceClosed(9, f"read: the {self._label} is closed")
            if s.data:
                n = min(len(buf), len(s.data))
                buf[:n] = s.data[:n]
                del s.data[:n]
                s.changed.broadcast()
                return n
            if s.writer_closed:
                raise EndOfFile()
            await s.changed.await_no_mutex()

    async def close(self) -> None:
        """Close the reading end (idempotent): later writes fail."""
        self._s.reader_closed = True
        self._s.data.clear()
        self._s.changed.broadcast()


class MemPipeSink:
    """The writing end of `mem_pipe`: a sink that can be closed."""

    __slots__ = ("_s", "_label")

    def __init__(self, shared: _Shared, label: str) -> None:
        self._s = shared
        self._label = label

    def __repr__(self) -> str:
        return f"<{self._label} (write end){' closed' if self._s.writer_closed else ''}>"

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write at least one byte of ``bufs`` (waiting for room); `eio.net.ConnectionReset` if the reader closed."""
        s = self._s
        total = sum(len(b) for b in bufs)
        while True:
            current_fiber().cc.check()
            if s.writer_closed:
                raise ResourceClosed(9, f"write: the {self._label} is closed")
            if s.reader_closed:
                raise ConnectionReset(f"{self._label}: the reader went away")
            if total == 0:
                return 0
            room = s.capacity - len(s.data)
            if room > 0:
                chunk = b"".join(bufs)[:room]
                s.data += chunk
                s.changed.broadcast()
                return len(chunk)
            await s.changed.await_no_mutex()

    async def close(self) -> None:
        """Close the writing end (idempotent): the reader gets `eio.EndOfFile` after the buffered bytes."""
        self._s.writer_closed = True
        self._s.changed.broadcast()


def mem_pipe(sw: Switch | None, label: str = "pipe", capacity: int = PIPE_CAPACITY) -> tuple[MemPipeSource, MemPipeSink]:
    """A new in-memory pipe; both ends are closed when ``sw`` finishes (if given)."""
    shared = _Shared(capacity)
    src, sink = MemPipeSource(shared, label), MemPipeSink(shared, label)
    if sw is not None:
        sw.check()

        def close_both() -> None:
            shared.reader_closed = shared.writer_closed = True
            shared.changed.broadcast()

        sw.on_release(close_both)
    return src, sink
