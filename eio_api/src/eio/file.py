"""Open files (Eio's ``File``): metadata, positioned reads and writes, seek, sync, truncate.

An open file is a flow: a file opened for reading is an `eio.flow.Source`
(`Ro`), one opened for writing also an `eio.flow.Sink` (`Rw`). Reads and
writes through the flow interface use the file position (the OS's own, so a
descriptor shared with other code sees the same position); `pread` and
`pwrite` work at an explicit offset and leave the position alone. Files are
opened with the functions of `eio.Path`.

What a provider implements is the `Ro` / `Rw` Protocol (positional-only
parameters); the functions here give callers keywords and loops.
"""

from __future__ import annotations

import stat as _stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from ._flow._types import Closable, Sink, Source

__all__ = [
    "FileKind",
    "Ro",
    "Rw",
    "SeekWhence",
    "Stat",
    "kind_of_mode",
    "pread",
    "pread_exact",
    "pwrite_all",
    "pwrite_single",
    "seek",
    "size",
    "stat",
    "sync",
    "truncate",
]

FileKind = Literal[
    "unknown",
    "fifo",
    "character_special",
    "directory",
    "block_device",
    "regular_file",
    "symbolic_link",
    "socket",
]
"""What kind of file a directory entry is (Eio's ``File.Stat.kind``)."""

SeekWhence = Literal["set", "cur", "end"]
"""Where `seek`'s offset counts from: the start, the current position, or the end."""

_KINDS: dict[int, FileKind] = {
    _stat.S_IFREG: "regular_file",
    _stat.S_IFDIR: "directory",
    _stat.S_IFLNK: "symbolic_link",
    _stat.S_IFIFO: "fifo",
    _stat.S_IFCHR: "character_special",
    _stat.S_IFBLK: "block_device",
    _stat.S_IFSOCK: "socket",
}


def kind_of_mode(mode: int) -> FileKind:
    """The `FileKind` of a POSIX ``st_mode`` (for backends)."""
    return _KINDS.get(_stat.S_IFMT(mode), "unknown")


@dataclass(frozen=True, slots=True)
class Stat:
    """A file's metadata, like ``stat(2)`` (Eio's ``File.Stat.t``). Times are seconds since the epoch."""

    dev: int
    """Device holding the file."""
    ino: int
    """Inode number."""
    kind: FileKind
    """File type."""
    perm: int
    """Permission bits (``0o644``), without the type bits."""
    nlink: int
    """Number of hard links."""
    uid: int
    """Owner's user id."""
    gid: int
    """Owner's group id."""
    rdev: int
    """The device this file is, if it is a device."""
    size: int
    """Size in bytes."""
    blksize: int
    """Preferred block size for IO."""
    blocks: int
    """Number of 512-byte blocks allocated."""
    atime: float
    """Last access."""
    mtime: float
    """Last modification."""
    ctime: float
    """Last status change."""


class Ro(Source, Closable, Protocol):
    """A file opened for reading (Eio's ``File.ro``): a source with positioned reads and metadata."""

    async def pread(self, file_offset: int, bufs: Sequence[memoryview], /) -> int:
        """One read at ``file_offset`` into ``bufs`` (in order); at least one byte, `eio.EndOfFile` at the end."""
        ...

    async def stat(self) -> Stat:
        """The file's metadata."""
        ...

    async def seek(self, offset: int, whence: SeekWhence, /) -> int:
        """Move the file position; return the new position (from the start)."""
        ...


class Rw(Ro, Sink, Protocol):
    """A file opened for reading and writing (Eio's ``File.rw``)."""

    async def pwrite(self, file_offset: int, bufs: Sequence[bytes | memoryview], /) -> int:
        """One write of (some of) ``bufs`` at ``file_offset``; return how many bytes went (at least one)."""
        ...

    async def sync(self) -> None:
        """Flush the file's data and metadata to the storage device (``fsync``)."""
        ...

    async def truncate(self, length: int, /) -> None:
        """Set the file's length (``ftruncate``): cut, or extend with zeros."""
        ...


Buffer: TypeAlias = "memoryview | bytearray"
"""A writable buffer."""


def _view(b: object, who: str, writable: bool) -> memoryview:
    try:
        mv = memoryview(b)  # pyright: ignore[reportArgumentType] - any buffer from untyped callers
    except TypeError:
        kind = "writable bytes-like object (bytearray or memoryview)" if writable else "bytes-like object"
        raise TypeError(f"{who}: each buffer must be a {kind}, got {type(b).__name__}") from None
    if writable and mv.readonly:
        raise TypeError(f"{who}: the buffer is read-only")
    return mv


