"""The kernel-ABI layer of the io_uring backend: one ring, standard library only.

A :class:`Ring` owns an io_uring instance: the file descriptor returned by
``io_uring_setup(2)``, the shared submission queue (SQ) and completion queue (CQ)
mapped with :mod:`mmap`, and the array of submission queue entries (SQEs).
It knows nothing about fibers or scheduling; the backend's scheduler builds on it.

How it is used::

    with Ring(256) as ring:
        ring.prep_read(7, fd, buf, offset=0)     # fills one SQE, returns nothing
        ring.prep_nop(8)
        ring.submit_and_wait(1)                  # one io_uring_enter for the batch
        for user_data, res, flags in ring.completions():
            ...                                  # res is the result or -errno

Design points, each explained where it is implemented:

* Every ``prep_*`` method writes all 64 bytes of one SQE straight into the
  shared mapping with a precompiled :class:`struct.Struct`; nothing reaches the
  kernel until :meth:`Ring.submit_and_wait`, which enters once for the whole
  batch. When the SQ is full a ``prep_*`` call flushes it first.
* Buffer lifetime: the ring keeps a strong reference to every object whose
  address went into an SQE (buffers, socket addresses, ``open_how``, paths,
  timespecs, iovec arrays, statx buffers), keyed by ``user_data``, and drops it
  only when *that operation's own* completion is reaped. The kernel can never
  write into memory Python has freed, even if the caller forgets the object.
  Consequently ``user_data`` must be unique among operations in flight; the
  ring checks this and raises :class:`ValueError` on reuse.
* Taking the address of a buffer ("pinning") costs about 500 ns for a
  ``bytearray`` or writable ``memoryview`` (``ctypes.c_char.from_buffer``) and
  about 1 us for a read-only ``memoryview``; ``bytes`` are cheap (~70 ns).
  Callers on hot paths should pool buffers and pin them once with
  :class:`Pinned`, which every buffer-taking method accepts.
* Failed operations come back as a negative ``res`` (``-errno``), untouched.
  Failed system calls raise :class:`OSError` naming the call.

Limits: the shared-memory protocol here relies on x86-64's ordering of plain
loads and stores (the stdlib cannot issue memory barriers), so
:func:`unavailable_reason` refuses other machines. A ring is used from one
thread at a time and must not be used in a forked child.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import platform
import socket
import struct
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final, final

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, StrOrBytesPath, WriteableBuffer

# Everything below is Linux ABI. Failing the import elsewhere (rather than
# half-working) also tells pyright's per-platform checks that the rest of the
# module is Linux-only. Callers check the platform before importing.
if sys.platform != "linux":
    raise ImportError(f"eio_backend_uring._ring is Linux-only (platform is {sys.platform})")

__all__ = [
    "Completion",
    "MsgHdr",
    "Pinned",
    "SockAddress",
    "REQUIRED_FEATURES",
    "REQUIRED_OPS",
    "Ring",
    "SockAddrBuf",
    "Statx",
    "decode_sockaddr",
    "encode_sockaddr",
    "unavailable_reason",
]

Completion = tuple[int, int, int]
"""One reaped completion: ``(user_data, res, flags)``; ``res < 0`` is ``-errno``."""

# ---------------------------------------------------------------------------
# Kernel ABI constants (include/uapi/linux/io_uring.h and friends).
# ---------------------------------------------------------------------------

_NR_IO_URING_SETUP: Final = 425
_NR_IO_URING_ENTER: Final = 426
_NR_IO_URING_REGISTER: Final = 427

IORING_OP_NOP: Final = 0
IORING_OP_READV: Final = 1
IORING_OP_WRITEV: Final = 2
IORING_OP_FSYNC: Final = 3
IORING_OP_POLL_ADD: Final = 6
IORING_OP_POLL_REMOVE: Final = 7
IORING_OP_SENDMSG: Final = 9
IORING_OP_RECVMSG: Final = 10
IORING_OP_TIMEOUT: Final = 11
IORING_OP_TIMEOUT_REMOVE: Final = 12
IORING_OP_ACCEPT: Final = 13
IORING_OP_ASYNC_CANCEL: Final = 14
IORING_OP_CONNECT: Final = 16
IORING_OP_OPENAT: Final = 18
IORING_OP_CLOSE: Final = 19
IORING_OP_STATX: Final = 21
IORING_OP_READ: Final = 22
IORING_OP_WRITE: Final = 23
IORING_OP_SEND: Final = 26
IORING_OP_RECV: Final = 27
IORING_OP_OPENAT2: Final = 28
IORING_OP_SPLICE: Final = 30
IORING_OP_SHUTDOWN: Final = 34
IORING_OP_RENAMEAT: Final = 35
IORING_OP_UNLINKAT: Final = 36
IORING_OP_MKDIRAT: Final = 37
IORING_OP_SYMLINKAT: Final = 38
IORING_OP_LINKAT: Final = 39

OP_NAMES: Final[dict[int, str]] = {
    value: name[len("IORING_OP_") :]
    for name, value in list(globals().items())
    if name.startswith("IORING_OP_") and isinstance(value, int)
}
"""Opcode number -> name (``"READ"``), for messages."""

# io_uring_setup flags.
IORING_SETUP_IOPOLL: Final = 1 << 0
IORING_SETUP_SQPOLL: Final = 1 << 1
IORING_SETUP_CQSIZE: Final = 1 << 3
IORING_SETUP_CLAMP: Final = 1 << 4
IORING_SETUP_SUBMIT_ALL: Final = 1 << 7
IORING_SETUP_COOP_TASKRUN: Final = 1 << 8
IORING_SETUP_TASKRUN_FLAG: Final = 1 << 9
IORING_SETUP_SINGLE_ISSUER: Final = 1 << 12
IORING_SETUP_DEFER_TASKRUN: Final = 1 << 13
# The flags a caller may pass. The others change the memory layout (SQE128,
# CQE32, NO_SQARRAY, NO_MMAP), need a kernel thread or polled devices (SQPOLL,
# IOPOLL) or extra registration steps (R_DISABLED, ATTACH_WQ); this layer
# implements none of that.
_ALLOWED_SETUP_FLAGS: Final = (
    IORING_SETUP_CLAMP
    | IORING_SETUP_SUBMIT_ALL
    | IORING_SETUP_COOP_TASKRUN
    | IORING_SETUP_TASKRUN_FLAG
    | IORING_SETUP_SINGLE_ISSUER
    | IORING_SETUP_DEFER_TASKRUN
)

# io_uring_params.features.
IORING_FEAT_SINGLE_MMAP: Final = 1 << 0
IORING_FEAT_NODROP: Final = 1 << 1
IORING_FEAT_SUBMIT_STABLE: Final = 1 << 2
IORING_FEAT_RW_CUR_POS: Final = 1 << 3
IORING_FEAT_FAST_POLL: Final = 1 << 5
IORING_FEAT_EXT_ARG: Final = 1 << 8

REQUIRED_FEATURES: Final[dict[int, str]] = {
    IORING_FEAT_NODROP: "IORING_FEAT_NODROP (Linux 5.5)",
    IORING_FEAT_SUBMIT_STABLE: "IORING_FEAT_SUBMIT_STABLE (Linux 5.5)",
    IORING_FEAT_RW_CUR_POS: "IORING_FEAT_RW_CUR_POS (Linux 5.6)",
    IORING_FEAT_FAST_POLL: "IORING_FEAT_FAST_POLL (Linux 5.7)",
    IORING_FEAT_EXT_ARG: "IORING_FEAT_EXT_ARG (Linux 5.11)",
}
"""Features :func:`unavailable_reason` insists on, with the kernel that added them.

