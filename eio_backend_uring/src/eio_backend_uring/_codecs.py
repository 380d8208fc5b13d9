"""Struct codecs: socket addresses and ``struct statx``, to and from the kernel's binary layouts."""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import sys
from typing import Final

if sys.platform != "linux":
    raise ImportError(f"eio_backend_uring._codecs is Linux-only (platform is {sys.platform})")


# ---------------------------------------------------------------------------
# Socket addresses.
# ---------------------------------------------------------------------------

FAMILY: Final = struct.Struct("<H")  # sa_family_t, host order
PORT: Final = struct.Struct("!H")  # network order
IN6_TAIL: Final = struct.Struct("<I")  # sin6_scope_id, host order
FLOWINFO: Final = struct.Struct("!I")


SockAddress = tuple[str, int] | tuple[str, int, int, int] | str | bytes
"""A socket address as the ``socket`` module spells it (see :func:`encode_sockaddr`)."""


def encode_sockaddr(family: int, address: SockAddress | tuple[str, int, int]) -> bytes:
    """Encode a Python-style socket address as the kernel's ``struct sockaddr_*``.

    ``AF_INET``: ``(host, port)`` with a numeric IPv4 host. ``AF_INET6``:
    ``(host, port[, flowinfo[, scope_id]])`` with a numeric host. ``AF_UNIX``:
    a path (``str`` or ``bytes``); a leading NUL makes an abstract name.
    Name resolution is the caller's business (this is the kernel ABI layer).
    """
    if family == socket.AF_INET or family == socket.AF_INET6:
        if isinstance(address, (str, bytes)):
            raise TypeError(f"an internet address is a (host, port) tuple, not {address!r}")
        host, port = address[0], address[1]
        if family == socket.AF_INET:
            return FAMILY.pack(family) + PORT.pack(port) + socket.inet_pton(family, host) + bytes(8)
        flowinfo = address[2] if len(address) > 2 else 0
        scope_id = address[3] if len(address) > 3 else 0
        return (
            FAMILY.pack(family)
            + PORT.pack(port)
            + FLOWINFO.pack(flowinfo)
            + socket.inet_pton(family, host)
            + IN6_TAIL.pack(scope_id)
        )
    if family == socket.AF_UNIX:
        if isinstance(address, tuple):
            raise TypeError("an AF_UNIX address is a path (str or bytes)")
        path = os.fsencode(address)
        if not path.startswith(b"\0"):
            path += b"\0"  # filesystem names are NUL-terminated, abstract ones are not
        if len(path) > 108:  # sizeof(sun_path)
            raise ValueError("AF_UNIX path too long")
        return FAMILY.pack(family) + path
    raise ValueError(f"unsupported address family {family}")


class Statx:
    """A pinned ``struct statx`` (256 bytes) that :meth:`Ring.prep_statx` fills; reusable.

    Read the fields after the op's completion (and only if ``res == 0``).
    Times are integers in nanoseconds since the epoch.
    """

    __slots__ = ("_anchor", "_mem", "address")

    _HEAD: Final = struct.Struct("<IIQIIIH2xQQQQ")  # bytes 0..64
    _TIME: Final = struct.Struct("<qI4x")  # struct statx_timestamp
    _DEV: Final = struct.Struct("<IIII")  # rdev major/minor, dev major/minor at 128

    def __init__(self) -> None:
        """Allocate and pin the 256-byte buffer."""
        self._mem = bytearray(256)
        self._anchor = ctypes.c_char.from_buffer(self._mem)
        self.address: int = ctypes.addressof(self._anchor)

    def _head(self, index: int) -> int:
        value: int = self._HEAD.unpack_from(self._mem, 0)[index]
        return value

    def _time_ns(self, offset: int) -> int:
        seconds, nanoseconds = self._TIME.unpack_from(self._mem, offset)
        return seconds * 1_000_000_000 + nanoseconds

    @property
    def mask(self) -> int:
        """``stx_mask``: which fields the kernel filled in (``STATX_*`` bits)."""
        return self._head(0)

    @property
    def blksize(self) -> int:
        """Preferred I/O block size."""
        return self._head(1)

    @property
    def attributes(self) -> int:
        """``STATX_ATTR_*`` flags."""
        return self._head(2)

    @property
    def nlink(self) -> int:
        """Number of hard links."""
        return self._head(3)

    @property
    def uid(self) -> int:
        """Owner's user id."""
        return self._head(4)

    @property
    def gid(self) -> int:
        """Owner's group id."""
        return self._head(5)

    @property
    def mode(self) -> int:
        """File type and permission bits (as ``os.stat_result.st_mode``)."""
        return self._head(6)

    @property
    def ino(self) -> int:
        """Inode number."""
        return self._head(7)

    @property
    def size(self) -> int:
        """Size in bytes."""
        return self._head(8)

    @property
    def blocks(self) -> int:
        """Number of 512-byte blocks allocated."""
        return self._head(9)

    @property
    def atime_ns(self) -> int:
        """Last access time."""
        return self._time_ns(0x40)

    @property
    def btime_ns(self) -> int:
        """Creation time (if ``mask & STATX_BTIME``)."""
        return self._time_ns(0x50)

    @property
    def ctime_ns(self) -> int:
        """Last status change time."""
        return self._time_ns(0x60)

    @property
    def mtime_ns(self) -> int:
        """Last modification time."""
        return self._time_ns(0x70)

    @property
    def rdev(self) -> tuple[int, int]:
        """``(major, minor)`` of the device this special file is."""
        major, minor, _, _ = self._DEV.unpack_from(self._mem, 0x80)
        return major, minor

    @property
    def dev(self) -> tuple[int, int]:
        """``(major, minor)`` of the device holding the file."""
        _, _, major, minor = self._DEV.unpack_from(self._mem, 0x80)
        return major, minor
