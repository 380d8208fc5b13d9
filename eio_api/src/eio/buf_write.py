"""Buffered writing: many small writes, few calls to the sink (Eio's ``Buf_write``).

A `BufWrite` collects writes in a buffer and hands them out in batches, as
a list of buffers suitable for one vectored write. Copying writes (`string`,
`bytes`, `char`, the integer and float writers, `printf`) append to the
current buffer; `schedule_bytes` queues the caller's own buffer without
copying it. Usually it is run by `BufWrite.with_flow`::

    async with eio.BufWrite.with_flow(sink) as w:
        w.string("HTTP/1.1 200 OK\\r\\n")
        w.string("\\r\\n")

The writer fiber started by `with_flow` is woken by the first write after it
ran out of data, but only runs when the writing fiber suspends or yields:
everything written in between reaches the sink as one ``single_write`` call.
Writing never switches fibers; only `flush` (and the low-level
`await_batch`, `drain` and `serialize`) wait.

Buffers: writes go into a buffer of ``initial_size`` bytes; a write that
does not fit starts a new buffer, as large as the old one or as the write,
whichever is larger. The old buffer is sent as it is, without copying. Bytes
scheduled from a buffer count against its room until the sink has written
them; then the whole capacity is available again (as in Eio, where the
buffer is reused from its start).
"""

from __future__ import annotations

import builtins
import struct
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, cast

from ._core._cancel import Cancelled
from ._core._fiber import Fiber
from ._core._promise import Promise, Resolver
from ._core._switch import Switch, SwitchScope
from ._core._traps import suspend
from ._core._traps import yield_ as _yield
from ._flow._types import Sink
from .fiber import fork

__all__ = ["BufWrite", "BytesLike", "FlushAborted", "WriterClosed"]

BytesLike = builtins.bytes | bytearray | memoryview
"""What the byte-writing methods accept."""

_Chunk = builtins.bytes | memoryview

# The class `bytes`, under a name that the method `BufWrite.bytes` does not
# hide and that costs one global lookup on the hot path.
_BYTES = builtins.bytes

_ACTIVE = 0
_PAUSED = 1
_CLOSED = 2


class FlushAborted(Exception):
    """`BufWrite.flush` was waiting when the writer was aborted: that data will never be written."""


class WriterClosed(RuntimeError):
    """A write was made to a `BufWrite` after it was closed."""


def _closed_error() -> WriterClosed:
    return WriterClosed("cannot write to closed writer")


def _check_slice(size: int, off: int, length: int | None, who: str) -> int:
    """The end of the slice ``[off, off + length)`` of something of ``size``, which must lie inside it."""
    if length is None:
        length = size - off
    if off < 0 or length < 0 or off + length > size:
        raise ValueError(f"BufWrite.{who}: off={off}, length={length} is outside the {size} available")
    return off + length


def _as_bytes(data: object, who: str) -> builtins.bytes | bytearray | memoryview:
    if isinstance(data, (builtins.bytes, bytearray)):
        return data
    if isinstance(data, memoryview):
        view = cast("memoryview[int]", data)  # isinstance can't tell the item type
        return view if view.format == "B" and view.ndim == 1 else view.cast("B")
    raise TypeError(f"BufWrite.{who} expects bytes, bytearray or memoryview, not {type(data).__name__}")


def _bytes_slice(b: object, off: int, length: int | None, who: str) -> builtins.bytes | bytearray | memoryview:
    data = _as_bytes(b, who)
    if off or length is not None:
        return memoryview(data)[off : _check_slice(len(data), off, length, who)]
    return data


def _packer(fmt: str) -> Callable[[Any], builtins.bytes]:
    return struct.Struct(fmt).pack