def _views(bufs: Buffer | Sequence[Buffer], who: str) -> list[memoryview]:
    if isinstance(bufs, (memoryview, bytearray, bytes)):
        return [_view(bufs, who, True)]
    if isinstance(bufs, str):
        raise TypeError(f"{who}: bufs must be a writable buffer or a list of them, got str")
    return [_view(b, who, True) for b in bufs]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _plain_str(value: object) -> str | None:
    return str.__str__(value) if isinstance(value, str) else None


def _check_offset(file_offset: object, who: str) -> int:
    if not isinstance(file_offset, int) or isinstance(file_offset, bool):
        raise TypeError(f"{who}: file_offset must be an int, got {file_offset!r}")
    file_offset = int.__index__(file_offset)
    if file_offset < 0:
        raise ValueError(f"file_offset must not be negative (got {file_offset})")
    return file_offset


async def stat(file: Ro) -> Stat:
    """The metadata of the open ``file``."""
    return await file.stat()


async def size(file: Ro) -> int:
    """The size of the open ``file`` in bytes."""
    return (await file.stat()).size


async def pread(file: Ro, bufs: Buffer | Sequence[Buffer], *, file_offset: int) -> int:
    """One read at ``file_offset`` into ``bufs``; return how many bytes (maybe fewer than asked).

    Raises `eio.EndOfFile` at (or beyond) the end of the file. The file
    position is not used or moved; for reading at the position use
    `eio.flow.single_read`.
    """
    file_offset = _check_offset(file_offset, "eio.file.pread")
    return await file.pread(file_offset, _views(bufs, "eio.file.pread"))


async def pread_exact(file: Ro, bufs: Buffer | Sequence[Buffer], *, file_offset: int) -> None:
    """Read at ``file_offset`` until ``bufs`` are full; `eio.EndOfFile` if the file ends first."""
    file_offset = _check_offset(file_offset, "eio.file.pread_exact")
    views = [v for v in _views(bufs, "eio.file.pread_exact") if len(v)]
    while views:
        n = await file.pread(file_offset, views)
        file_offset += n
        views = _advance(views, n)


async def pwrite_single(file: Rw, bufs: bytes | Buffer | Sequence[bytes | Buffer], *, file_offset: int) -> int:
    """One write of (some of) ``bufs`` at ``file_offset``; return how many bytes were written."""
    file_offset = _check_offset(file_offset, "eio.file.pwrite_single")
    return await file.pwrite(file_offset, _readable(bufs, "eio.file.pwrite_single"))


async def pwrite_all(file: Rw, bufs: bytes | Buffer | Sequence[bytes | Buffer], *, file_offset: int) -> None:
    """Write all of ``bufs`` at ``file_offset`` (looping over short writes)."""
    file_offset = _check_offset(file_offset, "eio.file.pwrite_all")
    views = [v for v in _readable(bufs, "eio.file.pwrite_all") if len(v)]
    while views:
        n = await file.pwrite(file_offset, views)
        file_offset += n
        views = _advance(views, n)


async def seek(file: Ro, offset: int, whence: SeekWhence = "set") -> int:
    """Set the file position (like ``lseek``) and return it, counted from the start."""
    if not _is_int(offset):
        raise TypeError(f"eio.file.seek: offset must be an int, got {offset!r}")
    # A plain str and int: a subclass's __eq__ must not pass the check and mean something else.
    name = _plain_str(whence)
    for w in ("set", "cur", "end"):
        if name == w:
            return await file.seek(int.__index__(offset), w)
    raise ValueError(f"whence must be 'set', 'cur' or 'end', not {whence!r}")


async def sync(file: Rw) -> None:
    """Flush the file to its storage device (like ``fsync``)."""
    await file.sync()


async def truncate(file: Rw, length: int) -> None:
    """Set the length of the file (like ``ftruncate``)."""
    if not _is_int(length):
        raise TypeError(f"eio.file.truncate: length must be an int, got {length!r}")
    length = int.__index__(length)
    if length < 0:
        raise ValueError(f"length must not be negative (got {length})")
    await file.truncate(length)


def _readable(bufs: bytes | Buffer | Sequence[bytes | Buffer], who: str) -> list[memoryview]:
    if isinstance(bufs, (bytes, bytearray, memoryview)):
        return [memoryview(bufs)]
    if isinstance(bufs, str):
        raise TypeError(f"{who}: bufs must be bytes-like or a list of bytes-like buffers, got str (encode it first)")
    return [_view(b, who, False) for b in bufs]


def _advance(views: list[memoryview], n: int) -> list[memoryview]:
    """``views`` without their first ``n`` bytes."""
    i = 0
    while i < len(views) and n >= len(views[i]):
        n -= len(views[i])
        i += 1
    rest = views[i:]
    if rest and n:
        rest[0] = rest[0][n:]
    return rest
