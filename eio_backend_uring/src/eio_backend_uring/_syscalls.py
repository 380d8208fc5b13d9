"""The three io_uring system calls, through ctypes (``syscall(2)``)."""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Final

if sys.platform != "linux":
    raise ImportError(f"eio_backend_uring._syscalls is Linux-only (platform is {sys.platform})")

from ._abi import GETEVENTS_ARG

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
sys_enter = _libc["syscall"]
sys_enter.restype = ctypes.c_long
ARGSZ_NONE: Final = ctypes.c_size_t(0)
ARGSZ_EXT: Final = ctypes.c_size_t(GETEVENTS_ARG.size)

# Cold paths: typed properly, the cost does not matter.
sys_setup = _libc["syscall"]
sys_setup.restype = ctypes.c_long
sys_setup.argtypes = [ctypes.c_long, ctypes.c_uint, ctypes.c_void_p]
sys_register = _libc["syscall"]
sys_register.restype = ctypes.c_long
sys_register.argtypes = [ctypes.c_long, ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_uint]


def syscall_error(call: str, err: int) -> OSError:
    """An OSError (of the errno-specific subclass) naming the failed call."""
    return OSError(err, f"{call} failed: {os.strerror(err)}")
