"""The mock backend's entry point for `eio_main`: registered, but used only when asked for by name."""

from __future__ import annotations

from eio.lowlevel import BackendInfo, BackendRegistry

from .backend import run, run_process


def _always_available() -> str | None:
    return None


def eio_register_backends(registry: BackendRegistry) -> None:
    """Register the mock backend (``EIO_BACKEND=mock`` or ``backend="mock"``)."""
    registry.register(
        BackendInfo(
            name="mock",
            priority=0,
            run=run_process,
            unavailable_reason=_always_available,
            distribution="eio-mock",
            auto=False,
            run_plain=run,
        )
    )
