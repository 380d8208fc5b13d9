"""The trio backend's entry point for `eio_main`: the lowest automatic priority, available wherever trio imports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from eio.lowlevel import BackendInfo, BackendRegistry

# Below io_uring (30) and the Windows backend: trio is the fallback that runs anywhere.
PRIORITY = 10


def unavailable_reason() -> str | None:
    """Why the trio backend can't be used here (trio doesn't import), or None."""
    try:
        import trio  # noqa: F401  # pyright: ignore[reportUnusedImport] - only whether it imports matters
    except ImportError as ex:
        return f"trio can't be imported: {ex}"
    return None


def _run(main: Callable[[Any], Awaitable[Any]]) -> Any:
    from . import run

    return run(main)


def _run_plain(fn: Callable[[], Awaitable[Any]]) -> Any:
    from . import run_plain

    return run_plain(fn)


def eio_register_backends(registry: BackendRegistry) -> None:
    """Register the ``trio`` backend."""
    registry.register(
        BackendInfo(
            name="trio",
            priority=PRIORITY,
            run=_run,
            unavailable_reason=unavailable_reason,
            distribution="eio-backend-trio",
            run_plain=_run_plain,
        )
    )
