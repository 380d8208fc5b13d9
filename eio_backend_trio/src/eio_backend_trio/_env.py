"""The whole standard environment on trio, from the shared Unix layer (`eio.unix.make_stdenv`).

Sockets, pipes and processes wait for readiness through the hosted loop's
poller; files run on worker threads. Each domain of ``env.domain_mgr`` is a
trio run of its own, on its own thread, hosting its own loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import eio.unix

from .hosting import BACKEND_ID, new_loop, run_eio

T = TypeVar("T")


def new_env() -> eio.unix.UnixEnv:
    """A standard environment whose ``backend_id`` is ``"trio"``."""
    return eio.unix.make_stdenv(BACKEND_ID, new_loop)


async def run_main(main: Callable[[Any], Awaitable[T]]) -> T:
    """From trio code: ``await main(env)`` as an eio fiber with the whole `eio.Stdenv` (``env.backend_id == "trio"``).

    The fiber is hosted in the running trio run's eio loop, like `run_eio`'s.
    """
    return await run_eio(main, new_env())
