"""The mock environment's standard streams and random source.

`InputSource` reads given bytes (or, for a program run by ``eio_main`` with
``EIO_BACKEND=mock``, the process's own standard input). `OutputSink` keeps
everything written to it (`output`) and passes it on to the process's own
stdout or stderr, so a program prints as usual. `SeededRandom` is an endless
source of bytes that depend only on the seed. None of them traces.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Sequence
from typing import Literal, TextIO

import eio

__all__ = ["InputSource", "OutputSink", "SeededRandom", "output"]


class InputSource:
    """A source reading ``data`` (or, with ``data=None``, the process's standard input)."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes | None) -> None:
        self._data = data
        self._pos = 0

    def __repr__(self) -> str:
        return "<mock stdin (process)>" if self._data is None else f"<mock stdin {self._pos}/{len(self._data)}>"

    async def single_read(self, buf: memoryview, /) -> int:
        """Copy the next bytes into ``buf``; `eio.EndOfFile` at the end."""
        eio.fiber.check()
        if not len(buf):
            return 0
        data = self._data
        if data is None:
            # A blocking read stops the whole (single-threaded, deterministic) loop
            # until a line arrives: nothing else could run meanwhile without making
            # the output depend on when the input comes.
            chunk = os.read(0, len(buf))
            if not chunk:
                raise eio.EndOfFile()
            buf[: len(chunk)] = chunk
            return len(chunk)
        pos = self._pos
        if pos >= len(data):
            raise eio.EndOfFile()
        chunk = data[pos : pos + len(buf)]
        buf[: len(chunk)] = chunk
        self._pos = pos + len(chunk)
        return len(chunk)


class OutputSink:
    """A sink that keeps what is written (see `output`) and copies it to the process's ``stream``."""

    __slots__ = ("_which", "data")

    def __init__(self, which: Literal["stdout", "stderr"] | None) -> None:
        self._which = which
        self.data = bytearray()

    def __repr__(self) -> str:
        return f"<mock {self._which or 'output'}: {len(self.data)} bytes>"

    def _stream(self) -> TextIO | None:
        which = self._which
        if which is None:
            return None
        # Looked up at each write, so redirections (pytest's capture, say) are honoured.
        return sys.stdout if which == "stdout" else sys.stderr

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Keep all of ``bufs`` and pass them on."""
        eio.fiber.check()
        data = b"".join(bufs)
        self.data += data
        stream = self._stream()
        if stream is not None and data:
            stream.flush()  # keep order with text already written, such as trace lines
            binary = getattr(stream, "buffer", None)
            if binary is not None:
                binary.write(data)
                binary.flush()
            else:
                stream.write(data.decode(errors="replace"))
                stream.flush()
        return len(data)


def output(sink: object) -> bytes:
    """Everything written so far to a mock environment's ``stdout`` or ``stderr``."""
    if not isinstance(sink, OutputSink):
        raise TypeError(f"output expects a mock environment's stdout or stderr, not {type(sink).__name__}")
    return bytes(sink.data)


class SeededRandom:
    """An endless source of pseudo-random bytes determined by ``seed`` (not for real secrets)."""

    __slots__ = ("_random",)

    def __init__(self, seed: int) -> None:
        if not isinstance(seed, int):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        self._random = random.Random(seed)

    def __repr__(self) -> str:
        return "<mock secure_random>"

    async def single_read(self, buf: memoryview, /) -> int:
        """Fill ``buf``."""
        eio.fiber.check()
        buf[:] = self._random.randbytes(len(buf))
        return len(buf)