NODROP: completions are never lost when the CQ is full. SUBMIT_STABLE: data
for a submitted SQE is copied at submission. RW_CUR_POS: offset -1 means the
file position. FAST_POLL: socket ops wait by polling instead of blocking a
kernel worker thread. EXT_ARG: timed waits without a TIMEOUT SQE.
"""

# io_uring_enter flags.
IORING_ENTER_GETEVENTS: Final = 1 << 0
IORING_ENTER_EXT_ARG: Final = 1 << 3

# sq_ring->flags set by the kernel: either means "enter with GETEVENTS so I can
# flush overflowed completions / run deferred task work".
_IORING_SQ_CQ_OVERFLOW: Final = 1 << 1
_IORING_SQ_TASKRUN: Final = 1 << 2
_SQ_NEEDS_ENTER: Final = _IORING_SQ_CQ_OVERFLOW | _IORING_SQ_TASKRUN

# cqe->flags.
IORING_CQE_F_BUFFER: Final = 1 << 0
IORING_CQE_F_MORE: Final = 1 << 1
IORING_CQE_F_SOCK_NONEMPTY: Final = 1 << 2

# Per-op flags.
IORING_FSYNC_DATASYNC: Final = 1 << 0
IORING_TIMEOUT_ABS: Final = 1 << 0
IORING_TIMEOUT_BOOTTIME: Final = 1 << 2
IORING_TIMEOUT_REALTIME: Final = 1 << 3
IORING_TIMEOUT_ETIME_SUCCESS: Final = 1 << 5
IORING_POLL_ADD_MULTI: Final = 1 << 0
IORING_ASYNC_CANCEL_ALL: Final = 1 << 0
IORING_ASYNC_CANCEL_FD: Final = 1 << 1
IORING_ASYNC_CANCEL_ANY: Final = 1 << 2
IORING_RECVSEND_POLL_FIRST: Final = 1 << 0

# io_uring_register opcodes.
IORING_REGISTER_PROBE: Final = 8
_IO_URING_OP_SUPPORTED: Final = 1 << 0
_PROBE_OPS: Final = 256  # room for every possible 8-bit opcode

# openat2(2) resolve flags (linux/openat2.h).
RESOLVE_NO_XDEV: Final = 0x01
RESOLVE_NO_MAGICLINKS: Final = 0x02
RESOLVE_NO_SYMLINKS: Final = 0x04
RESOLVE_BENEATH: Final = 0x08
RESOLVE_IN_ROOT: Final = 0x10
RESOLVE_CACHED: Final = 0x20

# *at(2) flags (linux/fcntl.h).
AT_FDCWD: Final = -100
AT_SYMLINK_NOFOLLOW: Final = 0x100
AT_REMOVEDIR: Final = 0x200
AT_SYMLINK_FOLLOW: Final = 0x400
AT_EMPTY_PATH: Final = 0x1000

# statx(2) masks (linux/stat.h).
STATX_TYPE: Final = 0x001
STATX_MODE: Final = 0x002
STATX_NLINK: Final = 0x004
STATX_UID: Final = 0x008
STATX_GID: Final = 0x010
STATX_ATIME: Final = 0x020
STATX_MTIME: Final = 0x040
STATX_CTIME: Final = 0x080
STATX_INO: Final = 0x100
STATX_SIZE: Final = 0x200
STATX_BLOCKS: Final = 0x400
STATX_BASIC_STATS: Final = 0x7FF
STATX_BTIME: Final = 0x800

REQUIRED_OPS: Final[frozenset[int]] = frozenset(
    {
        IORING_OP_NOP,
        IORING_OP_READ,
        IORING_OP_WRITE,
        IORING_OP_READV,
        IORING_OP_WRITEV,
        IORING_OP_FSYNC,
        IORING_OP_POLL_ADD,
        IORING_OP_POLL_REMOVE,
        IORING_OP_SEND,
        IORING_OP_RECV,
        IORING_OP_SENDMSG,
        IORING_OP_RECVMSG,
        IORING_OP_ACCEPT,
        IORING_OP_CONNECT,
        IORING_OP_SHUTDOWN,
        IORING_OP_CLOSE,
        IORING_OP_OPENAT2,
        IORING_OP_STATX,
        IORING_OP_TIMEOUT,
        IORING_OP_TIMEOUT_REMOVE,
        IORING_OP_ASYNC_CANCEL,
        IORING_OP_UNLINKAT,
        IORING_OP_MKDIRAT,
        IORING_OP_RENAMEAT,
        IORING_OP_SYMLINKAT,
    }
)
"""Opcodes :func:`unavailable_reason` checks for by default (all present in 5.15).

SPLICE and LINKAT are offered by :class:`Ring` too but not required: a backend
that uses them should check :meth:`Ring.probe` itself.
"""

_M32: Final = 0xFFFFFFFF  # ring head/tail are free-running u32 counters
_U64: Final = 0xFFFFFFFFFFFFFFFF
# Linux clamps one read/write to MAX_RW_COUNT (INT_MAX rounded down to a page);
# clamping here keeps the SQE's 32-bit length field valid for huge buffers.
# Short transfers are normal results, callers already loop.
_MAX_RW: Final = 0x7FFFF000
# Reserved user_data for the cancellations close() issues.
_CLOSE_USER_DATA: Final = _U64
# How long close() waits for cancelled operations before abandoning their buffers.
_CLOSE_GRACE_SECONDS: Final = 2.0

# ---------------------------------------------------------------------------
# Struct layouts, compiled once (struct.Struct.pack_into is the fast path).
# ---------------------------------------------------------------------------

# struct io_uring_sqe, 64 bytes, every field written on every SQE:
#   u8 opcode, u8 flags, u16 ioprio, s32 fd, u64 off|addr2, u64 addr|splice_off_in,
#   u32 len, u32 op_flags (rw/msg/open/... flags), u64 user_data,
#   u16 buf_index, u16 personality, s32 splice_fd_in|file_index, u64 addr3, u64 pad.
# `off` is packed signed so -1 ("current position" / "no offset") needs no masking.
_SQE: Final = struct.Struct("<BBHiqQIIQHHiQQ")
_SQE_SIZE: Final = 64
assert _SQE.size == _SQE_SIZE
_pack_sqe: Final = _SQE.pack_into  # bound once: saves an attribute lookup per SQE
_SQE_USER_DATA: Final = struct.Struct("<Q")  # at byte 32 of an SQE
# struct io_uring_cqe: u64 user_data, s32 res, u32 flags.
_CQE: Final = struct.Struct("<QiI")
_CQE_SIZE: Final = 16
# struct io_uring_params: 10 u32 (incl. resv[3]), io_sqring_offsets (8 u32 + u64),
# io_cqring_offsets (8 u32 + u64); 120 bytes.
_PARAMS: Final = struct.Struct("<10I8IQ8IQ")
assert _PARAMS.size == 120
# struct __kernel_timespec: s64 tv_sec, s64 tv_nsec.
_TIMESPEC: Final = struct.Struct("<qq")
# struct io_uring_getevents_arg: u64 sigmask, u32 sigmask_sz, u32 pad, u64 ts.
_GETEVENTS_ARG: Final = struct.Struct("<QIIQ")
# struct open_how: u64 flags, u64 mode, u64 resolve.
_OPEN_HOW: Final = struct.Struct("<QQQ")
# struct iovec: void *iov_base, size_t iov_len.
_IOVEC: Final = struct.Struct("<QQ")
# struct msghdr (x86-64): name ptr, u32 namelen (+4 pad), iov ptr, size_t iovlen,
# control ptr, size_t controllen, s32 flags (+4 pad); 56 bytes.
_MSGHDR: Final = struct.Struct("<QI4xQQQQi4x")
assert _MSGHDR.size == 56
_U32: Final = struct.Struct("<I")
_SOCKADDR_STORAGE: Final = 128  # sizeof(struct sockaddr_storage)
_PROBE_HEADER: Final = struct.Struct("<BBH12x")  # last_op, ops_len, resv, resv2[3]
_PROBE_OP: Final = struct.Struct("<BBHI")  # op, resv, flags, resv2

# ---------------------------------------------------------------------------
# System calls through ctypes.
# ---------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)

# Hot path: io_uring_enter. Deliberately *without* argtypes, which triples the
# call cost; instead every argument that is not a plain 32-bit int is passed as
# an explicit ctypes object: the argument pointer as a ctypes array (passed as
# a pointer) or None (NULL), and `argsz` as a c_size_t. That matters: syscall()
# is variadic and `argsz` is its 7th argument, which goes on the stack; a bare
# Python int there is written as 4 bytes and the upper half is garbage, which
# shows up as random EINVAL on timed waits. The 32-bit arguments are fine as
# ints (libffi sign-extends them into full registers, the kernel truncates).
# Indexing (not attribute access) gives a function object of our own, so
# argtypes set below do not leak to other users of `_libc.syscall`.
_sys_enter = _libc["syscall"]
_sys_enter.restype = ctypes.c_long
_ARGSZ_NONE: Final = ctypes.c_size_t(0)
_ARGSZ_EXT: Final = ctypes.c_size_t(_GETEVENTS_ARG.size)

# Cold paths: typed properly, the cost does not matter.
_sys_setup = _libc["syscall"]
_sys_setup.restype = ctypes.c_long
_sys_setup.argtypes = [ctypes.c_long, ctypes.c_uint, ctypes.c_void_p]
_sys_register = _libc["syscall"]
_sys_register.restype = ctypes.c_long
_sys_register.argtypes = [ctypes.c_long, ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_uint]


def _syscall_error(call: str, err: int) -> OSError:
    """An OSError (of the errno-specific subclass) naming the failed call."""
    return OSError(err, f"{call} failed: {os.strerror(err)}")


# ---------------------------------------------------------------------------
# Buffer addresses ("pinning").
# ---------------------------------------------------------------------------


def _bytes_data_offset() -> int:
    """Offset of a ``bytes`` object's data from its ``id()``, or 0 if unusable.

    On CPython ``id()`` is the object's address and a bytes object's data sits
    at a fixed offset after its header, so ``id(b) + offset`` is the data's
    address (~70 ns) where going through ``ctypes.c_char_p`` costs ~450 ns.
    The offset is measured here with ctypes, not assumed, and checked on a
    second object; any other implementation falls back to ctypes.
    """
    if sys.implementation.name != "cpython":
        return 0
    offsets: set[int] = set()
    for probe in (b"eio probe one", bytes(range(40))):
        address = ctypes.c_void_p.from_buffer(ctypes.c_char_p(probe)).value
        if address is None:
            return 0
        offsets.add(address - id(probe))
    offset = offsets.pop()
    return offset if not offsets and 0 < offset <= 128 else 0


_BYTES_DATA_OFFSET: Final = _bytes_data_offset()


def _bytes_address(data: bytes) -> int:
    """Address of the data of an exact ``bytes`` object (the object itself is the anchor)."""
    if _BYTES_DATA_OFFSET:
        return id(data) + _BYTES_DATA_OFFSET
    address = ctypes.c_void_p.from_buffer(ctypes.c_char_p(data)).value
    return address or 0


class _PyBuffer(ctypes.Structure):
    """CPython's ``Py_buffer``, to read the address of a read-only buffer."""

    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_void_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]
    buf: int | None
    len: int


