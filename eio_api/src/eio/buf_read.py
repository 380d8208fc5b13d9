"""Buffered reading and parsing (Eio's ``Buf_read``).

A `BufRead` wraps a `eio.flow.Source` with a buffer and offers fast,
non-backtracking parsers as ``async`` methods: `BufRead.line`,
`BufRead.take`, `BufRead.be_uint32`... A parser of your own is an async
function taking the reader::

    async def message(r: eio.BufRead) -> tuple[bytes, bytes]:
        await r.string("FROM:")
        return await r.line(), await r.take_all()

    src, body = await eio.buf_read.parse(message, flow, max_size=1024)

Parsers return `bytes`; literal arguments (`BufRead.string`,
`BufRead.char`) accept `str` (encoded as UTF-8) or `bytes`.

The buffer starts at ``initial_size`` bytes, doubles as needed and never
grows beyond ``max_size``: a value that can't fit raises
`BufferLimitExceeded`, however much the peer sends.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from ._flow._errors import EndOfFile
from ._flow._escape import quote_char, quote_string
from ._flow._ops import bad_read
from ._flow._types import Source

__all__ = ["BufRead", "BufferLimitExceeded", "ParseError", "Parser", "Seq", "parse", "parse_string"]

T = TypeVar("T")

Parser = Callable[["BufRead"], Awaitable[T]]
"""A parser: an async function that reads a value of type ``T`` from a `BufRead`."""

# One-byte bytes objects, so that per-byte predicates and any_char allocate nothing.
_BYTE = tuple(bytes((i,)) for i in range(256))

_BE_U16 = struct.Struct(">H")
_BE_I16 = struct.Struct(">h")
_BE_U32 = struct.Struct(">I")
_BE_I32 = struct.Struct(">i")
_BE_U64 = struct.Struct(">Q")
_BE_I64 = struct.Struct(">q")
_BE_F32 = struct.Struct(">f")
_BE_F64 = struct.Struct(">d")
_LE_U16 = struct.Struct("<H")
_LE_I16 = struct.Struct("<h")
_LE_U32 = struct.Struct("<I")
_LE_I32 = struct.Struct("<i")
_LE_U64 = struct.Struct("<Q")
_LE_I64 = struct.Struct("<q")
_LE_F32 = struct.Struct("<f")
_LE_F64 = struct.Struct("<d")


class ParseError(ValueError):
    """The input can't be parsed as the value asked for (Eio's ``Failure`` from a parser).

    Raise it from your own parsers too: `parse` adds the stream offset to the message.
    """


class BufferLimitExceeded(ParseError):
    """Parsing a value would need more than the reader's ``max_size`` bytes buffered."""


def _literal(s: str | bytes, who: str) -> bytes:
    if isinstance(s, str):
        return s.encode()
    if isinstance(s, bytes):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
        return s
    raise TypeError(f"{who}: expected str or bytes, not {type(s).__name__}")


