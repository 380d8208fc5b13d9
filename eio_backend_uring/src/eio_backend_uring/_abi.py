"""The kernel ABI of io_uring: constants (include/uapi/linux/io_uring.h and friends) and struct layouts."""

from __future__ import annotations

import struct
import sys
from typing import Final

if sys.platform != "linux":
    raise ImportError(f"eio_backend_uring._abi is Linux-only (platform is {sys.platform})")


Completion = tuple[int, int, int]
"""One reaped completion: ``(user_data, res, flags)``; ``res < 0`` is ``-errno``."""

# ---------------------------------------------------------------------------
# Kernel ABI constants (include/uapi/linux/io_uring.h and friends).
# ---------------------------------------------------------------------------

NR_IO_URING_SETUP: Final = 425
NR_IO_URING_ENTER: Final = 426
NR_IO_URING_REGISTER: Final = 427

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
ALLOWED_SETUP_FLAGS: Final = (
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
SQ_NEEDS_ENTER: Final = _IORING_SQ_CQ_OVERFLOW | _IORING_SQ_TASKRUN

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
IO_URING_OP_SUPPORTED: Final = 1 << 0
PROBE_OPS: Final = 256  # room for every possible 8-bit opcode

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

M32: Final = 0xFFFFFFFF  # ring head/tail are free-running u32 counters
U64: Final = 0xFFFFFFFFFFFFFFFF
# Linux clamps one read/write to MAX_RW_COUNT (INT_MAX rounded down to a page);
# clamping here keeps the SQE's 32-bit length field valid for huge buffers.
# Short transfers are normal results, callers already loop.
MAX_RW: Final = 0x7FFFF000
# Reserved user_data for the cancellations close() issues.
CLOSE_USER_DATA: Final = U64
# How long close() waits for cancelled operations before abandoning their buffers.
CLOSE_GRACE_SECONDS: Final = 2.0

# ---------------------------------------------------------------------------
# Struct layouts, compiled once (struct.Struct.pack_into is the fast path).
# ---------------------------------------------------------------------------

# struct io_uring_sqe, 64 bytes, every field written on every SQE:
#   u8 opcode, u8 flags, u16 ioprio, s32 fd, u64 off|addr2, u64 addr|splice_off_in,
#   u32 len, u32 op_flags (rw/msg/open/... flags), u64 user_data,
#   u16 buf_index, u16 personality, s32 splice_fd_in|file_index, u64 addr3, u64 pad.
# `off` is packed signed so -1 ("current position" / "no offset") needs no masking.
_SQE: Final = struct.Struct("<BBHiqQIIQHHiQQ")
SQE_SIZE: Final = 64
assert _SQE.size == SQE_SIZE
pack_sqe: Final = _SQE.pack_into  # bound once: saves an attribute lookup per SQE
SQE_USER_DATA: Final = struct.Struct("<Q")  # at byte 32 of an SQE
# struct io_uring_cqe: u64 user_data, s32 res, u32 flags.
CQE: Final = struct.Struct("<QiI")
CQE_SIZE: Final = 16
# struct io_uring_params: 10 u32 (incl. resv[3]), io_sqring_offsets (8 u32 + u64),
# io_cqring_offsets (8 u32 + u64); 120 bytes.
PARAMS: Final = struct.Struct("<10I8IQ8IQ")
assert PARAMS.size == 120
# struct __kernel_timespec: s64 tv_sec, s64 tv_nsec.
TIMESPEC: Final = struct.Struct("<qq")
# struct io_uring_getevents_arg: u64 sigmask, u32 sigmask_sz, u32 pad, u64 ts.
GETEVENTS_ARG: Final = struct.Struct("<QIIQ")
# struct open_how: u64 flags, u64 mode, u64 resolve.
OPEN_HOW: Final = struct.Struct("<QQQ")
# struct iovec: void *iov_base, size_t iov_len.
IOVEC: Final = struct.Struct("<QQ")
# struct msghdr (x86-64): name ptr, u32 namelen (+4 pad), iov ptr, size_t iovlen,
# control ptr, size_t controllen, s32 flags (+4 pad); 56 bytes.
MSGHDR: Final = struct.Struct("<QI4xQQQQi4x")
assert MSGHDR.size == 56
U32: Final = struct.Struct("<I")
SOCKADDR_STORAGE: Final = 128  # sizeof(struct sockaddr_storage)
PROBE_HEADER: Final = struct.Struct("<BBH12x")  # last_op, ops_len, resv, resv2[3]
PROBE_OP: Final = struct.Struct("<BBHI")  # op, resv, flags, resv2