# CPython's buffer protocol, for the addresses of read-only buffers. Indexing
# `pythonapi` (not attribute access) gives function objects of our own, so the
# argtypes set here cannot clash with anyone else's use of these functions.
_pythonapi = getattr(ctypes, "pythonapi", None)
if _pythonapi is not None:
    _get_buffer = _pythonapi["PyObject_GetBuffer"]
    _get_buffer.argtypes = [ctypes.py_object, ctypes.c_void_p, ctypes.c_int]
    _get_buffer.restype = ctypes.c_int
    _release_buffer = _pythonapi["PyBuffer_Release"]
    _release_buffer.argtypes = [ctypes.c_void_p]
    _release_buffer.restype = None


def _readonly_address(view: memoryview) -> int:
    """Address of a C-contiguous read-only buffer (~1 us).

    ctypes' ``from_buffer`` refuses read-only buffers and nothing else in the
    stdlib exposes the address of, say, ``memoryview(some_bytes)[n:]``, so ask
    CPython's buffer protocol directly. The buffer is released right away; the
    caller keeps ``view`` (a memoryview of its own, which the user cannot
    release) alive instead, and that keeps the memory where it is.
    """
    if _pythonapi is None:  # pragma: no cover - not CPython
        raise BufferError("read-only buffers other than bytes need CPython; pass bytes or a writable buffer")
    info = _PyBuffer()
    _get_buffer(view, ctypes.addressof(info), 0)  # PyBUF_SIMPLE: contiguous bytes; raises on error
    try:
        return info.buf or 0
    finally:
        _release_buffer(ctypes.addressof(info))


def _pin_writable(buf: WriteableBuffer | Pinned) -> tuple[int, int, object]:
    """``(address, nbytes, anchor)`` of a writable buffer; keep ``anchor`` alive while in use.

    The anchor of a bytearray or writable memoryview is a ``ctypes.c_char``
    made with ``from_buffer``: it holds a buffer export of its own, so the
    object cannot be resized (``BufferError``) while the kernel may write into it.
    """
    if type(buf) is Pinned:
        if buf.readonly:
            raise TypeError("a writable buffer is required, this Pinned buffer is read-only")
        return buf.address, buf.nbytes, buf
    view = memoryview(buf)
    if view.readonly:
        raise TypeError(f"a writable buffer is required, not read-only {type(buf).__name__}")
    nbytes = view.nbytes
    if nbytes == 0:
        return 0, 0, view
    anchor = ctypes.c_char.from_buffer(view)  # TypeError if not C-contiguous
    return ctypes.addressof(anchor), nbytes, anchor


def _pin_readable(buf: ReadableBuffer | Pinned) -> tuple[int, int, object]:
    """``(address, nbytes, anchor)`` of any buffer the kernel will only read from."""
    if type(buf) is bytes:
        return _bytes_address(buf), len(buf), buf
    if type(buf) is Pinned:
        return buf.address, buf.nbytes, buf
    view = memoryview(buf)
    nbytes = view.nbytes
    if nbytes == 0:
        return 0, 0, view
    if not view.readonly:
        anchor = ctypes.c_char.from_buffer(view)
        return ctypes.addressof(anchor), nbytes, anchor
    if not view.c_contiguous:
        raise BufferError("the buffer must be C-contiguous")
    return _readonly_address(view), nbytes, view


def _span(address: int, nbytes: int, start: int, length: int) -> tuple[int, int]:
    """Narrow ``(address, nbytes)`` to ``[start, start + length)``, bounds-checked."""
    if start < 0 or start > nbytes:
        raise ValueError(f"start={start} outside a buffer of {nbytes} bytes")
    available = nbytes - start
    if length < 0:
        length = available
    elif length > available:
        raise ValueError(f"length={length} past the end of a buffer of {nbytes} bytes (start={start})")
    return address + start, length


@final
class Pinned:
    """A buffer whose address was taken once, for reuse across many operations.

    Taking an address costs ~500 ns (bytearray, writable memoryview) to ~1 us
    (read-only memoryview); a ``Pinned`` pays it once, after which passing it
    to a ``prep_*`` method costs a few attribute reads. Pool these for hot
    paths. While a ``Pinned`` exists its bytearray cannot be resized.

    Attributes: ``obj`` (the original object), ``address``, ``nbytes``,
    ``readonly`` (true for ``bytes`` and read-only views: usable for writes and
    sends only).
    """

    __slots__ = ("_anchor", "address", "nbytes", "obj", "readonly")

    def __init__(self, buf: ReadableBuffer) -> None:
        """Pin ``buf``: a bytes-like object exporting a C-contiguous buffer."""
        self.obj: ReadableBuffer = buf
        view = memoryview(buf)
        self.readonly: bool = view.readonly
        self.address: int
        self.nbytes: int
        self._anchor: object
        if self.readonly:
            self.address, self.nbytes, self._anchor = _pin_readable(buf)
        else:
            self.address, self.nbytes, self._anchor = _pin_writable(view)

    def __repr__(self) -> str:
        """Show what is pinned, not the contents."""
        kind = "read-only" if self.readonly else "writable"
        return f"<Pinned {kind} {type(self.obj).__name__} of {self.nbytes} bytes at {self.address:#x}>"


def _path_bytes(path: StrOrBytesPath) -> bytes:
    """A NUL-terminated path for the kernel (fs encoding, like the ``os`` module)."""
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise ValueError("embedded null byte in path")
    return encoded + b"\0"


# ---------------------------------------------------------------------------
# Socket addresses.
# ---------------------------------------------------------------------------

_FAMILY: Final = struct.Struct("<H")  # sa_family_t, host order
_PORT: Final = struct.Struct("!H")  # network order
_IN6_TAIL: Final = struct.Struct("<I")  # sin6_scope_id, host order
_FLOWINFO: Final = struct.Struct("!I")


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
            return _FAMILY.pack(family) + _PORT.pack(port) + socket.inet_pton(family, host) + bytes(8)
        flowinfo = address[2] if len(address) > 2 else 0
        scope_id = address[3] if len(address) > 3 else 0
        return (
            _FAMILY.pack(family)
            + _PORT.pack(port)
            + _FLOWINFO.pack(flowinfo)
            + socket.inet_pton(family, host)
            + _IN6_TAIL.pack(scope_id)
        )
    if family == socket.AF_UNIX:
        if isinstance(address, tuple):
            raise TypeError("an AF_UNIX address is a path (str or bytes)")
        path = os.fsencode(address)
        if not path.startswith(b"\0"):
            path += b"\0"  # filesystem names are NUL-terminated, abstract ones are not
        if len(path) > 108:  # sizeof(sun_path)
            raise ValueError("AF_UNIX path too long")
        return _FAMILY.pack(family) + path
    raise ValueError(f"unsupported address family {family}")


def decode_sockaddr(raw: bytes) -> SockAddress:
    """Decode a kernel ``struct sockaddr_*`` the way the ``socket`` module reports it.

    ``AF_INET`` -> ``(host, port)``; ``AF_INET6`` -> ``(host, port, flowinfo,
    scope_id)``; ``AF_UNIX`` -> ``str`` path, ``bytes`` for an abstract name,
    ``""`` for an unnamed socket; anything else -> the raw bytes.
    """
    if len(raw) < 2:
        return raw
    family: int = _FAMILY.unpack_from(raw)[0]
    if family == socket.AF_INET and len(raw) >= 8:
        port: int = _PORT.unpack_from(raw, 2)[0]
        return socket.inet_ntop(family, raw[4:8]), port
    if family == socket.AF_INET6 and len(raw) >= 28:
        port6: int = _PORT.unpack_from(raw, 2)[0]
        flowinfo: int = _FLOWINFO.unpack_from(raw, 4)[0]
        scope_id: int = _IN6_TAIL.unpack_from(raw, 24)[0]
        return socket.inet_ntop(family, raw[8:24]), port6, flowinfo, scope_id
    if family == socket.AF_UNIX:
        path = raw[2:]
        if path.startswith(b"\0"):
            return path
        return os.fsdecode(path.split(b"\0", 1)[0])
    return raw


class SockAddrBuf:
    """Room for a peer address that ACCEPT fills in; pinned once, reusable.

    Pass it to :meth:`Ring.prep_accept`; after that op's completion,
    :meth:`address` decodes what the kernel wrote. One op at a time.
    """

    __slots__ = ("_anchor", "_base", "_mem")

    def __init__(self) -> None:
        """Allocate a ``sockaddr_storage`` plus its ``socklen_t`` length word."""
        self._mem = bytearray(_SOCKADDR_STORAGE + 8)
        self._anchor = ctypes.c_char.from_buffer(self._mem)
        self._base = ctypes.addressof(self._anchor)

    def arm(self) -> tuple[int, int]:
        """Reset the length word; return ``(sockaddr address, socklen_t address)``.

        Low level: :meth:`Ring.prep_accept` calls this.
        """
        _U32.pack_into(self._mem, _SOCKADDR_STORAGE, _SOCKADDR_STORAGE)
        return self._base, self._base + _SOCKADDR_STORAGE

    def raw(self) -> bytes:
        """The address bytes the kernel wrote (bounded by the buffer)."""
        (length,) = _U32.unpack_from(self._mem, _SOCKADDR_STORAGE)
        return bytes(self._mem[: min(length, _SOCKADDR_STORAGE)])

    def address(self) -> SockAddress:
        """The address, decoded like the ``socket`` module (:func:`decode_sockaddr`)."""
        return decode_sockaddr(self.raw())


