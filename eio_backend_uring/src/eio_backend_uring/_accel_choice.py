"""Which `RingCore` a `Ring` is built on: the compiled accelerator, or the pure-Python reference.

The accelerator (``_accel``, C) is built by a normal install when a C compiler
and the Python headers are present, and skipped otherwise. It is used unless
it is missing or the environment variable ``EIO_PURE_PYTHON`` is set to
anything but ``""`` or ``"0"`` (read once, at import). Both give the same
results; the accelerated one spends less CPU per operation.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Final

if sys.platform != "linux":
    raise ImportError(f"eio_backend_uring._accel_choice is Linux-only (platform is {sys.platform})")

from ._ring_core import RingCore as PureRingCore


def pure_python_requested() -> bool:
    """Whether ``EIO_PURE_PYTHON`` asks for the pure-Python ring."""
    return os.environ.get("EIO_PURE_PYTHON", "") not in ("", "0")


def _choose() -> tuple[type[PureRingCore], str | None]:
    if pure_python_requested():
        return PureRingCore, "EIO_PURE_PYTHON is set"
    try:
        from ._accel import RingCore as compiled
    except ImportError as e:
        return PureRingCore, f"the compiled accelerator is not built ({e})"
    return compiled, None


if TYPE_CHECKING:
    RingCore = PureRingCore
    NOT_ACCELERATED_BECAUSE: str | None = None
else:
    RingCore, NOT_ACCELERATED_BECAUSE = _choose()

ACCELERATED: Final = NOT_ACCELERATED_BECAUSE is None
"""Whether rings use the compiled accelerator in this process."""
