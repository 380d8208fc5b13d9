"""The built-in flows: a source over bytes, a sink into a bytearray, and the null flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from ._errors import EndOfFile

__all__ = ["BufferSink", "Null", "StringSource"]


class StringSource:
    """A source giving the bytes of an immutable `bytes` (Eio's ``Flow.string_source``)."""

    __slots__ = ("_view", "_pos")

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def __repr__(self) -> str:
        return f"<string_source at {self._pos} of {len(self._view)}>"

    async def single_read(self, buf: memoryview, /) -> int:
        """Copy the next bytes into ``buf``; `EndOfFile` once all were given."""
        pos = self._pos
        n = min(len(buf), len(self._view) - pos)
        if n <= 0:
            raise EndOfFile
        buf[:n] = self._view[pos : pos + n]
        self._pos = pos + n
        return n

    async def read_source_buffer(self, fn: Callable[[Sequence[memoryview]], Awaitable[int]], /) -> None:
        """Lend the remaining bytes to ``fn`` without copying; consume what it used."""
        pos = self._pos
        rest = len(self._view) - pos
        if rest <= 0:
            raise EndOfFile
        used = await fn((self._view[pos:],))
        if type(used) is not int or not 0 <= used <= rest:
            raise ValueError(f"read_source_buffer: the function used {used!r} of {rest} bytes")
        self._pos = pos + used


class BufferSink:
    """A sink appending to a bytearray (Eio's ``Flow.buffer_sink``)."""

    __slots__ = ("_buffer",)

    def __init__(self, buffer: bytearray) -> None:
        self._buffer = buffer

    def __repr__(self) -> str:
        return f"<buffer_sink of {len(self._buffer)} bytes>"

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Append all of ``bufs``; return their total length."""
        buffer = self._buffer
        before = len(buffer)
        for b in bufs:
            buffer += b
        return len(buffer) - before


class Null:
    """A sink that discards everything and a source that is always at its end (Eio's ``Flow.null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "eio.flow.null"

    async def single_read(self, buf: memoryview, /) -> int:
        """Always raises `EndOfFile`."""
        raise EndOfFile

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Discard ``bufs``; report them all written."""
        total = 0
        for b in bufs:
            total += memoryview(b).nbytes
        return total
