"""How a backend describes itself to `eio_main` (the pluggy hook's vocabulary).

A backend distribution has an entry point in the group ``eio`` naming a
module that defines ``eio_register_backends(registry)``; that function calls
``registry.register(BackendInfo(...))``. Backends need no dependency on
pluggy or on eio_main: the registry is only a Protocol here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class BackendInfo:
    """A backend as `eio_main` sees it.

    ``run(main)`` runs ``await main(env)`` with the backend's whole standard
    environment and returns its result; ``run_plain(fn)`` runs ``await fn()``
    on a new loop of the backend without building an environment (for tests
    and benchmarks of the runtime itself).
    ``unavailable_reason()`` says why the backend can't be used on this
    machine (None when it can). Among available backends with ``auto`` set,
    the highest ``priority`` wins; a backend without ``auto`` (the mock) is
    only used when asked for by name.
    """

    name: str
    priority: int
    run: Callable[[Callable[[Any], Awaitable[Any]]], Any]
    unavailable_reason: Callable[[], str | None]
    distribution: str
    auto: bool = True
    run_plain: Callable[[Callable[[], Awaitable[Any]]], Any] | None = None


class BackendRegistry(Protocol):
    """What ``eio_register_backends`` receives."""

    def register(self, info: BackendInfo, /) -> None:
        """Add a backend."""
        ...


def imported_later(module: str, name: str, **kwargs: Any) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """A ``run`` or ``run_plain`` for `BackendInfo` that imports ``module`` only when called.

    ``imported_later("eio_backend_x", "run")(main)`` is
    ``eio_backend_x.run(main, **kwargs)``: registering a backend costs no import
    of it, so `eio_main` can list every installed backend cheaply.
    """

    def call(fn: Callable[..., Awaitable[Any]]) -> Any:
        return getattr(importlib.import_module(module), name)(fn, **kwargs)

    return call
