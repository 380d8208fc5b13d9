"""Flows: byte streams such as files and sockets (Eio's ``Flow``).

A `Source` gives bytes, a `Sink` takes them, a `TwoWay` does both and can be
shut down in one direction. These are structural Protocols: any object with
the right ``async`` methods is a flow, with no base class and no registration.

What a provider must implement is the minimum:

- a source: ``async single_read(buf: memoryview, /) -> int`` reads at least one
  byte into ``buf`` and returns how many, raising `EndOfFile` (never returning
  0) at the end of the input;
- a sink: ``async single_write(bufs: Sequence[bytes | memoryview], /) -> int``
  writes at least one byte from ``bufs`` (it may write fewer than all) and
  returns how many;
- a shutdown: ``async shutdown(how: "receive" | "send" | "all", /) -> None``.

Optional fast paths are found at run time by attribute name (as Eio's
``Resource.get_opt`` does); a provider that lacks them loses nothing but speed:

- ``sink.copy``: ``async copy(src: Source, /) -> None`` copies everything
  from ``src`` until its end (see `CopyFrom`). `copy` calls it when present;
- ``source.read_source_buffer``: ``async read_source_buffer(fn, /) -> None``
  lends the source's own buffered bytes to ``fn`` without copying them (see
  `ReadSourceBuffer`, Eio's ``Read_source_buffer``). `copy` uses it when the
  sink has no ``copy``; a sink's own ``copy`` may use it too
  (`get_read_source_buffer`).

Everything else (`read_exact`, `write`, `copy`, `read_all`...) is built on the
minimum by the functions of this module.
"""

from __future__ import annotations

from typing import cast

from ._flow._errors import EndOfFile
from ._flow._ops import (
    get_read_source_buffer,
    read_exact,
    simple_copy,
    single_read,
    single_write,
    write,
)
from ._flow._sources import BufferSink, Null, StringSource
from ._flow._types import Closable, CopyFrom, ReadSourceBuffer, Shutdown, ShutdownCommand, Sink, Source, TwoWay

_SHUTDOWN_COMMANDS: tuple[ShutdownCommand, ...] = ("receive", "send", "all")

__all__ = [
    "Closable",
    "CopyFrom",
    "EndOfFile",
    "ReadSourceBuffer",
    "Shutdown",
    "ShutdownCommand",
    "Sink",
    "Source",
    "TwoWay",
    "buffer_sink",
    "close",
    "copy",
    "copy_string",
    "get_read_source_buffer",
    "null",
    "read_all",
    "read_exact",
    "shutdown",
    "simple_copy",
    "single_read",
    "single_write",
    "string_source",
    "write",
]


async def copy(src: Source, dst: Sink) -> None:
    """Copy data from ``src`` to ``dst`` until the end of ``src``.

    Uses ``dst.copy(src)`` when the sink has one, else `simple_copy`.
    """
    own = getattr(dst, "copy", None)
    if own is not None:
        await cast(CopyFrom, dst).copy(src)
    else:
        await simple_copy(dst, src)


def _data_bytes(data: object, who: str) -> bytes:
    if isinstance(data, str):
        # str.encode, not data.encode: a subclass's override must not decide the bytes.
        return str.encode(data, "utf-8")
    if type(data) is bytes:
        return data
    try:
        # Only objects with the buffer protocol: bytes(123) would be 123 NUL bytes.
        with memoryview(data) as view:  # pyright: ignore[reportArgumentType] - any bytes-like object from untyped callers
            return view.tobytes()
    except TypeError:
        raise TypeError(f"{who}: data must be a str or a bytes-like object, got {type(data).__name__}") from None


def string_source(data: str | bytes | bytearray | memoryview) -> Source:
    """A source that gives the bytes of ``data`` (a `str` is encoded as UTF-8).

    Mutable data is copied first. The source lends its bytes without copying
    (``read_source_buffer``), so `copy` from it does no intermediate copy.
    Anything but a str or a bytes-like object raises `TypeError`.
    """
    return StringSource(_data_bytes(data, "eio.flow.string_source"))


async def copy_string(data: str | bytes | bytearray | memoryview, dst: Sink) -> None:
    """Write all of ``data`` to ``dst`` (``copy(string_source(data), dst)``).

    ``data`` is checked first: anything but a str or a bytes-like object
    raises `TypeError` and nothing is written.
    """
    await copy(StringSource(_data_bytes(data, "eio.flow.copy_string")), dst)


def buffer_sink(buffer: bytearray) -> Sink:
    """A sink that appends everything written to it to ``buffer``."""
    if not isinstance(buffer, bytearray):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
        raise TypeError(f"buffer_sink needs a bytearray, not {type(buffer).__name__}")
    return BufferSink(buffer)


null: Null = Null()
"""A sink that discards everything written to it and a source that is always at its end (``/dev/null``)."""


async def read_all(src: Source) -> bytes:
    """Read everything from ``src`` until its end."""
    buf = bytearray(4096)
    pos = 0
    while True:
        if pos == len(buf):
            # A new buffer rather than a resize: a view of the old one may still be alive.
            bigger = bytearray(2 * pos)
            bigger[:pos] = buf
            buf = bigger
        try:
            got = await single_read(src, memoryview(buf)[pos:])
        except EndOfFile:
            return bytes(memoryview(buf)[:pos])
        pos += got


async def shutdown(flow: Shutdown, how: ShutdownCommand) -> None:
    """Indicate that the caller has finished reading (``"receive"``), writing (``"send"``) or both (``"all"``).

    Useful in protocols where the peer waits for the end of a request before replying.
    """
    # A plain str: a subclass's __eq__ or __hash__ must not pass the check and mean something else.
    name = str.__str__(how) if isinstance(how, str) else None  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
    for command in _SHUTDOWN_COMMANDS:
        if name == command:
            await flow.shutdown(command)
            return
    raise ValueError(f"shutdown: {how!r} is not one of 'receive', 'send', 'all'")


async def close(flow: Closable) -> None:
    """Close ``flow`` now rather than when its switch ends."""
    await flow.close()
