"""Finding backends: pluggy loads every module registered in the ``eio`` entry-point group."""

from __future__ import annotations

import pluggy
from eio.lowlevel import BackendInfo, BackendRegistry
from pluggy._hooks import HookimplOpts  # pluggy exports the type only from its private module

PROJECT = "eio"
HOOK = "eio_register_backends"

_hookspec = pluggy.HookspecMarker(PROJECT)


class _Spec:
    @_hookspec
    def eio_register_backends(self, registry: BackendRegistry) -> None:
        """A backend module registers its backends with ``registry.register``."""


class _PluginManager(pluggy.PluginManager):
    # Backends define a plain function named `eio_register_backends`, so that
    # they don't have to depend on pluggy for its marker.
    def parse_hookimpl_opts(self, plugin: object, name: str) -> HookimplOpts | None:
        if name == HOOK and callable(getattr(plugin, name, None)):
            return HookimplOpts(
                wrapper=False, hookwrapper=False, optionalhook=False, tryfirst=False, trylast=False, specname=None
            )
        return super().parse_hookimpl_opts(plugin, name)


class Registry:
    """The backends found, by name."""

    def __init__(self) -> None:
        self.backends: dict[str, BackendInfo] = {}

    def register(self, info: BackendInfo, /) -> None:
        """Add a backend (a later registration of the same name replaces it)."""
        self.backends[info.name] = info


def discover(extra_plugins: tuple[object, ...] = ()) -> Registry:
    """Load the ``eio`` entry points (plus ``extra_plugins``) and collect their backends."""
    pm = _PluginManager(PROJECT)
    pm.add_hookspecs(_Spec)
    pm.load_setuptools_entrypoints(PROJECT)
    for plugin in extra_plugins:
        pm.register(plugin)
    registry = Registry()
    pm.hook.eio_register_backends(registry=registry)
    return registry
