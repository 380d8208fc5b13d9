"""Whether io_uring can be used on this machine (`unavailable_reason`)."""

from __future__ import annotations

import errno
import platform
import sys
from collections.abc import Iterable

if sys.platform != "linux":
    raise ImportError(f"eio_backend_uring._probe is Linux-only (platform is {sys.platform})")

from ._abi import OP_NAMES, REQUIRED_FEATURES, REQUIRED_OPS

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
    from ._ring import Ring  # (here: the ring module re-exports this function)

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