# Bound `pack` methods of precompiled structs: the cheapest way to encode a number.
_U8 = _packer("B")
_I8 = _packer("b")
_BE_U16 = _packer(">H")
_BE_I16 = _packer(">h")
_BE_U32 = _packer(">I")
_BE_I32 = _packer(">i")
_BE_U64 = _packer(">Q")
_BE_I64 = _packer(">q")
_BE_F32 = _packer(">f")
_BE_F64 = _packer(">d")
_LE_U16 = _packer("<H")
_LE_I16 = _packer("<h")
_LE_U32 = _packer("<I")
_LE_I32 = _packer("<i")
_LE_U64 = _packer("<Q")
_LE_I64 = _packer("<q")
_LE_F32 = _packer("<f")
_LE_F64 = _packer("<d")


class BufWrite:
    """A write buffer that hands its contents to a sink in batches (Eio's ``Buf_write.t``).

    Create one with `with_flow` (which also runs the fiber that writes to
    the sink) or, to drive it yourself, with `create`.
    """

    __slots__ = (
        "_buf",
        "_size",
        "_limit",
        "_fast",
        "_scheduled",
        "_flushes",
        "_received",
        "_written",
        "_state",
        "_aborted",
        "_waiter",
    )

    def __init__(self, initial_size: int = 0x1000, *, sw: Switch | None = None) -> None:
        """A writer with a buffer of ``initial_size`` bytes; see `create`."""
        if initial_size < 0:
            raise ValueError(f"BufWrite: initial_size must not be negative, got {initial_size}")
        self._buf = bytearray()  # bytes written to the current buffer but not yet scheduled
        self._size = initial_size  # capacity of the current buffer
        # How long `_buf` may grow: the buffer's capacity minus what it holds
        # that was already scheduled but not yet written (as in Eio, where
        # those bytes occupy the front of the same buffer).
        self._limit = initial_size
        # True while a write needs no check and no wake-up: the writer is not
        # closed and no fiber waits in `await_batch` (or the writer is paused).
        self._fast = True
        self._scheduled: deque[_Chunk] = deque()  # what the sink gets next, in order
        self._flushes: deque[tuple[int, Resolver[None]]] = deque()  # (bytes received when asked, waiter)
        self._received = 0  # total bytes scheduled
        self._written = 0  # total bytes reported written by `shift`
        self._state = _ACTIVE
        self._aborted = False
        self._waiter: Fiber | None = None  # the fiber suspended in `await_batch`
        if sw is not None:
            sw.on_release(self.abort)

    @classmethod
    def create(cls, initial_size: int = 0x1000, *, sw: Switch | None = None) -> BufWrite:
        """A writer with a buffer of ``initial_size`` bytes, not attached to any sink (Eio's ``create``).

        Take its output with `await_batch` and `shift`, or `serialize`,
        `serialize_to_bytes`, `drain`. When ``sw`` finishes, the writer is
        aborted; without ``sw``, call `abort` yourself on error.
        """
        return cls(initial_size, sw=sw)

    @staticmethod
    def with_flow(sink: Sink, initial_size: int = 0x1000) -> WithFlow:
        """``async with BufWrite.with_flow(sink) as w``: a writer whose data goes to ``sink``.

        While the block runs, a fiber copies batches from ``w`` to ``sink``
        whenever the block's fiber suspends. When the block ends, ``w`` is
        closed and everything written is sent before the ``async with``
        statement finishes. If the block raises, what was written is still
        sent (unless the block was cancelled) and then the error propagates.
        An error from the sink propagates too.
        """
        return WithFlow(sink, initial_size)

    def __repr__(self) -> str:
        state = ("active", "paused", "closed")[self._state]
        return f"<BufWrite {state}, {self.pending_bytes()} bytes pending>"

    # -- waking the writer fiber ------------------------------------------------

    def _update_fast(self) -> None:
        state = self._state
        self._fast = state != _CLOSED and (self._waiter is None or state == _PAUSED)

    def _wake_writer(self) -> None:
        fiber = self._waiter
        if fiber is not None and self._state != _PAUSED:
            self._waiter = None
            self._update_fast()
            fiber.wake()

    def _register(self, fiber: Fiber) -> None:
        self._waiter = fiber
        self._update_fast()
        fiber.cancel_fn = self._cancel_wait

    def _cancel_wait(self, error: Cancelled) -> None:
        fiber = self._waiter
        if fiber is not None:
            self._waiter = None
            self._update_fast()
            fiber.wake_error(error)

    # -- buffer management ----------------------------------------------------

    def _flush_buffer(self) -> None:
        """Schedule the bytes written to the current buffer so far."""
        buf = self._buf
        if buf:
            # The bytearray is never touched again, so the sink can get a view of it.
            self._scheduled.append(memoryview(buf))
            n = len(buf)
            self._received += n
            self._limit -= n
            self._buf = bytearray()

    def _append(self, data: builtins.bytes | bytearray | memoryview) -> None:
        # The tail of every copying write. Writes are frequent and cheap: in
        # the common case a flag, a length check and a bytearray append.
        if self._fast:
            buf = self._buf
            if len(buf) + len(data) <= self._limit:
                buf += data
                return
        self._append_slow(data)

    def _append_slow(self, data: builtins.bytes | bytearray | memoryview) -> None:
        if self._state == _CLOSED:
            raise _closed_error()
        n = len(data)
        if n:
            if len(self._buf) + n > self._limit:
                # Start a new buffer, as large as the old one or as the write.
                self._flush_buffer()
                if n > self._size:
                    self._size = n
                self._limit = self._size
            self._buf += data
            if self._waiter is not None:
                self._wake_writer()

    # -- copying writes --------------------------------------------------------

    def string(self, s: str | BytesLike, off: int = 0, length: int | None = None) -> None:
        """Copy ``s`` (a `str`, encoded as UTF-8, or bytes) into the buffer.

        ``off`` and ``length`` select part of ``s`` (in characters for a
        `str`, in bytes otherwise); the part must lie inside ``s``.
        """
        if type(s) is str:
            if off or length is not None:
                s = s[off : _check_slice(len(s), off, length, "string")]
            data = s.encode()
            # `_append`, inlined: this is the hot path.
            if self._fast:
                buf = self._buf
                if len(buf) + len(data) <= self._limit:
                    buf += data
                    return
            self._append_slow(data)
        else:
            self._append(_bytes_slice(s, off, length, "string"))

    def bytes(self, b: BytesLike, off: int = 0, length: int | None = None) -> None:
        """Copy the bytes of ``b`` into the buffer; ``b`` may be changed afterwards.

        ``off`` and ``length`` select part of ``b``; the part must lie inside ``b``.
        """
        if type(b) is _BYTES and not off and length is None:
            # `_append`, inlined: this is the hot path.
            if self._fast:
                buf = self._buf
                if len(buf) + len(b) <= self._limit:
                    buf += b
                    return
            self._append_slow(b)
        else:
            self._append(_bytes_slice(b, off, length, "bytes"))

    def char(self, c: str | builtins.bytes) -> None:
        """Copy one character: a `str` of length 1 (as UTF-8) or a `bytes` of length 1."""
        if len(c) != 1:
            raise ValueError(f"BufWrite.char expects a single character, got {c!r}")
        if type(c) is str:
            self._append(c.encode())
        elif type(c) is builtins.bytes:
            self._append(c)
        else:
            raise TypeError(f"BufWrite.char expects str or bytes, not {type(c).__name__}")

    def printf(self, fmt: str, *args: object) -> None:
        """Copy ``fmt % args`` (printf-style formatting), encoded as UTF-8.

        A single mapping argument is used for ``%(name)s`` formats. Unlike
        Eio's ``printf``, nothing is flushed: call `flush` for that.
        """
        if len(args) == 1 and isinstance(args[0], Mapping):
            text = fmt % args[0]
        else:
            text = fmt % args
        self._append(text.encode())

    def _packed(self, pack: Callable[[Any], builtins.bytes], value: object, who: str) -> None:
        try:
            data = pack(value)
        except (struct.error, OverflowError, AttributeError):
            # Cold path: tell a value out of range from a value of the wrong kind.
            expected: tuple[type, ...] = (int, float) if who.endswith(("float", "double")) else (int,)
            if isinstance(value, expected):
                raise ValueError(f"BufWrite.{who}: {value!r} is out of range") from None
            kind = "a number" if float in expected else "an int"
            raise TypeError(f"BufWrite.{who} expects {kind}, not {type(value).__name__}") from None
        # `_append`, inlined: numbers are often written many at a time.
        if self._fast:
            buf = self._buf
            if len(buf) + len(data) <= self._limit:
                buf += data
                return
        self._append_slow(data)

    def uint8(self, n: int) -> None:
        """Copy ``n`` (0 to 255) as one byte."""
        self._packed(_U8, n, "uint8")

    def int8(self, n: int) -> None:
        """Copy ``n`` (-128 to 127) as one byte, in two's complement."""
        self._packed(_I8, n, "int8")

    def be_uint16(self, n: int) -> None:
        """Copy ``n`` (0 to 2**16-1) as 2 bytes, big-endian."""
        self._packed(_BE_U16, n, "be_uint16")

    def be_int16(self, n: int) -> None:
        """Copy the signed ``n`` as 2 bytes, big-endian."""
        self._packed(_BE_I16, n, "be_int16")

    def be_uint32(self, n: int) -> None:
        """Copy ``n`` (0 to 2**32-1) as 4 bytes, big-endian."""
        self._packed(_BE_U32, n, "be_uint32")

    def be_int32(self, n: int) -> None:
        """Copy the signed ``n`` as 4 bytes, big-endian."""
        self._packed(_BE_I32, n, "be_int32")

    def be_uint48(self, n: int) -> None:
        """Copy ``n`` (0 to 2**48-1) as 6 bytes, big-endian."""
        self._packed(_be_u48, n, "be_uint48")

    def be_uint64(self, n: int) -> None:
        """Copy ``n`` (0 to 2**64-1) as 8 bytes, big-endian."""
        self._packed(_BE_U64, n, "be_uint64")

    def be_int64(self, n: int) -> None:
        """Copy the signed ``n`` as 8 bytes, big-endian."""
        self._packed(_BE_I64, n, "be_int64")

    def be_float(self, x: float) -> None:
        """Copy ``x`` as an IEEE 754 single-precision float (4 bytes), big-endian."""
        self._packed(_BE_F32, x, "be_float")

    def be_double(self, x: float) -> None:
        """Copy ``x`` as an IEEE 754 double-precision float (8 bytes), big-endian."""
        self._packed(_BE_F64, x, "be_double")

    def le_uint16(self, n: int) -> None:
        """Copy ``n`` (0 to 2**16-1) as 2 bytes, little-endian."""
        self._packed(_LE_U16, n, "le_uint16")

    def le_int16(self, n: int) -> None:
        """Copy the signed ``n`` as 2 bytes, little-endian."""
        self._packed(_LE_I16, n, "le_int16")

    def le_uint32(self, n: int) -> None:
        """Copy ``n`` (0 to 2**32-1) as 4 bytes, little-endian."""
        self._packed(_LE_U32, n, "le_uint32")

    def le_int32(self, n: int) -> None:
        """Copy the signed ``n`` as 4 bytes, little-endian."""
        self._packed(_LE_I32, n, "le_int32")

    def le_uint48(self, n: int) -> None:
        """Copy ``n`` (0 to 2**48-1) as 6 bytes, little-endian."""
        self._packed(_le_u48, n, "le_uint48")

    def le_uint64(self, n: int) -> None:
        """Copy ``n`` (0 to 2**64-1) as 8 bytes, little-endian."""
        self._packed(_LE_U64, n, "le_uint64")

    def le_int64(self, n: int) -> None:
        """Copy the signed ``n`` as 8 bytes, little-endian."""
        self._packed(_LE_I64, n, "le_int64")

    def le_float(self, x: float) -> None:
        """Copy ``x`` as an IEEE 754 single-precision float (4 bytes), little-endian."""
        self._packed(_LE_F32, x, "le_float")

    def le_double(self, x: float) -> None:
        """Copy ``x`` as an IEEE 754 double-precision float (8 bytes), little-endian."""
        self._packed(_LE_F64, x, "le_double")

    # -- unbuffered writes -------------------------------------------------------

    def schedule_bytes(self, b: BytesLike) -> None:
        """Queue ``b`` itself to be written, without copying it.

        Don't change ``b`` until a later `flush` has returned.
        """
        if self._state == _CLOSED:
            raise _closed_error()
        data = _as_bytes(b, "schedule_bytes")
        self._flush_buffer()
        n = len(data)
        if n:
            self._scheduled.append(memoryview(data) if isinstance(data, bytearray) else data)
            self._received += n
            if self._waiter is not None:
                self._wake_writer()

    # -- state -------------------------------------------------------------------

    def free_bytes_in_buffer(self) -> int:
        """How many more bytes fit in the current buffer before a new one is started."""
        return self._limit - len(self._buf)

    def pending_bytes(self) -> int:
        """How many bytes were written but have not yet been reported written to the sink."""
        return len(self._buf) + self._received - self._written

    def has_pending_output(self) -> bool:
        """Whether some written bytes have not yet reached the sink."""
        return self.pending_bytes() != 0

    def is_closed(self) -> bool:
        """Whether `close` (or `abort`) was called. A closed writer may still have pending output."""
        return self._state == _CLOSED

    # -- control -------------------------------------------------------------------

    def pause(self) -> None:
        """Stop handing out data, so that more writes are collected into the next batch.

        `unpause`, `flush` and `close` resume. Does nothing on a closed writer.
        """
        if self._state == _ACTIVE:
            self._state = _PAUSED
            self._update_fast()

    def unpause(self) -> None:
        """Resume handing out data after `pause`."""
        if self._state == _PAUSED:
            self._state = _ACTIVE
            self._update_fast()
            if self.has_pending_output():
                self._wake_writer()

    async def flush(self) -> None:
        """Wait until everything written so far has been written to the sink.

        Returns at once if nothing is pending; unpauses a paused writer.
        Raises `FlushAborted` if the writer is aborted before that.
        """
        self._flush_buffer()
        self.unpause()
        if self._scheduled:
            if self._aborted:
                raise FlushAborted("the writer was aborted: pending data will not be written")
            p: Promise[None] = Promise()
            r = Resolver(p)
            self._flushes.append((self._received, r))
            await p

    def close(self) -> None:
        """Close the writer: later writes raise `WriterClosed`; what was written is still sent."""
        self._state = _CLOSED
        self._fast = False
        self._flush_buffer()
        self._wake_writer()

    def abort(self) -> None:
        """Close the writer and fail every waiting `flush` with `FlushAborted`."""
        self.close()
        self._aborted = True
        flushes = self._flushes
        while flushes:
            _, r = flushes.popleft()
            r.resolve_error(FlushAborted("the writer was aborted before the data was written"))

    # -- low level: running the writer -------------------------------------------

    async def await_batch(self) -> list[_Chunk]:
        """The buffers to write next, waiting until there are some.

        After writing (some of) them, report how many bytes were written with
        `shift`. Returns an empty list once the writer is closed and
        everything was written. Only one fiber may wait at a time.
        """
        while True:
            self._flush_buffer()
            state = self._state
            if self._scheduled:
                if state != _PAUSED:
                    return list(self._scheduled)
            elif state == _CLOSED:
                return []
            if self._waiter is not None:
                raise RuntimeError("BufWrite.await_batch: another fiber is already waiting for this writer")
            await suspend(self._register)

    def shift(self, n: int) -> None:
        """Report that the first ``n`` bytes of the last batch were written; wake the flushes now done."""
        scheduled_bytes = self._received - self._written
        if n < 0 or n > scheduled_bytes:
            raise ValueError(f"BufWrite.shift: {n} bytes written, but only {scheduled_bytes} were scheduled")
        self._written += n
        scheduled = self._scheduled
        while n:
            first = scheduled[0]
            size = len(first)
            if size <= n:
                scheduled.popleft()
                n -= size
            else:
                scheduled[0] = memoryview(first)[n:]
                break
        if not scheduled and not self._buf:
            self._limit = self._size  # everything was written: reuse the buffer from the start
        flushes = self._flushes
        written = self._written
        while flushes and flushes[0][0] <= written:
            flushes.popleft()[1].resolve(None)

    async def drain(self) -> int:
        """Discard everything written until the writer is closed; return how many bytes that was."""
        total = 0
        while True:
            bufs = await self.await_batch()
            if not bufs:
                return total
            n = sum(len(b) for b in bufs)
            self.shift(n)
            total += n

    async def serialize(self, writev: Callable[[list[_Chunk]], Awaitable[int]]) -> None:
        """Write everything with ``n = await writev(bufs)`` until the writer is closed and empty.

        ``writev`` writes some of ``bufs`` (in order) and returns how many
        bytes. After a partial write, other fibers run before the next call.
        If ``writev`` raises (e.g. because its destination was closed), the
        writer is closed and the error propagates.
        """
        while True:
            bufs = await self.await_batch()
            if not bufs:
                return
            try:
                n = await writev(bufs)
            except Exception:
                self.close()
                raise
            self.shift(n)
            if self._scheduled:
                await _yield()

    def serialize_to_bytes(self) -> builtins.bytes:
        """Close the writer and return everything written that is still pending, as one `bytes`.

        Needs no event loop: this is the way to use a writer as an in-memory serializer.
        """
        self.close()
        data = b"".join(self._scheduled)
        self.shift(len(data))
        return data

    async def _copy_to(self, sink: Sink) -> None:
        """The writer fiber of `with_flow` (Eio's ``copy``)."""
        while True:
            bufs = await self.await_batch()
            if not bufs:
                return
            self.shift(await sink.single_write(bufs))


