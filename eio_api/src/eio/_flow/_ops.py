"""The flow operations built on a provider's minimum (``single_read``/``single_write``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from ._errors import EndOfFile
from ._types import ReadSourceBuffer, Sink, Source

__all__ = ["get_read_source_buffer", "read_exact", "simple_copy", "single_read", "single_write", "write"]

COPY_CHUNK = 65536
"""The buffer size `simple_copy` reads with when the source offers no buffer of its own."""


def as_byte_view(buf: bytearray | memoryview, who: str) -> memoryview:
    """``buf`` as a writable, flat view of bytes; TypeError if it can't be written."""
    if type(buf) is memoryview:
        mv = buf
    else:
        try:
            mv = memoryview(buf)
        except TypeError:
            raise TypeError(f"{who}: the buffer must be a writable bytes-like object, got {type(buf).__name__}") from None
    if mv.readonly:
        raise TypeError(f"{who}: the buffer is read-only")
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


def bad_read(src: object, got: object, size: int) -> RuntimeError:
    """The error for a provider whose ``single_read`` broke its contract."""
    return RuntimeError(
        f"{type(src).__name__}.single_read returned {got!r} for a {size}-byte buffer "
        f"(it must return 1..{size}, and raise eio.EndOfFile at the end of the input)"
    )


async def single_read(src: Source, buf: bytearray | memoryview) -> int:
    """Read one or more bytes from ``src`` into ``buf``; return how many.

    ``buf`` is any writable buffer and must not be empty. It may be filled
    only partly even when more data will follow: use `read_exact` to fill it.
    Raises `eio.EndOfFile` when there is no more data.
    """
    mv = as_byte_view(buf, "single_read")
    size = len(mv)
    if size == 0:
        raise ValueError("single_read: the buffer is empty (it must have room for at least 1 byte)")
    got = await src.single_read(mv)
    if type(got) is not int or not 0 < got <= size:
        raise bad_read(src, got, size)
    return got


async def read_exact(src: Source, buf: bytearray | memoryview) -> None:
    """Read from ``src`` until ``buf`` is full.

    Raises `eio.EndOfFile` if the input ends first (``buf`` then holds what was read).
    """
    mv = as_byte_view(buf, "read_exact")
    pos = 0
    size = len(mv)
    while pos < size:
        view = mv[pos:]
        got = await src.single_read(view)
        if type(got) is not int or not 0 < got <= size - pos:
            raise bad_read(src, got, size - pos)
        pos += got


async def single_write(dst: Sink, bufs: Sequence[bytes | memoryview]) -> int:
    """Write at least one byte from ``bufs`` to ``dst``; return how many were written."""
    return await dst.single_write(bufs)


def bad_write(dst: object, wrote: object, size: int) -> RuntimeError:
    """The error for a provider whose ``single_write`` broke its contract."""
    return RuntimeError(f"{type(dst).__name__}.single_write returned {wrote!r} for {size} bytes (it must return 1..{size})")


def _flat(b: bytes | bytearray | memoryview) -> bytes | memoryview:
    """``b`` as bytes or a flat byte view, so that ``len`` counts bytes."""
    if type(b) is bytes:
        return b
    if type(b) is memoryview:
        mv = b
    else:
        try:
            mv = memoryview(b)
        except TypeError:
            raise TypeError(f"eio.flow.write: each buffer must be a bytes-like object, got {type(b).__name__}") from None
    return mv if mv.format == "B" and mv.ndim == 1 else mv.cast("B")


async def write(dst: Sink, bufs: Iterable[bytes | bytearray | memoryview]) -> None:
    """Write all the bytes of ``bufs`` to ``dst``, in order.

    Empty buffers are skipped; nothing at all is written if every buffer is
    empty. Don't run two writes on one flow at once: the output may interleave.
    ``bufs`` is checked before anything is written: it must be an iterable of
    bytes-like objects (a single ``bytes`` or a ``str`` raises `TypeError`).
    """
    if isinstance(bufs, (list, tuple)) and len(bufs) == 1:
        # The common single-buffer write: no list built, and done if the sink
        # took it whole (it usually does).
        only = bufs[0]
        if type(only) is bytes:
            size = len(only)
            if not size:
                return
            wrote = await dst.single_write((only,))
            if wrote == size and type(wrote) is int:
                return
            if type(wrote) is not int or not 0 < wrote < size:
                raise bad_write(dst, wrote, size)
            bufs = (memoryview(only)[wrote:],)
    if isinstance(bufs, (bytes, bytearray, memoryview, str)):
        raise TypeError(f"eio.flow.write: bufs must be a list of buffers (such as [data]), got {type(bufs).__name__}")
    pending = [f for b in bufs if len(f := _flat(b))]
    total = 0
    for b in pending:
        total += len(b)
    while total:
        wrote = await dst.single_write(pending)
        if type(wrote) is not int or not 0 < wrote <= total:
            raise bad_write(dst, wrote, total)
        total -= wrote
        if not total:
            return
        # Drop the buffers written whole and cut the one written in part.
        i = 0
        while wrote >= len(pending[i]):
            wrote -= len(pending[i])
            i += 1
        if wrote:
            first = pending[i]
            pending[i] = (first if type(first) is memoryview else memoryview(first))[wrote:]
        del pending[:i]


def get_read_source_buffer(src: object) -> ReadSourceBuffer | None:
    """``src`` if it offers the ``read_source_buffer`` fast path, else None.

    For the ``copy`` method of a sink, which can take data straight from such
    a source's buffers.
    """
    if getattr(src, "read_source_buffer", None) is None:
        return None
    return cast(ReadSourceBuffer, src)


async def simple_copy(dst: Sink, src: Source) -> None:
    """Copy ``src`` to ``dst`` with ``dst.single_write`` only (Eio's ``Pi.simple_copy``).

    What `eio.flow.copy` does for a sink with no ``copy`` of its own. Takes
    the source's own buffers when it offers ``read_source_buffer``, else
    reads into one reusable buffer.
    """
    rsb = get_read_source_buffer(src)
    if rsb is not None:

        async def send(views: Sequence[memoryview]) -> int:
            total = 0
            for v in views:
                total += v.nbytes
            wrote = await dst.single_write(views)
            if type(wrote) is not int or not 0 < wrote <= total:
                raise bad_write(dst, wrote, total)
            return wrote

        try:
            while True:
                await rsb.read_source_buffer(send)
        except EndOfFile:
            return
    buf = memoryview(bytearray(COPY_CHUNK))
    while True:
        try:
            got = await src.single_read(buf)
        except EndOfFile:
            return
        if type(got) is not int or not 0 < got <= COPY_CHUNK:
            raise bad_read(src, got, COPY_CHUNK)
        await write(dst, (buf[:got],))