class BufRead:
    """A buffered reader over a source, with parsers (Eio's ``Buf_read.t``).

    Create one with `of_flow`, `of_buffer` or `of_string`. Don't share one
    reader between fibers running at the same time.
    """

    __slots__ = ("_buf", "_view", "_pos", "_end", "_offset", "_flow", "_max_size")

    _buf: bytearray | bytes
    _view: memoryview  # of _buf; the live data is _buf[_pos:_end]
    _pos: int
    _end: int
    _offset: int  # the stream offset of _buf[0]
    _flow: Source | None  # None once the source reported its end
    _max_size: int

    def __init__(self, flow: Source, *, max_size: int, initial_size: int | None = None) -> None:
        """Same as `of_flow`."""
        if max_size <= 0:
            raise ValueError(f"Max size {max_size} should be positive!")
        if initial_size is None:
            initial_size = min(4096, max_size)
        elif initial_size <= 0:
            raise ValueError(f"Initial size {initial_size} should be positive!")
        else:
            # A buffer larger than max_size would let one read exceed the limit.
            initial_size = min(initial_size, max_size)
        self._buf = buf = bytearray(initial_size)
        self._view = memoryview(buf)
        self._pos = self._end = self._offset = 0
        self._flow = flow
        self._max_size = max_size

    @classmethod
    def of_flow(cls, flow: Source, *, initial_size: int | None = None, max_size: int) -> BufRead:
        """A reader of ``flow`` with a buffer of ``initial_size`` bytes (default: ``min(4096, max_size)``).

        ``max_size`` bounds the buffer: it must hold the largest single item
        you parse plus what is needed to see it end (a line's newline, say).
        It exists so that a runaway input can't use all memory; it can
        usually be set much larger than you expect to need.
        """
        return cls(flow, max_size=max_size, initial_size=initial_size)

    @classmethod
    def of_buffer(cls, data: bytes | bytearray) -> BufRead:
        """A reader of the bytes in ``data``, used without copying (and never modified).

        It is at the end of its input already (`eof_seen` is true).
        """
        if not isinstance(data, (bytes, bytearray)):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
            raise TypeError(f"of_buffer: expected bytes or bytearray, not {type(data).__name__}")
        r = cls.__new__(cls)
        r._buf = data
        r._view = memoryview(data)
        r._pos = r._offset = 0
        r._end = len(data)
        r._flow = None
        r._max_size = sys.maxsize
        return r

    @classmethod
    def of_string(cls, data: str | bytes) -> BufRead:
        """A reader of ``data`` (a `str` is encoded as UTF-8)."""
        return cls.of_buffer(_literal(data, "of_string"))

    def __repr__(self) -> str:
        state = "at end" if self._flow is None else f"of {self._flow!r}"
        return f"<BufRead {state}, {self._end - self._pos} bytes buffered at offset {self._offset + self._pos}>"

    # Low-level API

    def buffered_bytes(self) -> int:
        """How many bytes can be read without reading from the source."""
        return self._end - self._pos

    def consumed_bytes(self) -> int:
        """How many bytes were consumed in all: the stream offset of the next byte to parse."""
        return self._offset + self._pos

    def eof_seen(self) -> bool:
        """Whether the source reported its end: no data will come beyond what `peek` shows.

        False at the end of the stream if the reader doesn't know it yet;
        `at_end_of_input` finds out.
        """
        return self._flow is None

    def peek(self) -> memoryview:
        """A read-only view of the buffered bytes (``len(peek()) == buffered_bytes()``).

        Use it at once: any operation that adds to the buffer may invalidate it.
        """
        return self._view[self._pos : self._end].toreadonly()

    def consume(self, n: int) -> None:
        """Discard the first ``n`` buffered bytes (after `peek`); never reads from the source."""
        pos = self._pos
        if n < 0 or n > self._end - pos:
            raise ValueError(f"Can't consume {n} bytes of a {self._end - pos} byte buffer!")
        self._pos = pos + n

    async def ensure(self, n: int) -> None:
        """Read from the source until at least ``n`` bytes are buffered.

        Raises `eio.EndOfFile` if the input ends first, `BufferLimitExceeded`
        if ``n`` is more than ``max_size``.
        """
        if n < 0:
            raise ValueError(f"ensure: {n} is negative!")
        if self._end - self._pos < n:
            await self._fill(n)

    async def _fill(self, n: int) -> None:
        # The slow path of every parser: make room for n bytes, then read until they are here.
        if n > self._max_size:
            raise BufferLimitExceeded(f"{n} bytes would have to be buffered, but max_size is {self._max_size}")
        flow = self._flow
        if flow is None:
            raise EndOfFile
        pos = self._pos
        end = self._end
        length = end - pos
        if length == 0 and pos:
            # Nothing is buffered: the whole buffer is free again.
            self._offset += pos
            pos = end = 0
        cap = len(self._buf)
        if n > cap:
            new = bytearray(max(n, min(self._max_size, cap * 2)))
            new[:length] = self._view[pos:end]
            self._buf = new
            self._view = memoryview(new)
            self._offset += pos
            pos, end = 0, length
        elif pos + n > cap:
            self._view[:length] = self._view[pos:end]
            self._offset += pos
            pos, end = 0, length
        self._pos = pos
        self._end = end
        view = self._view
        try:
            while end - pos < n:
                free = view[end:] if end else view
                got = await flow.single_read(free)
                if type(got) is not int or not 0 < got <= len(free):
                    raise bad_read(flow, got, len(free))
                end += got
                # Kept up to date so that data already read survives a cancellation.
                self._end = end
        except EndOfFile:
            self._flow = None
            raise

    def as_flow(self) -> Source:
        """A source that reads through this reader's buffer.

        It gives buffered data first and reads the underlying source only
        when the buffer is empty. It also lends its buffer (``read_source_buffer``).
        """
        return _BufferedSource(self)

    # Parsers

    async def line(self) -> bytes:
        """One line, without its terminator (LF or CRLF).

        If the input ends after some data but before a newline, that data is
        the last line. Raises `eio.EndOfFile` at the end of the input.
        """
        buf = self._buf
        pos = self._pos
        nl = buf.find(10, pos, self._end)
        if nl < 0:
            return await self._line_slow()
        self._pos = nl + 1
        if nl > pos and buf[nl - 1] == 13:
            nl -= 1
        if nl == pos:
            return b""  # a blank line (the end of a header block, say): no slice needed
        return self._view[pos:nl].tobytes()

    async def _line_slow(self) -> bytes:
        scanned = self._end - self._pos  # these hold no newline
        while True:
            try:
                await self._fill(scanned + 1)
            except EndOfFile:
                if self._end > self._pos:
                    return self._take_buffered()
                raise
            pos = self._pos
            buf = self._buf
            nl = buf.find(10, pos + scanned, self._end)
            if nl >= 0:
                self._pos = nl + 1
                if nl > pos and buf[nl - 1] == 13:
                    nl -= 1
                return self._view[pos:nl].tobytes()
            scanned = self._end - pos

    def lines(self) -> Seq[bytes]:
        """An async iterator of the remaining lines (`seq` of `line`)."""
        return Seq(self, BufRead.line, BufRead.at_end_of_input)

    def seq(self, parser: Parser[T], stop: Parser[bool] | None = None) -> Seq[T]:
        """An async iterator that uses ``parser`` to get each item.

        Before each item it awaits ``stop(reader)`` (default: `at_end_of_input`)
        and ends if that is true. The iterator must be used while the stream
        is where it left it: if anything else consumed input in between, it
        raises RuntimeError. It need not be used to the end.
        """
        return Seq(self, parser, BufRead.at_end_of_input if stop is None else stop)

    async def char(self, c: str | bytes) -> None:
        """Check that the next byte is ``c`` and consume it; `ParseError` if it isn't."""
        want = _literal(c, "char")
        if len(want) != 1:
            raise ValueError(f"char: expected a single byte, not {c!r}")
        pos = self._pos
        if self._end == pos:
            await self._fill(1)
            pos = self._pos
        got = self._buf[pos]
        if got != want[0]:
            raise ParseError(f"Expected {quote_char(want[0])} but got {quote_char(got)}")
        self._pos = pos + 1

    async def any_char(self) -> bytes:
        """The next byte (as a 1-byte `bytes`)."""
        pos = self._pos
        if self._end == pos:
            await self._fill(1)
            pos = self._pos
        self._pos = pos + 1
        return _BYTE[self._buf[pos]]

    async def peek_char(self) -> bytes | None:
        """The next byte without consuming it, or None at the end of the input."""
        if self._end == self._pos:
            try:
                await self._fill(1)
            except EndOfFile:
                return None
        return _BYTE[self._buf[self._pos]]

    async def string(self, s: str | bytes) -> None:
        """Check that the input continues with ``s`` and consume it; `ParseError` if it doesn't."""
        want = _literal(s, "string")
        n = len(want)
        while True:
            pos = self._pos
            k = min(n, self._end - pos)
            if not self._buf.startswith(want if k == n else want[:k], pos):
                got = self._view[pos : pos + k].tobytes()
                raise ParseError(f"Expected {quote_string(want)} but got {quote_string(got)}")
            if k == n:
                self._pos = pos + n
                return
            await self._fill(k + 1)

    async def uint8(self) -> int:
        """The next byte as an unsigned integer."""
        pos = self._pos
        if self._end == pos:
            await self._fill(1)
            pos = self._pos
        self._pos = pos + 1
        return self._buf[pos]

    async def int8(self) -> int:
        """The next byte as a signed (two's complement) integer."""
        b = await self.uint8()
        return b - 256 if b > 127 else b

    def _unpack(self, st: struct.Struct) -> int:
        pos = self._pos
        self._pos = pos + st.size
        return st.unpack_from(self._buf, pos)[0]

    def _unpack_float(self, st: struct.Struct) -> float:
        pos = self._pos
        self._pos = pos + st.size
        return st.unpack_from(self._buf, pos)[0]

    async def be_uint16(self) -> int:
        """The next 2 bytes as an unsigned big-endian integer."""
        if self._end - self._pos < 2:
            await self._fill(2)
        return self._unpack(_BE_U16)

    async def be_int16(self) -> int:
        """The next 2 bytes as a signed big-endian integer."""
        if self._end - self._pos < 2:
            await self._fill(2)
        return self._unpack(_BE_I16)

    async def be_uint32(self) -> int:
        """The next 4 bytes as an unsigned big-endian integer."""
        if self._end - self._pos < 4:
            await self._fill(4)
        return self._unpack(_BE_U32)

    async def be_int32(self) -> int:
        """The next 4 bytes as a signed big-endian integer."""
        if self._end - self._pos < 4:
            await self._fill(4)
        return self._unpack(_BE_I32)

    async def be_uint48(self) -> int:
        """The next 6 bytes as an unsigned big-endian integer."""
        if self._end - self._pos < 6:
            await self._fill(6)
        pos = self._pos
        self._pos = pos + 6
        return int.from_bytes(self._view[pos : pos + 6], "big")

    async def be_uint64(self) -> int:
        """The next 8 bytes as an unsigned big-endian integer."""
        if self._end - self._pos < 8:
            await self._fill(8)
        return self._unpack(_BE_U64)

    async def be_int64(self) -> int:
        """The next 8 bytes as a signed big-endian integer."""
        if self._end - self._pos < 8:
            await self._fill(8)
        return self._unpack(_BE_I64)

    async def be_float(self) -> float:
        """The next 4 bytes as a big-endian IEEE 754 single-precision float."""
        if self._end - self._pos < 4:
            await self._fill(4)
        return self._unpack_float(_BE_F32)

    async def be_double(self) -> float:
        """The next 8 bytes as a big-endian IEEE 754 double-precision float."""
        if self._end - self._pos < 8:
            await self._fill(8)
        return self._unpack_float(_BE_F64)

    async def le_uint16(self) -> int:
        """The next 2 bytes as an unsigned little-endian integer."""
        if self._end - self._pos < 2:
            await self._fill(2)
        return self._unpack(_LE_U16)

    async def le_int16(self) -> int:
        """The next 2 bytes as a signed little-endian integer."""
        if self._end - self._pos < 2:
            await self._fill(2)
        return self._unpack(_LE_I16)

    async def le_uint32(self) -> int:
        """The next 4 bytes as an unsigned little-endian integer."""
        if self._end - self._pos < 4:
            await self._fill(4)
        return self._unpack(_LE_U32)

    async def le_int32(self) -> int:
        """The next 4 bytes as a signed little-endian integer."""
        if self._end - self._pos < 4:
            await self._fill(4)
        return self._unpack(_LE_I32)

    async def le_uint48(self) -> int:
        """The next 6 bytes as an unsigned little-endian integer."""
        if self._end - self._pos < 6:
            await self._fill(6)
        pos = self._pos
        self._pos = pos + 6
        return int.from_bytes(self._view[pos : pos + 6], "little")

    async def le_uint64(self) -> int:
        """The next 8 bytes as an unsigned little-endian integer."""
        if self._end - self._pos < 8:
            await self._fill(8)
        return self._unpack(_LE_U64)

    async def le_int64(self) -> int:
        """The next 8 bytes as a signed little-endian integer."""
        if self._end - self._pos < 8:
            await self._fill(8)
        return self._unpack(_LE_I64)

    async def le_float(self) -> float:
        """The next 4 bytes as a little-endian IEEE 754 single-precision float."""
        if self._end - self._pos < 4:
            await self._fill(4)
        return self._unpack_float(_LE_F32)

    async def le_double(self) -> float:
        """The next 8 bytes as a little-endian IEEE 754 double-precision float."""
        if self._end - self._pos < 8:
            await self._fill(8)
        return self._unpack_float(_LE_F64)

    async def take(self, n: int) -> bytes:
        """Exactly the next ``n`` bytes."""
        if n < 0:
            raise ValueError(f"take: {n} is negative!")
        pos = self._pos
        if self._end - pos < n:
            await self._fill(n)
            pos = self._pos
        self._pos = pos + n
        return self._view[pos : pos + n].tobytes()

    def _take_buffered(self) -> bytes:
        pos = self._pos
        self._pos = end = self._end
        return self._view[pos:end].tobytes()

    async def take_all(self) -> bytes:
        """Everything until the end of the input (``b""`` if already there).

        Raises `BufferLimitExceeded` if the rest is ``max_size`` bytes or
        more (one more byte is needed to see the end).
        """
        try:
            while True:
                await self._fill(self._end - self._pos + 1)
        except EndOfFile:
            return self._take_buffered()

    async def _count_while(self, pred: Callable[[bytes], bool]) -> int:
        byte = _BYTE
        i = 0
        while True:
            buf = self._buf
            pos = self._pos
            end = self._end
            j = pos + i
            while j < end:
                if not pred(byte[buf[j]]):
                    return j - pos
                j += 1
            i = end - pos
            try:
                await self._fill(i + 1)
            except EndOfFile:
                return self._end - self._pos

    async def take_while(self, pred: Callable[[bytes], bool]) -> bytes:
        """The bytes up to the first one for which ``pred`` is false (or the end of the input).

        ``pred`` gets each byte as a 1-byte `bytes` (``bytes.isdigit`` works).
        Returns ``b""`` if the first byte fails; never raises `eio.EndOfFile`.
        """
        n = await self._count_while(pred)
        pos = self._pos
        self._pos = pos + n
        return self._view[pos : pos + n].tobytes()

    async def take_while1(self, pred: Callable[[bytes], bool]) -> bytes:
        """Like `take_while`, but `ParseError` ("take_while1") if no byte matches."""
        n = await self._count_while(pred)
        if n < 1:
            raise ParseError("take_while1")
        pos = self._pos
        self._pos = pos + n
        return self._view[pos : pos + n].tobytes()

    async def skip_while(self, pred: Callable[[bytes], bool]) -> None:
        """Skip the bytes for which ``pred`` is true; unlike `take_while`, not limited by the buffer size."""
        byte = _BYTE
        while True:
            buf = self._buf
            j = self._pos
            end = self._end
            while j < end:
                if not pred(byte[buf[j]]):
                    self._pos = j
                    return
                j += 1
            self._pos = end
            try:
                await self._fill(1)
            except EndOfFile:
                return

    async def skip_while1(self, pred: Callable[[bytes], bool]) -> None:
        """Like `skip_while`, but `ParseError` ("skip_while1") if no byte matches."""
        n = await self._count_while(pred)
        if n < 1:
            raise ParseError("skip_while1")
        self._pos += n

    async def skip(self, n: int) -> None:
        """Discard the next ``n`` bytes, which may be more than the buffer can hold.

        If the input ends first, everything is consumed and `eio.EndOfFile` raised.
        """
        if n < 0:
            raise ValueError(f"skip: {n} is negative!")
        try:
            while True:
                buffered = self._end - self._pos
                if n <= buffered:
                    self._pos += n
                    return
                n -= buffered
                self._pos = self._end
                await self._fill(min(n, len(self._buf)))
        except EndOfFile:
            self._pos = self._end
            raise

    async def at_end_of_input(self) -> bool:
        """True at the end of the input; False if at least one more byte can be read."""
        pos = self._pos
        if self._end > pos:
            return False
        flow = self._flow
        if flow is None:
            return True
        # The buffer is empty: `_fill(1)` inlined, reading into the whole
        # buffer through the view itself (no slice, and one coroutine frame
        # less to resume on every wake-up of a request/response loop).
        self._offset += pos
        self._pos = self._end = 0
        view = self._view
        try:
            got = await flow.single_read(view)
        except EndOfFile:
            self._flow = None
            return True
        if type(got) is not int or not 0 < got <= len(view):
            raise bad_read(flow, got, len(view))
        self._end = got
        return False

    async def end_of_input(self) -> None:
        """Check that the input has ended; `ParseError` if more data follows."""
        if not await self.at_end_of_input():
            raise ParseError("Unexpected data after parsing")


