"""The io_uring backend's entry point for `eio_main` (highest priority where io_uring works)."""

from __future__ import annotations

import sys

from eio.lowlevel import BackendInfo, BackendRegistry, imported_later

PRIORITY = 30


def unavailable_reason() -> str | None:
    """Why io_uring can't be used here, or None (see `_probe.unavailable_reason`)."""
    if sys.platform != "linux":
        return f"io_uring needs Linux (this is {sys.platform})"
    from ._probe import unavailable_reason as ring_reason

    return ring_reason()


def eio_register_backends(registry: BackendRegistry) -> None:
    """Register the ``uring`` backend."""
    registry.register(
        BackendInfo(
            name="uring",
            priority=PRIORITY,
            run=imported_later("eio_backend_uring", "run"),
            unavailable_reason=unavailable_reason,
            distribution="eio-backend-uring",
            run_plain=imported_later("eio_backend_uring", "run_plain"),
        )
    )