class MsgHdr:
    """A ``struct msghdr`` with one iovec and room for an address; pinned once, reusable.

    Used by :meth:`Ring.prep_sendmsg` (the destination address goes in it) and
    :meth:`Ring.prep_recvmsg` (the kernel writes the source address and
    ``msg_flags`` back into it; read them with :meth:`address` and
    :attr:`flags` after the completion). One op at a time per ``MsgHdr``.
    """

    __slots__ = ("_anchor", "_base", "_mem")

    # Layout of _mem: msghdr at 0, iovec at 56, sockaddr_storage at 72.
    _IOV_AT: Final = 56
    _NAME_AT: Final = 72

    def __init__(self) -> None:
        """Allocate and pin the header, iovec and address storage (one bytearray)."""
        self._mem = bytearray(self._NAME_AT + _SOCKADDR_STORAGE)
        self._anchor = ctypes.c_char.from_buffer(self._mem)
        self._base = ctypes.addressof(self._anchor)

    def fill(self, data_address: int, data_nbytes: int, name: bytes | None, *, receive: bool) -> int:
        """Point the header at one data buffer and return the header's address.

        Low level: :meth:`Ring.prep_sendmsg` / :meth:`Ring.prep_recvmsg` call
        this. ``name`` is the destination for a send (None: connected socket);
        for a receive the whole address storage is offered to the kernel.
        """
        mem, base = self._mem, self._base
        _IOVEC.pack_into(mem, self._IOV_AT, data_address, data_nbytes)
        if receive:
            name_address, name_len = base + self._NAME_AT, _SOCKADDR_STORAGE
        elif name is None:
            name_address, name_len = 0, 0  # connected socket: no destination
        else:
            if len(name) > _SOCKADDR_STORAGE:
                raise ValueError("socket address too long")
            mem[self._NAME_AT : self._NAME_AT + len(name)] = name
            name_address, name_len = base + self._NAME_AT, len(name)
        _MSGHDR.pack_into(mem, 0, name_address, name_len, base + self._IOV_AT, 1, 0, 0, 0)
        return base

    def raw_address(self) -> bytes:
        """The source address bytes RECVMSG wrote (``msg_namelen`` of them)."""
        (name_address, name_len) = _MSGHDR.unpack_from(self._mem, 0)[:2]
        if not name_address:
            return b""
        return bytes(self._mem[self._NAME_AT : self._NAME_AT + min(name_len, _SOCKADDR_STORAGE)])

    def address(self) -> SockAddress:
        """The source address of the last RECVMSG, decoded (:func:`decode_sockaddr`)."""
        return decode_sockaddr(self.raw_address())

    @property
    def flags(self) -> int:
        """``msg_flags`` as RECVMSG left them (e.g. ``MSG_TRUNC``)."""
        flags: int = _MSGHDR.unpack_from(self._mem, 0)[6]
        return flags


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


# Marks in-flight operations whose successful result is a new file descriptor,
# so close() can close descriptors whose completion nobody will ever see.
_FD_RESULT: Final = object()

# Objects pinned by operations that were still in flight when their ring was
# closed and did not complete within the grace period: kept alive forever, a
# small leak being far better than the kernel writing into freed memory.
_ABANDONED: list[object] = []