def _be_u48(n: int) -> builtins.bytes:
    return n.to_bytes(6, "big")


def _le_u48(n: int) -> builtins.bytes:
    return n.to_bytes(6, "little")


class WithFlow:
    """The async context manager returned by `BufWrite.with_flow`."""

    __slots__ = ("_sink", "_initial_size", "_scope", "_writer")

    def __init__(self, sink: Sink, initial_size: int) -> None:
        if initial_size < 0:
            raise ValueError(f"BufWrite: initial_size must not be negative, got {initial_size}")
        self._sink = sink
        self._initial_size = initial_size
        self._scope: SwitchScope | None = None
        self._writer: BufWrite | None = None

    async def __aenter__(self) -> BufWrite:
        if self._scope is not None:
            raise RuntimeError("a BufWrite.with_flow() scope can only be entered once")
        scope = Switch.run(name="BufWrite.with_flow")
        self._scope = scope
        sw = await scope.__aenter__()
        w = BufWrite(self._initial_size, sw=sw)
        self._writer = w
        try:
            fork(sw, w._copy_to, self._sink)  # pyright: ignore[reportPrivateUsage] - the same unit
        except BaseException as ex:
            await scope.__aexit__(type(ex), ex, ex.__traceback__)
            raise
        return w

    async def __aexit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        # Never swallows the body's error (returning None re-raises it).
        scope = self._scope
        w = self._writer
        assert scope is not None and w is not None
        w.close()
        if exc is None or isinstance(exc, GeneratorExit):
            # Closing lets the writer fiber send the rest and end. On
            # GeneratorExit the switch's exit does not wait (it can't suspend).
            await scope.__aexit__(typ, exc, tb)
            return
        # Raising ends the switch, which would cancel the writer fiber: send
        # what was written first. If we are cancelled, `flush` raises at once.
        try:
            await w.flush()
        except BaseException as flush_error:  # noqa: BLE001 - it replaces the body's error, as in Eio
            await scope.__aexit__(type(flush_error), flush_error, flush_error.__traceback__)
            raise flush_error
        await scope.__aexit__(typ, exc, tb)
