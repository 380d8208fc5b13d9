"""The asyncio backend's standard environment: the shared Unix layer on readiness waits from asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import eio
from eio.lowlevel import Loop

from ._host import backend_id_of, new_domain_loop


def loop_factory_like(aloop: asyncio.AbstractEventLoop) -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory of asyncio loops of the same kind as ``aloop`` (uvloop stays uvloop), for domains."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    if isinstance(aloop, uvloop.Loop):
        return uvloop.new_event_loop
    return asyncio.new_event_loop


def make_env(aloop: asyncio.AbstractEventLoop) -> eio.Stdenv:
    """The whole `eio.Stdenv` for fibers hosted in ``aloop``; each domain of ``domain_mgr`` runs its own asyncio loop.

    ``env.backend_id`` is ``asyncio``, or ``asyncio-uvloop`` when ``aloop`` is uvloop's.
    """
    from eio.unix import make_stdenv

    factory = loop_factory_like(aloop)

    def domain_loop() -> Loop:
        return new_domain_loop(factory)

    return make_stdenv(backend_id_of(aloop), domain_loop)
