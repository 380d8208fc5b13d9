"""The trio backend's entry point for `eio_main`: the lowest automatic priority, available wherever trio imports."""

from __future__ import annotations

from eio.lowlevel import BackendInfo, BackendRegistry, imported_later

# Below io_uring (30) and the Windows backend: trio is the fallback that runs anywhere.
PRIORITY = 10


def unavailable_reason() -> str | None:
    """Why the trio backend can't be used here (trio doesn't import), or None."""
    try:
        import trio  # noqa: F401  # pyright: ignore[reportUnusedImport] - only whether it imports matters
    except ImportError as ex:
        return f"trio can't be imported: {ex}"
    return None


def eio_register_backends(registry: BackendRegistry) -> None:
    """Register the ``trio`` backend."""
    registry.register(
        BackendInfo(
            name="trio",
            priority=PRIORITY,
            run=imported_later("eio_backend_trio", "run"),
            unavailable_reason=unavailable_reason,
            distribution="eio-backend-trio",
            run_plain=imported_later("eio_backend_trio", "run_plain"),
        )
    )