class Seq(Generic[T]):
    """An async iterator of parsed items (Eio's ``Buf_read.seq``); see `BufRead.seq`."""

    __slots__ = ("_reader", "_parser", "_stop", "_expected", "_default_stop")

    def __init__(self, reader: BufRead, parser: Parser[T], stop: Parser[bool]) -> None:
        self._reader = reader
        self._parser = parser
        self._stop = stop
        self._expected = reader.consumed_bytes()
        # With the default stop, buffered data means "not at the end": no call needed.
        self._default_stop = stop is BufRead.at_end_of_input

    def __aiter__(self) -> Seq[T]:
        return self

    async def __anext__(self) -> T:
        r = self._reader
        now = r.consumed_bytes()
        if now != self._expected:
            raise RuntimeError(
                f"Sequence is stale (expected to be used at offset {self._expected}, but stream is now at {now})"
            )
        if not (self._default_stop and r.buffered_bytes()) and await self._stop(r):
            raise StopAsyncIteration
        item = await self._parser(r)
        self._expected = r.consumed_bytes()
        return item


class _BufferedSource:
    """`BufRead.as_flow`: a source reading through a reader's buffer."""

    __slots__ = ("_reader",)

    def __init__(self, reader: BufRead) -> None:
        self._reader = reader

    def __repr__(self) -> str:
        return f"<as_flow of {self._reader!r}>"

    async def single_read(self, buf: memoryview, /) -> int:
        """Copy buffered bytes into ``buf``, reading the source first if none are buffered."""
        r = self._reader
        await r.ensure(1)
        data = r.peek()
        n = min(len(data), len(buf))
        buf[:n] = data[:n]
        r.consume(n)
        return n

    async def read_source_buffer(self, fn: Callable[[Sequence[memoryview]], Awaitable[int]], /) -> None:
        """Lend the buffered bytes to ``fn`` (reading some first if none are buffered)."""
        r = self._reader
        await r.ensure(1)
        r.consume(await fn((r.peek(),)))


