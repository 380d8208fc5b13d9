"""The flow Protocols: one small Protocol per capability (Eio's ``Flow.Pi``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, Protocol

__all__ = ["Closable", "CopyFrom", "ReadSourceBuffer", "Shutdown", "ShutdownCommand", "Sink", "Source", "TwoWay"]

ShutdownCommand = Literal["receive", "send", "all"]
"""Which direction `eio.flow.shutdown` ends: no more reads, no more writes, or neither."""


class Source(Protocol):
    """A readable flow: it provides a stream of bytes."""

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at least one byte into ``buf``; return how many. Raise `eio.EndOfFile` at the end."""
        ...


class Sink(Protocol):
    """A writable flow: it accepts a stream of bytes."""

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write at least one byte from ``bufs`` (in order); return how many were written."""
        ...


class Shutdown(Protocol):
    """A flow that can be shut down in one direction or both."""

    async def shutdown(self, how: ShutdownCommand, /) -> None:
        """Indicate that no more reads (``"receive"``), writes (``"send"``) or either (``"all"``) will be done."""
        ...


class TwoWay(Source, Sink, Shutdown, Protocol):
    """A bidirectional flow, such as a connected socket."""


class Closable(Protocol):
    """A resource that can be closed before its switch ends."""

    async def close(self) -> None:
        """Release the resource. Using it afterwards is an error."""
        ...


class CopyFrom(Protocol):
    """A sink's optional fast path: its own ``copy``, which `eio.flow.copy` calls when present."""

    async def copy(self, src: Source, /) -> None:
        """Copy everything from ``src`` into this sink, until ``src`` ends."""
        ...


class ReadSourceBuffer(Protocol):
    """A source's optional zero-copy fast path (Eio's ``Read_source_buffer``).

    ``read_source_buffer(fn)`` waits until the source has data, then calls
    ``await fn(views)`` with views of the source's own buffers; ``fn`` returns
    how many bytes it used (at least one) and must not keep the views. Raises
    `eio.EndOfFile` when no more data will come.
    """

    async def read_source_buffer(self, fn: Callable[[Sequence[memoryview]], Awaitable[int]], /) -> None:
        """Lend the next buffered bytes to ``fn`` and consume as many as it reports using."""
        ...
