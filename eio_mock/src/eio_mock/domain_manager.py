"""A mock domain manager (Eio's ``Eio_mock.Domain_manager``).

"Domains" started by `MockDomainManager` run in the calling fiber, on the same
loop, so tests stay deterministic: each only gets a fresh id (1, 2, ...),
held in the context variable `domain_id` and inherited by the fibers it forks.
Inside `run` (or `with_domain_tracing`), every `eio.traceln` line is prefixed
with the current id, as ``+[1] Sleeping 50``.

`threads` makes a domain manager that runs each domain for real: in a new OS
thread with its own mock loop, for tests of code that must be thread-safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

from eio.lowlevel import ThreadDomainManager, coroutine_of, trace_prefix

__all__ = ["MockDomainManager", "ThreadDomainManager", "create", "domain_id", "run", "threads", "with_domain_tracing"]

T = TypeVar("T")

domain_id: ContextVar[str | None] = ContextVar("eio_mock_domain_id", default=None)
"""The id of the mock domain the current fiber runs in (None outside any)."""

_tracing: ContextVar[bool] = ContextVar("eio_mock_domain_tracing", default=False)


def _prefix() -> str:
    ident = domain_id.get()
    return "" if ident is None else f"[{ident}] "


class MockDomainManager:
    """A domain manager whose domains run in the caller's own fiber (see the module docs).

    It satisfies `eio.DomainManager`.
    """

    __slots__ = ("_next_id",)

    def __init__(self) -> None:
        self._next_id = 1

    def __repr__(self) -> str:
        return f"<MockDomainManager next id {self._next_id}>"

    async def run(self, fn: Callable[[], Awaitable[T]], /) -> T:
        """Run ``await fn()`` as a new mock domain: in this fiber, with a fresh domain id."""
        coro = coroutine_of(fn, (), "MockDomainManager.run")
        ident = str(self._next_id)
        self._next_id += 1
        id_token = domain_id.set(ident)
        prefix_token = trace_prefix.set(f"[{ident}] ") if _tracing.get() else None
        try:
            return await coro
        finally:
            if prefix_token is not None:
                trace_prefix.reset(prefix_token)
            domain_id.reset(id_token)


def create() -> MockDomainManager:
    """A new mock domain manager; its domains get ids 1, 2, ..."""
    return MockDomainManager()


async def with_domain_tracing(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``await fn()`` with the current mock domain id shown before each traced line."""
    coro = coroutine_of(fn, (), "eio_mock.domain_manager.with_domain_tracing")
    tracing_token = _tracing.set(True)
    prefix_token = trace_prefix.set(_prefix())
    try:
        return await coro
    finally:
        trace_prefix.reset(prefix_token)
        _tracing.reset(tracing_token)


async def run(fn: Callable[[MockDomainManager], Awaitable[T]]) -> T:
    """Run ``await fn(dm)`` with a new mock domain manager ``dm`` and domain tracing on.

    ``fn`` itself runs as domain 0, so its trace lines start with ``[0]``.
    """
    dm = MockDomainManager()
    coro = coroutine_of(fn, (dm,), "eio_mock.domain_manager.run")
    id_token = domain_id.set("0")
    try:

        async def body() -> T:
            return await coro

        return await with_domain_tracing(body)
    finally:
        domain_id.reset(id_token)


def threads() -> ThreadDomainManager:
    """A domain manager that runs each domain in a new OS thread with its own mock loop.

    A domain's loop waits (rather than reporting a deadlock) while other
    threads, such as the caller's, are alive.
    """
    from .backend import new_loop

    return ThreadDomainManager(new_loop)