async def _run(parser: Parser[T], r: BufRead) -> T:
    try:
        value = await parser(r)
        await r.end_of_input()
        return value
    except BufferLimitExceeded as ex:
        raise BufferLimitExceeded(f"Buffer size limit exceeded when reading at offset {r.consumed_bytes()}") from ex
    except ParseError as ex:
        raise ParseError(f"{ex} (at offset {r.consumed_bytes()})") from ex
    except EndOfFile as ex:
        at = r.consumed_bytes() + r.buffered_bytes()
        raise ParseError(f"Unexpected end-of-file at offset {at}") from ex


async def parse(parser: Parser[T], flow: Source, *, max_size: int, initial_size: int | None = None) -> T:
    """Parse all of ``flow`` with ``parser``, which must consume all of it.

    Errors are raised as `ParseError` with a message giving the stream
    offset: "Expected \"FROM:\" but got \"TO:B\" (at offset 0)",
    "Unexpected data after parsing (at offset 3)", "Unexpected end-of-file at
    offset 1", "Buffer size limit exceeded when reading at offset 5" (that one
    a `BufferLimitExceeded`). The original error is the ``__cause__``.
    """
    return await _run(parser, BufRead.of_flow(flow, initial_size=initial_size, max_size=max_size))


async def parse_string(parser: Parser[T], data: str | bytes) -> T:
    """Parse all of ``data`` with ``parser``, raising errors as `parse` does."""
    return await _run(parser, BufRead.of_string(data))
