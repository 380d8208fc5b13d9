"""The asyncio backend for eio: eio fibers hosted inside an asyncio (or uvloop) event loop.

Four entry points::

    eio_backend_asyncio.run(main)                   # new asyncio loop; main(env) on it
    r = await eio_backend_asyncio.run_asyncio(fn, *args)   # from a fiber: fn as an asyncio task
    r = await eio_backend_asyncio.run_eio(fn, *args)       # from asyncio code: fn as an eio fiber
    r = await eio_backend_asyncio.run_main(main)           # from asyncio code: main(env), whole Stdenv

All the fibers of one asyncio loop share one eio loop, stepped by asyncio
callbacks; IO readiness comes from asyncio's ``add_reader``/``add_writer``.
The backend registers itself as ``asyncio`` (and ``asyncio-uvloop``, asyncio
on uvloop) in the ``eio`` entry point group; it is never chosen automatically.

It needs a loop with ``add_reader``: on Windows that is not asyncio's default
(proactor) loop, so pass ``loop_factory=asyncio.SelectorEventLoop`` there
(the Windows code paths are type-checked, not run, in this project's CI).
"""

from __future__ import annotations

from ._host import AsyncioPoller, host_for
from ._interop import run_asyncio, run_eio, run_main
from ._run import run, run_plain

__all__ = ["AsyncioPoller", "host_for", "run", "run_asyncio", "run_eio", "run_main", "run_plain"]
