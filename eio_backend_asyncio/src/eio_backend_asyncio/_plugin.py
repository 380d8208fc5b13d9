"""The asyncio backends' entry point for `eio_main`: ``asyncio``, and ``asyncio-uvloop`` where uvloop imports.

Neither is ever picked automatically (``auto=False``): a program hosted on
asyncio asks for it by name.
"""

from __future__ import annotations

from typing import Any

from eio.lowlevel import BackendInfo, BackendRegistry, imported_later

PRIORITY = 5


def _available() -> str | None:
    return None


def uvloop_unavailable_reason() -> str | None:
    """Why uvloop can't be used here, or None."""
    import importlib

    try:
        importlib.import_module("uvloop")
    except ImportError as ex:
        return f"uvloop does not import: {ex}"
    return None


def _uvloop_factory() -> Any:
    import uvloop

    return uvloop.new_event_loop()


def eio_register_backends(registry: BackendRegistry) -> None:
    """Register ``asyncio`` and, if uvloop imports, ``asyncio-uvloop``."""
    registry.register(
        BackendInfo(
            name="asyncio",
            priority=PRIORITY,
            run=imported_later("eio_backend_asyncio", "run"),
            unavailable_reason=_available,
            distribution="eio-backend-asyncio",
            auto=False,
            run_plain=imported_later("eio_backend_asyncio", "run_plain"),
        )
    )
    if uvloop_unavailable_reason() is None:
        registry.register(
            BackendInfo(
                name="asyncio-uvloop",
                priority=PRIORITY,
                run=imported_later("eio_backend_asyncio", "run", loop_factory=_uvloop_factory),
                unavailable_reason=uvloop_unavailable_reason,
                distribution="eio-backend-asyncio",
                auto=False,
                run_plain=imported_later("eio_backend_asyncio", "run_plain", loop_factory=_uvloop_factory),
            )
        )
