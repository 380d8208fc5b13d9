"""The Windows backend's entry point for `eio_main`: above trio on Windows, below it elsewhere.

The automatic order is uring (30) > windows on win32 (20) > trio (10) >
windows elsewhere (8). On Linux it is never chosen automatically (io_uring
or trio serve there; ask for it by name), on macOS and the BSDs it is the
dependency-free fallback when trio is not installed.
"""

from __future__ import annotations

import sys

from eio.lowlevel import BackendInfo, BackendRegistry, imported_later

PRIORITY = 20 if sys.platform == "win32" else 8


def unavailable_reason() -> str | None:
    """Always None: the backend needs nothing but the standard library."""
    return None


def eio_register_backends(registry: BackendRegistry) -> None:
    """Register the ``windows`` backend."""
    registry.register(
        BackendInfo(
            name="windows",
            priority=PRIORITY,
            run=imported_later("eio_backend_windows", "run"),
            unavailable_reason=unavailable_reason,
            distribution="eio-backend-windows",
            auto=sys.platform != "linux",
            run_plain=imported_later("eio_backend_windows", "run_plain"),
        )
    )