class Ring:
    """One io_uring instance: SQ, CQ and SQE array mapped into this process.

    ``prep_*`` methods each fill one SQE and return nothing; the first
    argument of each is the ``user_data`` (0 <= user_data < 2**64 - 1, unique
    among operations in flight) that comes back in the completion.
    :meth:`submit_and_wait` hands every queued SQE to the kernel in one
    ``io_uring_enter``; :meth:`completions` / :meth:`reap` read completions
    straight from shared memory. See the module docstring for buffer lifetime.
    """

    __slots__ = (
        "__weakref__",
        "_backlog",
        "_cq_bytes",
        "_cq_entries",
        "_cq_head",
        "_cq_head_i",
        "_cq_mask",
        "_cq_tail_i",
        "_cq_u32",
        "_cqes_at",
        "_events_always",
        "_fd",
        "_features",
        "_inflight",
        "_maps",
        "_sq_entries",
        "_sq_flags_i",
        "_sq_head_i",
        "_sq_mask",
        "_sq_limit",
        "_sq_tail",
        "_sq_tail_i",
        "_sq_u32",
        "_sqes",
        "_wait_arg",
    )

    def __init__(self, entries: int = 256, flags: int = 0, *, cq_entries: int | None = None) -> None:
        """Set up a ring with ``entries`` SQEs (rounded up to a power of two by the kernel).

        ``flags`` are ``IORING_SETUP_*`` bits; only those that keep the
        standard protocol are accepted (CLAMP, SUBMIT_ALL, COOP_TASKRUN,
        TASKRUN_FLAG, SINGLE_ISSUER, DEFER_TASKRUN). ``cq_entries`` sizes the
        CQ (default: twice the SQ). Raises OSError naming ``io_uring_setup``
        when the kernel refuses (see :func:`unavailable_reason` for why it might).
        """
        self._fd = -1  # first, so close()/__del__ work on a half-built ring
        self._maps: list[mmap.mmap] = []
        self._inflight: dict[int, object] = {}
        self._backlog: list[Completion] = []
        if flags & ~_ALLOWED_SETUP_FLAGS:
            raise ValueError(f"unsupported io_uring setup flags: {flags & ~_ALLOWED_SETUP_FLAGS:#x}")
        if entries < 1:
            raise ValueError("entries must be positive")

        # The params struct must be zeroed: the kernel rejects non-zero reserved
        # fields (EINVAL) and reads sq_thread_*/wq_fd for some flags.
        params = ctypes.create_string_buffer(_PARAMS.size)
        if cq_entries is not None:
            flags |= IORING_SETUP_CQSIZE
            _U32.pack_into(params, 4, cq_entries)
        _U32.pack_into(params, 8, flags)
        fd = _sys_setup(_NR_IO_URING_SETUP, entries, ctypes.addressof(params))
        if fd < 0:
            raise _syscall_error("io_uring_setup", ctypes.get_errno())
        self._fd = fd  # the kernel creates it O_CLOEXEC
        try:
            self._map(_PARAMS.unpack_from(params), flags)
        except BaseException:
            self._release()
            raise

    def _map(self, params: tuple[int, ...], flags: int) -> None:
        """mmap the rings and SQE array described by the returned params."""
        sq_entries, cq_entries, _flags, _cpu, _idle, features = params[:6]
        (sq_head, sq_tail, sq_mask_at, _sq_entries_at, sq_flags, _dropped, sq_array) = params[10:17]
        (cq_head, cq_tail, cq_mask_at, _cq_entries_at, _overflow, cqes) = params[19:25]
        self._features: int = features
        self._sq_entries: int = sq_entries
        self._cq_entries: int = cq_entries
        self._events_always: bool = bool(flags & IORING_SETUP_DEFER_TASKRUN)

        sq_size = sq_array + sq_entries * 4
        cq_size = cqes + cq_entries * _CQE_SIZE
        fd = self._fd
        if features & IORING_FEAT_SINGLE_MMAP:
            # 5.4+: both rings live in one mapping at the SQ offset.
            sq_map = cq_map = self._mmap(fd, max(sq_size, cq_size), 0)
        else:
            sq_map = self._mmap(fd, sq_size, 0)
            cq_map = self._mmap(fd, cq_size, 0x8000000)  # IORING_OFF_CQ_RING
        sqe_map = self._mmap(fd, sq_entries * _SQE_SIZE, 0x10000000)  # IORING_OFF_SQES

        # Typed views: u32 words for heads/tails/flags (one index operation per
        # access), bytes for the SQE array and CQEs (struct packs into them).
        self._sq_u32: memoryview = memoryview(sq_map).cast("I")
        self._cq_u32: memoryview = self._sq_u32 if cq_map is sq_map else memoryview(cq_map).cast("I")
        self._cq_bytes: memoryview = memoryview(cq_map)
        self._sqes: memoryview = memoryview(sqe_map)
        self._sq_head_i: int = sq_head // 4
        self._sq_tail_i: int = sq_tail // 4
        self._sq_flags_i: int = sq_flags // 4
        self._sq_mask: int = self._sq_u32[sq_mask_at // 4]
        self._cq_head_i: int = cq_head // 4
        self._cq_tail_i: int = cq_tail // 4
        self._cq_mask: int = self._cq_u32[cq_mask_at // 4]
        self._cqes_at: int = cqes

        # The SQ ring holds indices into the SQE array. Filling it once with the
        # identity means SQE slot `tail & mask` is always the one published at
        # `tail`, so submissions never touch this array again.
        sq_u32, array_i = self._sq_u32, sq_array // 4
        for i in range(sq_entries):
            sq_u32[array_i + i] = i
        # Our private copies of the counters: we are the only writer of the SQ
        # tail and the CQ head, so there is no need to read them back.
        self._sq_tail: int = sq_u32[self._sq_tail_i]
        # The SQ is full when our tail reaches this value (kernel head + size).
        # Comparing against it costs one attribute read per SQE; keeping a free
        # count instead would cost a read and a write.
        self._sq_limit: int = (self._sq_u32[self._sq_head_i] + sq_entries) & _M32
        self._cq_head: int = self._cq_u32[self._cq_head_i]

        # io_uring_getevents_arg and the timespec it points to, allocated once;
        # timed waits only rewrite the timespec.
        self._wait_arg = ctypes.create_string_buffer(_GETEVENTS_ARG.size + _TIMESPEC.size)
        _GETEVENTS_ARG.pack_into(self._wait_arg, 0, 0, 0, 0, ctypes.addressof(self._wait_arg) + _GETEVENTS_ARG.size)

    def _mmap(self, fd: int, size: int, offset: int) -> mmap.mmap:
        mapping = mmap.mmap(
            fd,
            size,
            mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),  # prefault: no page faults on first use
            mmap.PROT_READ | mmap.PROT_WRITE,
            offset=offset,
        )
        self._maps.append(mapping)
        madv_dontfork: int | None = getattr(mmap, "MADV_DONTFORK", None)
        if madv_dontfork is not None:
            # A forked child must not inherit the ring's pages: it could not use
            # the ring anyway, and sharing them would let it scribble on ours.
            try:
                mapping.madvise(madv_dontfork)
            except OSError:
                pass
        return mapping

    # ------------------------------------------------------------------ info

    def fileno(self) -> int:
        """The ring's file descriptor (readable in epoll/poll when completions are pending)."""
        return self._fd

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._fd < 0

    @property
    def features(self) -> int:
        """``IORING_FEAT_*`` bits the kernel reported at setup."""
        return self._features

    @property
    def sq_entries(self) -> int:
        """Size of the submission queue."""
        return self._sq_entries

    @property
    def cq_entries(self) -> int:
        """Size of the completion queue."""
        return self._cq_entries

    @property
    def in_flight(self) -> int:
        """Operations prepared whose completion has not been reaped yet (queued ones included)."""
        return len(self._inflight)

    @property
    def queued(self) -> int:
        """SQEs prepared but not yet accepted by the kernel."""
        return (self._sq_tail - self._sq_u32[self._sq_head_i]) & _M32

    def probe(self) -> frozenset[int]:
        """The opcodes this kernel supports (``IORING_REGISTER_PROBE``, Linux 5.6+)."""
        buffer = ctypes.create_string_buffer(_PROBE_HEADER.size + _PROBE_OPS * _PROBE_OP.size)
        address = ctypes.addressof(buffer)
        ret = _sys_register(_NR_IO_URING_REGISTER, self._fd, IORING_REGISTER_PROBE, address, _PROBE_OPS)
        if ret < 0:
            raise _syscall_error("io_uring_register(IORING_REGISTER_PROBE)", ctypes.get_errno())
        _last_op, ops_len, _resv = _PROBE_HEADER.unpack_from(buffer)
        supported: set[int] = set()
        for i in range(min(ops_len, _PROBE_OPS)):
            op, _resv1, op_flags, _resv2 = _PROBE_OP.unpack_from(buffer, _PROBE_HEADER.size + i * _PROBE_OP.size)
            if op_flags & _IO_URING_OP_SUPPORTED:
                supported.add(op)
        return frozenset(supported)

    # ------------------------------------------------------------ submission

    def _make_room(self) -> None:
        """The SQ is full: hand it to the kernel so that slots free up."""
        for _attempt in range(64):
            self.submit_and_wait(0)
            if self._sq_tail != self._sq_limit:
                return
        raise _syscall_error("io_uring_enter (submission queue full, kernel accepts nothing)", errno.EBUSY)

    def _push(
        self,
        user_data: int,
        anchor: object,
        opcode: int,
        fd: int,
        off: int,
        addr: int,
        length: int,
        op_flags: int,
        ioprio: int = 0,
        splice_fd_in: int = 0,
        addr3: int = 0,
    ) -> None:
        """Fill the next SQE (all 64 bytes) and record what it pins.

        Hot ``prep_*`` methods inline this body instead of calling it: a
        Python call with this many arguments costs ~100 ns, a third of an op.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        _pack_sqe(
            self._sqes,
            (tail & self._sq_mask) << 6,
            opcode, 0, ioprio, fd, off, addr, length, op_flags, user_data, 0, 0, splice_fd_in, addr3, 0,
        )  # fmt: skip
        # Only now, with the SQE fully written (pack_into raised nothing), commit it.
        self._sq_tail = (tail + 1) & _M32
        inflight[user_data] = anchor

    def prep_nop(self, user_data: int) -> None:
        """Queue a NOP: completes with ``res == 0``. Useful to wake or to measure."""
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        _pack_sqe(self._sqes, (tail & self._sq_mask) << 6, 0, 0, 0, -1, 0, 0, 0, 0, user_data, 0, 0, 0, 0, 0)
        self._sq_tail = (tail + 1) & _M32
        inflight[user_data] = None

    def prep_read(
        self,
        user_data: int,
        fd: int,
        buf: WriteableBuffer | Pinned,
        offset: int = -1,
        *,
        start: int = 0,
        length: int = -1,
    ) -> None:
        """Queue a READ into ``buf`` (or its ``[start, start+length)`` part) from ``fd``.

        ``offset`` is the file offset; -1 reads at (and advances) the file
        position. ``res`` is the byte count (0 at end of file) or ``-errno``.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        if type(buf) is bytearray and buf:
            # Fast path for the common case (~500 ns, the price of ctypes' from_buffer).
            char = ctypes.c_char.from_buffer(buf)
            address, nbytes, anchor = ctypes.addressof(char), len(buf), char
        else:
            address, nbytes, anchor = _pin_writable(buf)
        if start or length >= 0:
            address, nbytes = _span(address, nbytes, start, length)
        if nbytes > _MAX_RW:
            nbytes = _MAX_RW
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        _pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_READ, 0, 0, fd, offset, address, nbytes, 0, user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & _M32
        inflight[user_data] = anchor

    def prep_write(
        self,
        user_data: int,
        fd: int,
        buf: ReadableBuffer | Pinned,
        offset: int = -1,
        *,
        start: int = 0,
        length: int = -1,
    ) -> None:
        """Queue a WRITE of ``buf`` (or its ``[start, start+length)`` part) to ``fd``.

        ``offset`` is the file offset; -1 writes at (and advances) the file
        position. ``res`` is the byte count (possibly short) or ``-errno``.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        if type(buf) is bytes and _BYTES_DATA_OFFSET:
            # Fast path: see _bytes_data_offset (~70 ns instead of ~450 ns).
            address, nbytes, anchor = id(buf) + _BYTES_DATA_OFFSET, len(buf), buf
        else:
            address, nbytes, anchor = _pin_readable(buf)
        if start or length >= 0:
            address, nbytes = _span(address, nbytes, start, length)
        if nbytes > _MAX_RW:
            nbytes = _MAX_RW
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        _pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_WRITE, 0, 0, fd, offset, address, nbytes, 0, user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & _M32
        inflight[user_data] = anchor

    def _prep_vectored(
        self, user_data: int, opcode: int, fd: int, pins: list[tuple[int, int, object]], offset: int
    ) -> None:
        """Queue READV/WRITEV over already pinned buffers: build and pin the iovec array."""
        if not pins:
            raise ValueError("at least one buffer is required")
        iovecs = bytearray(_IOVEC.size * len(pins))
        for i, (address, nbytes, _anchor) in enumerate(pins):
            _IOVEC.pack_into(iovecs, i * _IOVEC.size, address, nbytes)
        iov_char = ctypes.c_char.from_buffer(iovecs)
        anchors = (iov_char, *(anchor for _address, _nbytes, anchor in pins))
        self._push(user_data, anchors, opcode, fd, offset, ctypes.addressof(iov_char), len(pins), 0)

    def prep_readv(self, user_data: int, fd: int, bufs: Sequence[WriteableBuffer | Pinned], offset: int = -1) -> None:
        """Queue a READV scattering into ``bufs`` (at most IOV_MAX of them)."""
        self._prep_vectored(user_data, IORING_OP_READV, fd, [_pin_writable(buf) for buf in bufs], offset)

    def prep_writev(self, user_data: int, fd: int, bufs: Sequence[ReadableBuffer | Pinned], offset: int = -1) -> None:
        """Queue a WRITEV gathering from ``bufs`` (at most IOV_MAX of them)."""
        self._prep_vectored(user_data, IORING_OP_WRITEV, fd, [_pin_readable(buf) for buf in bufs], offset)

    def prep_recv(
        self,
        user_data: int,
        fd: int,
        buf: WriteableBuffer | Pinned,
        flags: int = 0,
        *,
        start: int = 0,
        length: int = -1,
        poll_first: bool = False,
    ) -> None:
        """Queue a RECV on socket ``fd`` into ``buf``; ``flags`` are ``MSG_*``.

        ``poll_first`` (Linux 5.19+) skips the initial receive attempt: use it
        when the caller has just seen EAGAIN itself. ``res`` is the byte count
        (0 at end of stream) or ``-errno``.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        if type(buf) is bytearray and buf:
            # Fast path for the common case (~500 ns, the price of ctypes' from_buffer).
            char = ctypes.c_char.from_buffer(buf)
            address, nbytes, anchor = ctypes.addressof(char), len(buf), char
        else:
            address, nbytes, anchor = _pin_writable(buf)
        if start or length >= 0:
            address, nbytes = _span(address, nbytes, start, length)
        if nbytes > _MAX_RW:
            nbytes = _MAX_RW
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        _pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_RECV, 0, IORING_RECVSEND_POLL_FIRST if poll_first else 0, fd, 0, address, nbytes, flags,
            user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & _M32
        inflight[user_data] = anchor

    def prep_send(
        self,
        user_data: int,
        fd: int,
        buf: ReadableBuffer | Pinned,
        flags: int = 0,
        *,
        start: int = 0,
        length: int = -1,
        poll_first: bool = False,
    ) -> None:
        """Queue a SEND of ``buf`` on socket ``fd``; ``flags`` are ``MSG_*`` (MSG_NOSIGNAL is wise).

        ``res`` is the byte count (possibly short) or ``-errno``.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        if type(buf) is bytes and _BYTES_DATA_OFFSET:
            # Fast path: see _bytes_data_offset (~70 ns instead of ~450 ns).
            address, nbytes, anchor = id(buf) + _BYTES_DATA_OFFSET, len(buf), buf
        else:
            address, nbytes, anchor = _pin_readable(buf)
        if start or length >= 0:
            address, nbytes = _span(address, nbytes, start, length)
        if nbytes > _MAX_RW:
            nbytes = _MAX_RW
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        _pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_SEND, 0, IORING_RECVSEND_POLL_FIRST if poll_first else 0, fd, 0, address, nbytes, flags,
            user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & _M32
        inflight[user_data] = anchor

    def prep_sendmsg(
        self,
        user_data: int,
        fd: int,
        buf: ReadableBuffer | Pinned,
        address: bytes | None = None,
        flags: int = 0,
        *,
        msg: MsgHdr | None = None,
        poll_first: bool = False,
    ) -> None:
        """Queue a SENDMSG of ``buf`` to ``address`` (raw, see :func:`encode_sockaddr`).

        ``address=None`` sends on a connected socket. ``msg`` lets a caller
        reuse a :class:`MsgHdr` (one op at a time); by default a fresh one is used.
        """
        data_address, nbytes, data_anchor = _pin_readable(buf)
        header = msg if msg is not None else MsgHdr()
        if user_data in self._inflight:  # before touching a MsgHdr that may be in use
            raise ValueError(f"user_data {user_data} is already in flight")
        header_address = header.fill(data_address, min(nbytes, _MAX_RW), address, receive=False)
        self._push(
            user_data, (header, data_anchor), IORING_OP_SENDMSG, fd, 0, header_address, 1, flags,
            IORING_RECVSEND_POLL_FIRST if poll_first else 0,
        )  # fmt: skip

    def prep_recvmsg(
        self,
        user_data: int,
        fd: int,
        buf: WriteableBuffer | Pinned,
        msg: MsgHdr,
        flags: int = 0,
        *,
        poll_first: bool = False,
    ) -> None:
        """Queue a RECVMSG into ``buf``; the source address and flags land in ``msg``.

        After the completion, ``msg.address()`` is the sender and ``msg.flags``
        the ``msg_flags`` (``MSG_TRUNC`` when a datagram did not fit).
        """
        data_address, nbytes, data_anchor = _pin_writable(buf)
        if user_data in self._inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        header_address = msg.fill(data_address, min(nbytes, _MAX_RW), None, receive=True)
        self._push(
            user_data, (msg, data_anchor), IORING_OP_RECVMSG, fd, 0, header_address, 1, flags,
            IORING_RECVSEND_POLL_FIRST if poll_first else 0,
        )  # fmt: skip

    def prep_accept(
        self, user_data: int, fd: int, flags: int = socket.SOCK_CLOEXEC, *, peer: SockAddrBuf | None = None
    ) -> None:
        """Queue an ACCEPT on listening socket ``fd``; ``res`` is the new socket's fd.

        ``flags`` are ``SOCK_CLOEXEC``/``SOCK_NONBLOCK`` (default close-on-exec).
        Give ``peer`` to have the peer's address written into it.
        """
        if peer is None:
            address, length_address, anchor = 0, 0, None
        else:
            if user_data in self._inflight:
                raise ValueError(f"user_data {user_data} is already in flight")
            address, length_address = peer.arm()
            anchor = peer
        self._push(user_data, (_FD_RESULT, anchor), IORING_OP_ACCEPT, fd, length_address, address, 0, flags)

    def prep_connect(self, user_data: int, fd: int, address: bytes) -> None:
        """Queue a CONNECT of socket ``fd`` to ``address`` (raw, see :func:`encode_sockaddr`)."""
        address = bytes(address)
        self._push(user_data, address, IORING_OP_CONNECT, fd, len(address), _bytes_address(address), 0, 0)

    def prep_shutdown(self, user_data: int, fd: int, how: int) -> None:
        """Queue a SHUTDOWN of socket ``fd`` (``socket.SHUT_RD``/``SHUT_WR``/``SHUT_RDWR``)."""
        self._push(user_data, None, IORING_OP_SHUTDOWN, fd, 0, 0, how, 0)

    def prep_close(self, user_data: int, fd: int) -> None:
        """Queue a CLOSE of file descriptor ``fd``.

        Named ``prep_close`` like the other ops; :meth:`close` closes the ring.
        """
        self._push(user_data, None, IORING_OP_CLOSE, fd, 0, 0, 0, 0)

    def prep_openat2(
        self,
        user_data: int,
        dirfd: int,
        path: StrOrBytesPath,
        flags: int,
        mode: int = 0,
        resolve: int = 0,
    ) -> None:
        """Queue an OPENAT2 of ``path`` relative to ``dirfd`` (``AT_FDCWD`` for the cwd).

        ``flags`` are ``os.O_*`` (add ``O_CLOEXEC``); ``mode`` must be 0 unless
        ``O_CREAT``/``O_TMPFILE`` is given (openat2 is strict). ``resolve`` are
        ``RESOLVE_*`` bits: ``RESOLVE_BENEATH`` refuses ``..``, absolute paths and
        symlinks leading out of ``dirfd`` with ``-EXDEV``. ``res`` is the new fd.
        """
        encoded = _path_bytes(path)
        how = _OPEN_HOW.pack(flags, mode, resolve)
        self._push(
            user_data, (_FD_RESULT, (encoded, how)), IORING_OP_OPENAT2, dirfd,
            _bytes_address(how), _bytes_address(encoded), _OPEN_HOW.size, 0,
        )  # fmt: skip

    def prep_statx(
        self,
        user_data: int,
        dirfd: int,
        path: StrOrBytesPath,
        buf: Statx,
        flags: int = 0,
        mask: int = STATX_BASIC_STATS,
    ) -> None:
        """Queue a STATX of ``path`` relative to ``dirfd`` into ``buf``.

        For an open file pass its fd, ``path=""`` and ``flags=AT_EMPTY_PATH``;
        ``AT_SYMLINK_NOFOLLOW`` stats a link itself. ``res`` is 0 or ``-errno``.
        """
        encoded = _path_bytes(path)
        self._push(
            user_data, (encoded, buf), IORING_OP_STATX, dirfd,
            buf.address, _bytes_address(encoded), mask, flags,
        )  # fmt: skip

    def prep_fsync(self, user_data: int, fd: int, *, datasync: bool = False) -> None:
        """Queue an FSYNC of ``fd`` (``datasync=True`` for fdatasync)."""
        self._push(user_data, None, IORING_OP_FSYNC, fd, 0, 0, 0, IORING_FSYNC_DATASYNC if datasync else 0)

    def prep_timeout(self, user_data: int, seconds: float, *, count: int = 0, flags: int = 0) -> None:
        """Queue a TIMEOUT firing after ``seconds`` (CLOCK_MONOTONIC).

        Completes with ``-ETIME`` when it fires, 0 if ``count`` other
        completions arrived first (``count=0``: a pure timer), ``-ECANCELED``
        when cancelled. ``flags``: ``IORING_TIMEOUT_ABS`` makes ``seconds`` an
        absolute ``time.monotonic()`` value; ``IORING_TIMEOUT_BOOTTIME`` /
        ``IORING_TIMEOUT_REALTIME`` pick another clock.
        """
        if seconds < 0:
            seconds = 0.0
        whole = int(seconds)
        timespec = _TIMESPEC.pack(whole, int((seconds - whole) * 1e9))
        self._push(user_data, timespec, IORING_OP_TIMEOUT, -1, count, _bytes_address(timespec), 1, flags)

    def prep_timeout_remove(self, user_data: int, target: int) -> None:
        """Queue a TIMEOUT_REMOVE of the timeout whose user_data is ``target``.

        Its own ``res``: 0, ``-ENOENT`` (not found) or ``-EALREADY`` (firing).
        """
        self._push(user_data, None, IORING_OP_TIMEOUT_REMOVE, -1, 0, target, 0, 0)

    def prep_async_cancel(self, user_data: int, target: int, *, flags: int = 0, fd: int = -1) -> None:
        """Queue an ASYNC_CANCEL of the operation whose user_data is ``target``.

        The cancel's own completion (``user_data``) reports 0, ``-ENOENT`` or
        ``-EALREADY``; the target still delivers its own completion (typically
        ``-ECANCELED``, possibly a normal result if it won the race), and its
        buffers stay pinned until then. ``flags`` are
        ``IORING_ASYNC_CANCEL_*`` (``_FD`` matches on ``fd`` instead, 5.19+).
        """
        if user_data == target and not flags & (IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ANY):
            raise ValueError("a cancel needs a user_data of its own, distinct from its target's")
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        _pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_ASYNC_CANCEL, 0, 0, fd, 0, target, 0, flags, user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & _M32
        inflight[user_data] = None

    def prep_poll_add(self, user_data: int, fd: int, events: int, *, multishot: bool = False) -> None:
        """Queue a POLL_ADD waiting for ``events`` (``select.POLLIN`` ...) on ``fd``.

        ``res`` is the ready event mask. With ``multishot`` (5.13+) it keeps
        reporting, each completion flagged ``IORING_CQE_F_MORE`` until the last.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        # poll32_events sits in op_flags; on little-endian it overlays the old
        # 16-bit poll_events, so this works with or without FEAT_POLL_32BITS.
        _pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_POLL_ADD, 0, 0, fd, 0, 0, IORING_POLL_ADD_MULTI if multishot else 0, events,
            user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & _M32
        inflight[user_data] = None

    def prep_poll_remove(self, user_data: int, target: int) -> None:
        """Queue a POLL_REMOVE of the poll whose user_data is ``target``."""
        self._push(user_data, None, IORING_OP_POLL_REMOVE, -1, 0, target, 0, 0)

    def prep_splice(
        self, user_data: int, fd_in: int, off_in: int, fd_out: int, off_out: int, nbytes: int, flags: int = 0
    ) -> None:
        """Queue a SPLICE of ``nbytes`` from ``fd_in`` to ``fd_out`` (one must be a pipe).

        Offsets of -1 mean "no offset" (required for the pipe side).
        """
        self._push(
            user_data, None, IORING_OP_SPLICE, fd_out, off_out, off_in & _U64, min(nbytes, _MAX_RW), flags,
            0, fd_in,
        )  # fmt: skip

    def prep_unlinkat(self, user_data: int, dirfd: int, path: StrOrBytesPath, flags: int = 0) -> None:
        """Queue an UNLINKAT of ``path`` (``flags=AT_REMOVEDIR`` removes a directory)."""
        encoded = _path_bytes(path)
        self._push(user_data, encoded, IORING_OP_UNLINKAT, dirfd, 0, _bytes_address(encoded), 0, flags)

    def prep_mkdirat(self, user_data: int, dirfd: int, path: StrOrBytesPath, mode: int = 0o777) -> None:
        """Queue a MKDIRAT of ``path`` with ``mode`` (before the umask)."""
        encoded = _path_bytes(path)
        self._push(user_data, encoded, IORING_OP_MKDIRAT, dirfd, 0, _bytes_address(encoded), mode, 0)

    def prep_renameat(
        self,
        user_data: int,
        old_dirfd: int,
        old_path: StrOrBytesPath,
        new_dirfd: int,
        new_path: StrOrBytesPath,
        flags: int = 0,
    ) -> None:
        """Queue a RENAMEAT (``flags`` as renameat2: RENAME_NOREPLACE, RENAME_EXCHANGE)."""
        old, new = _path_bytes(old_path), _path_bytes(new_path)
        self._push(
            user_data, (old, new), IORING_OP_RENAMEAT, old_dirfd,
            _bytes_address(new), _bytes_address(old), new_dirfd & _M32, flags,  # len is u32: AT_FDCWD wraps
        )  # fmt: skip

    def prep_symlinkat(self, user_data: int, target: StrOrBytesPath, new_dirfd: int, link_path: StrOrBytesPath) -> None:
        """Queue a SYMLINKAT creating ``link_path`` (relative to ``new_dirfd``) pointing at ``target``."""
        old, new = _path_bytes(target), _path_bytes(link_path)
        self._push(
            user_data, (old, new), IORING_OP_SYMLINKAT, new_dirfd,
            _bytes_address(new), _bytes_address(old), 0, 0,
        )  # fmt: skip

    def prep_linkat(
        self,
        user_data: int,
        old_dirfd: int,
        old_path: StrOrBytesPath,
        new_dirfd: int,
        new_path: StrOrBytesPath,
        flags: int = 0,
    ) -> None:
        """Queue a LINKAT (hard link; ``flags=AT_SYMLINK_FOLLOW`` follows a symlink source)."""
        old, new = _path_bytes(old_path), _path_bytes(new_path)
        self._push(
            user_data, (old, new), IORING_OP_LINKAT, old_dirfd,
            _bytes_address(new), _bytes_address(old), new_dirfd & _M32, flags,  # len is u32: AT_FDCWD wraps
        )  # fmt: skip

    # -------------------------------------------------------------- entering

    def submit_and_wait(self, wait_nr: int = 0, timeout: float | None = None) -> int:
        """Submit every queued SQE with one ``io_uring_enter``; optionally wait.

        ``wait_nr``: return only once that many completions are ready to reap
        (0: never block). ``timeout`` (seconds, used only when ``wait_nr > 0``)
        bounds the wait; running out is not an error. Also returns early,
        without error, when a signal interrupts the wait (EINTR): callers loop,
        and Python runs the signal handler meanwhile. Without queued SQEs and
        without waiting this costs no system call.

        Returns how many SQEs the kernel accepted (those it rejects still
        produce a completion with ``-errno``). Raises OSError for a failure of
        the call itself.
        """
        fd = self._fd
        if fd < 0:
            raise ValueError("the ring is closed")
        sq = self._sq_u32
        tail = self._sq_tail
        # Publish the SQEs written so far. On x86-64 plain stores are not
        # reordered, so the kernel sees the SQE bytes before it sees the tail.
        sq[self._sq_tail_i] = tail
        to_submit = (tail - sq[self._sq_head_i]) & _M32
        if wait_nr > 0 or self._events_always or sq[self._sq_flags_i] & _SQ_NEEDS_ENTER:
            # GETEVENTS also makes the kernel flush overflowed completions and
            # run deferred task work (DEFER_TASKRUN rings complete only then).
            enter_flags = IORING_ENTER_GETEVENTS
        elif to_submit:
            enter_flags = 0
        else:
            return 0  # nothing to submit, nothing to wait for: skip the system call
        if wait_nr < 0 or self._backlog or (timeout is not None and timeout <= 0):
            # Never block: completions are already waiting in the backlog, or
            # the caller asked for a poll (a zero kernel timeout would still
            # arm a timer and sleep on it, tens of microseconds under load).
            wait_nr = 0
        while True:
            if wait_nr > 0 and timeout is not None:
                if not self._features & IORING_FEAT_EXT_ARG:
                    raise _syscall_error("io_uring_enter (timed wait without IORING_FEAT_EXT_ARG)", errno.ENOTSUP)
                whole = int(timeout)  # > 0 here, see above
                _TIMESPEC.pack_into(self._wait_arg, _GETEVENTS_ARG.size, whole, int((timeout - whole) * 1e9))
                ret: int = _sys_enter(
                    _NR_IO_URING_ENTER, fd, to_submit, wait_nr, enter_flags | IORING_ENTER_EXT_ARG,
                    self._wait_arg, _ARGSZ_EXT,
                )  # fmt: skip
            else:
                ret = _sys_enter(_NR_IO_URING_ENTER, fd, to_submit, wait_nr, enter_flags, None, _ARGSZ_NONE)
            # Without SQPOLL the kernel consumes SQEs only inside this call, so
            # the free space is exact now (and stays so until the next enter).
            self._sq_limit = (sq[self._sq_head_i] + self._sq_entries) & _M32
            if ret >= 0:
                return ret
            err = ctypes.get_errno()
            if err == errno.ETIME or err == errno.EINTR:
                return 0
            if err == errno.EBUSY:
                # The CQ is full and overflowed completions are waiting: make
                # room by moving completions into our backlog, then retry,
                # fetching events so the kernel flushes its overflow list.
                if not self._drain_to_backlog():
                    time.sleep(0.001)  # nothing to move: let the kernel catch up
                enter_flags |= IORING_ENTER_GETEVENTS
                wait_nr = 0  # what we drained is there to reap: don't block on more
                to_submit = (tail - sq[self._sq_head_i]) & _M32
                continue
            raise _syscall_error("io_uring_enter", err)

    # --------------------------------------------------------------- reaping

    def poll_nowait(self, callback: Callable[[int, int, int], object]) -> None:
        """Submit what is queued (if anything) and reap what is ready, never blocking.

        The scheduler calls this once per pass over its ready fibers; with
        nothing queued and nothing completed it makes no system call and
        costs a few shared-memory reads, so it is written out in full.
        """
        sq = self._sq_u32
        tail = self._sq_tail
        if (tail - sq[self._sq_head_i]) & _M32 or sq[self._sq_flags_i] & _SQ_NEEDS_ENTER or self._events_always:
            self.submit_and_wait(0)
        if self._cq_u32[self._cq_tail_i] != self._cq_head or self._backlog:
            self.reap(callback)

    def has_completions(self) -> bool:
        """Whether :meth:`completions` would return something; reads shared memory only."""
        return self._cq_u32[self._cq_tail_i] != self._cq_head or bool(self._backlog)

    def _take_cqes(self) -> list[Completion]:
        """Copy every ready CQE out of shared memory and release their slots."""
        cq = self._cq_u32
        head = self._cq_head
        # Masked to 32 bits: head and tail are free-running u32 counters.
        ready = (cq[self._cq_tail_i] - head) & _M32
        if not ready:
            return []
        mask = self._cq_mask
        first = head & mask
        base = self._cqes_at
        cqes = self._cq_bytes
        if ready <= 2:
            # unpack_from beats building a slice and an iterator for a couple.
            out = [_CQE.unpack_from(cqes, base + (first << 4))]
            if ready == 2:
                out.append(_CQE.unpack_from(cqes, base + (((head + 1) & mask) << 4)))
        else:
            end = first + ready
            if end <= mask + 1:
                out = list(_CQE.iter_unpack(cqes[base + (first << 4) : base + (end << 4)]))
            else:  # the batch wraps around the end of the ring
                out = list(_CQE.iter_unpack(cqes[base + (first << 4) : base + ((mask + 1) << 4)]))
                out += _CQE.iter_unpack(cqes[base : base + ((end - mask - 1) << 4)])
        # Release the slots only after copying them out (x86-64 keeps the order).
        self._cq_head = head = (head + ready) & _M32
        cq[self._cq_head_i] = head
        return out

    def _drain_to_backlog(self) -> int:
        """Move ready CQEs to the backlog (used when the CQ must be emptied mid-submit)."""
        taken = self._take_cqes()
        self._backlog += taken
        return len(taken)

    def completions(self) -> list[Completion]:
        """Reap every ready completion: a list of ``(user_data, res, flags)``, oldest first.

        Reads shared memory only (no system call). ``res < 0`` is ``-errno`` of
        a failed op. Objects pinned by an op are released here, with the
        op's own completion (not with a cancel's, nor with a multishot op's
        intermediate ones flagged ``IORING_CQE_F_MORE``).
        """
        if self._cq_u32[self._cq_tail_i] == self._cq_head and not self._backlog:
            return []  # the common idle case, without the calls below
        out = self._take_cqes()
        if self._backlog:
            out = self._backlog + out
            self._backlog = []
        pop = self._inflight.pop
        for user_data, _res, flags in out:
            if not flags & IORING_CQE_F_MORE:
                pop(user_data, None)
        return out

    def reap(self, callback: Callable[[int, int, int], object]) -> int:
        """Call ``callback(user_data, res, flags)`` for every ready completion; return the count.

        If the callback raises, the completions not yet delivered are kept
        and come first next time. The callback may prepare new operations.
        """
        if self._cq_u32[self._cq_tail_i] == self._cq_head and not self._backlog:
            return 0
        out = self._take_cqes()
        if self._backlog:
            out = self._backlog + out
            self._backlog = []
        pop = self._inflight.pop
        delivered = 0
        try:
            for user_data, res, flags in out:
                delivered += 1
                if not flags & IORING_CQE_F_MORE:
                    pop(user_data, None)
                callback(user_data, res, flags)
        except BaseException:
            self._backlog[:0] = out[delivered:]
            raise
        return delivered

    # --------------------------------------------------------------- closing

    def close(self) -> None:
        """Cancel what is in flight, release the mappings and close the ring fd (idempotent).

        Operations still in flight are cancelled and their completions awaited
        (briefly) and discarded; a descriptor produced meanwhile by an ACCEPT
        or OPENAT2 nobody will see is closed. Objects pinned by operations
        that still did not complete are kept alive forever rather than freed
        under the kernel's feet.
        """
        if self._fd < 0:
            return
        try:
            if self._inflight or self._backlog:
                self._cancel_everything()
        finally:
            self._release()

    def _cancel_everything(self) -> None:
        inflight = self._inflight
        sqes, sq, mask = self._sqes, self._sq_u32, self._sq_mask
        # SQEs not yet handed to the kernel are simply withdrawn (the kernel
        # reads the SQ only inside io_uring_enter).
        head = sq[self._sq_head_i]
        position = head
        while position != self._sq_tail:
            (user_data,) = _SQE_USER_DATA.unpack_from(sqes, ((position & mask) << 6) + 32)
            inflight.pop(user_data, None)
            position = (position + 1) & _M32
        self._sq_tail = head
        sq[self._sq_tail_i] = head
        self._sq_limit = (head + self._sq_entries) & _M32

        def settle(completions: Iterable[Completion]) -> None:
            for user_data, res, flags in completions:
                if user_data == _CLOSE_USER_DATA or flags & IORING_CQE_F_MORE:
                    continue
                anchor = inflight.pop(user_data, None)
                if res >= 0 and type(anchor) is tuple and anchor and anchor[0] is _FD_RESULT:
                    try:
                        os.close(res)
                    except OSError:
                        pass

        settle(self._backlog)
        self._backlog = []
        settle(self._take_cqes())
        deadline = time.monotonic() + _CLOSE_GRACE_SECONDS
        try:
            for target in list(inflight):
                # Per-target cancels work on every kernel (CANCEL_ANY is 5.19+).
                tail = self._sq_tail
                if tail == self._sq_limit:
                    self._make_room()
                _pack_sqe(
                    sqes, (tail & mask) << 6,
                    IORING_OP_ASYNC_CANCEL, 0, 0, -1, 0, target, 0, 0, _CLOSE_USER_DATA, 0, 0, 0, 0, 0,
                )  # fmt: skip
                self._sq_tail = (tail + 1) & _M32
            while inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.submit_and_wait(1, left if self._features & IORING_FEAT_EXT_ARG else None)
                settle(self._take_cqes())
                settle(self._backlog)
                self._backlog = []
        finally:
            if inflight:
                _ABANDONED.extend(inflight.values())
                inflight.clear()

    def _release(self) -> None:
        """Drop the views, unmap, close the fd. Views first: an mmap with exports can't close."""
        for name in ("_sq_u32", "_cq_u32", "_cq_bytes", "_sqes"):
            view: memoryview | None = getattr(self, name, None)
            if view is not None:
                view.release()
        for mapping in self._maps:
            mapping.close()
        self._maps.clear()
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> Ring:
        """Use the ring in a ``with`` block; it is closed on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the ring."""
        self.close()

    def __del__(self) -> None:
        """Warn about (and close) a ring that was never closed, like a file."""
        if getattr(self, "_fd", -1) >= 0:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            self.close()

    def __repr__(self) -> str:
        """Show the fd, sizes and in-flight count."""
        if self._fd < 0:
            return "<Ring closed>"
        return f"<Ring fd={self._fd} sq={self._sq_entries} cq={self._cq_entries} in_flight={len(self._inflight)}>"


# ---------------------------------------------------------------------------
# Availability.
# ---------------------------------------------------------------------------


def _sysctl_io_uring_disabled() -> int | None:
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as file:
            return int(file.read().strip())
    except (OSError, ValueError):
        return None


def unavailable_reason(required_ops: Iterable[int] = REQUIRED_OPS) -> str | None:
    """Why io_uring can't be used here, in words, or ``None`` when it can.

    Sets up a small ring, checks :data:`REQUIRED_FEATURES` and probes for
    ``required_ops``. Never raises for an unusable Linux system (on another
    platform this module cannot even be imported: check ``sys.platform`` first).
    """
    machine = platform.machine()
    if machine not in ("x86_64", "AMD64"):
        return (
            f"this io_uring ring relies on x86-64 memory ordering (the standard library "
            f"cannot issue memory barriers); machine is {machine}"
        )
    kernel = platform.release()
    try:
        ring = Ring(4)
    except OSError as error:
        if error.errno == errno.ENOSYS:
            return (
                f"io_uring_setup is not implemented (kernel {kernel} is older than 5.1, was built "
                "without CONFIG_IO_URING, or a seccomp filter answers ENOSYS)"
            )
        if error.errno == errno.EPERM:
            disabled = _sysctl_io_uring_disabled()
            if disabled == 2:
                return "io_uring is disabled by sysctl kernel.io_uring_disabled=2"
            if disabled == 1:
                return (
                    "io_uring is restricted by sysctl kernel.io_uring_disabled=1 to CAP_SYS_ADMIN and "
                    "the kernel.io_uring_group group, and this process has neither"
                )
            return "io_uring_setup was denied (EPERM), most likely by a seccomp filter (container runtime)"
        if error.errno == errno.ENOMEM:
            return "io_uring_setup ran out of memory (before Linux 5.12 rings count against RLIMIT_MEMLOCK)"
        return f"io_uring_setup failed: {error.strerror or error}"
    with ring:
        missing = [text for bit, text in REQUIRED_FEATURES.items() if not ring.features & bit]
        if missing:
            return f"kernel {kernel} lacks io_uring features: {', '.join(missing)}; Linux 5.11 or later is needed"
        try:
            supported = ring.probe()
        except OSError as error:
            return f"IORING_REGISTER_PROBE failed ({error.strerror}); kernel {kernel} is too old"
        absent = sorted(set(required_ops) - supported)
        if absent:
            names = ", ".join(f"IORING_OP_{OP_NAMES.get(op, str(op))}" for op in absent)
            return f"kernel {kernel} lacks io_uring operations: {names} (Linux 5.15 has them all)"
    return None
