"""The asyncio backends' entry point for `eio_main`: ``asyncio``, and ``asyncio-uvloop`` where uvloop imports.

Neither is ever picked automatically (``auto=False``): a program hosted on
asyncio asks for it by name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from eio.lowlevel import BackendInfo, BackendRegistry

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


def _run(main: Callable[[Any], Awaitable[Any]]) -> Any:
    from . import run

    return run(main)


def _run_plain(fn: Callable[[], Awaitable[Any]]) -> Any:
    from . import run_plain

    return run_plain(fn)


def _uvloop_factory() -> Any:
    import uvloop

    return uvloop.new_event_loop()


def _run_uvloop(main: Callable[[Any], Awaitable[Any]]) -> Any:
    from . import run

    return run(main, loop_factory=_uvloop_factory)


def _run_plain_uvloop(fn: Callable[[], Awaitable[Any]]) -> Any:
    from . import run_plain

    return run_plain(fn, loop_factory=_uvloop_factory)


def eio_register_backends(registry: BackendRegistry) -> None:
    """Register ``asyncio`` and, if uvloop imports, ``asyncio-uvloop``."""
    registry.register(
        BackendInfo(
            name="asyncio",
            priority=PRIORITY,
            run=_run,
            unavailable_reason=_available,
            distribution="eio-backend-asyncio",
            auto=False,
            run_plain=_run_plain,
        )
    )
    if uvloop_unavailable_reason() is None:
        registry.register(
            BackendInfo(
                name="asyncio-uvloop",
                priority=PRIORITY,
                run=_run_uvloop,
                unavailable_reason=uvloop_unavailable_reason,
                distribution="eio-backend-asyncio",
                auto=False,
                run_plain=_run_plain_uvloop,
            )
        )
