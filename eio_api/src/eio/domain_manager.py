"""Running code in other domains (Eio's ``Domain_manager``).

A domain is an OS thread with its own event loop. Domains wait for IO
independently, and C code that releases the interpreter lock (hashing,
compression, many numeric libraries) runs in parallel with them; but Python
code in different domains does not run in parallel: CPython's interpreter
lock lets one thread run Python code at a time. For CPU-bound Python code
use processes: `eio.ExecutorPool.of_processes` or `eio.run_in_executor` with
a process pool. A function run in a new domain must only touch values that
are safe to share between threads (promises, streams, mutexes, semaphores,
conditions, pools and lazy values are); nothing checks this. For many jobs,
an `eio.ExecutorPool` reuses a few domains.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

__all__ = ["DomainManager", "run"]

T = TypeVar("T")


class DomainManager(Protocol):
    """Something that can run an async function in a new domain (``env.domain_mgr``).

    A provider's ``run`` must start a new domain (thread and loop), run
    ``await fn()`` as its main fiber, and return its result or raise its
    error in the calling fiber, letting the caller's other fibers run
    meanwhile. If the calling fiber is cancelled, the new domain's main
    fiber must be cancelled too, and ``run`` must still wait for it to end.
    """

    async def run(self, fn: Callable[[], Awaitable[T]], /) -> T:
        """Run ``await fn()`` in a new domain and return its result."""
        ...


async def run(dm: DomainManager, fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``await fn()`` in a new domain made by ``dm``; wait for it and return its result.

    Other fibers of the calling domain keep running while this one waits.
    Cancelling the calling fiber cancels ``fn`` in the new domain.
    """
    return await dm.run(fn)
