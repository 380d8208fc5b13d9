"""Running work on other OS threads: blocking calls (systhreads) and domains.

`run_in_systhread` runs a blocking function on a pooled thread while the
calling fiber waits. `ThreadDomainManager` runs an async function in a new
domain: a new OS thread with its own loop (made by the backend's factory).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from ._cancel import Cancelled
from ._fiber import Fiber
from ._loop import InternalThread, Loop, current_fiber, current_loop
from ._promise import Promise, Resolver
from ._traps import suspend

T = TypeVar("T")


class _ThreadPool:
    """Daemon worker threads that stay around for reuse (idle ones wait for work)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: deque[Callable[[], None]] = deque()
        self._idle = 0
        self._cond = threading.Condition(self._lock)

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._jobs.append(job)
            if self._idle:
                self._cond.notify()
                return
        InternalThread(target=self._worker, name="eio-systhread", daemon=True).start()

    def _worker(self) -> None:
        while True:
            with self._lock:
                while not self._jobs:
                    self._idle += 1
                    woke = self._cond.wait(timeout=10.0)
                    self._idle -= 1
                    if not woke and not self._jobs:
                        return  # idle for long: let the thread go
                job = self._jobs.popleft()
            job()


_pool = _ThreadPool()


async def run_in_systhread(fn: Callable[[], T]) -> T:
    """Run the blocking ``fn()`` on a pooled OS thread; the fiber waits for its result.

    The wait can't be cancelled (the thread can't be interrupted); a fiber
    already cancelled raises `Cancelled` without running ``fn``.
    """
    loop = current_loop()
    outcome: list[Any] = []

    def register(fiber: Fiber) -> None:
        loop.pending_external += 1

        def job() -> None:
            try:
                outcome.append((True, fn()))
            except BaseException as ex:  # noqa: BLE001 - handed back to the fiber
                outcome.append((False, ex))
            loop.call_soon_threadsafe(done)

        def done() -> None:
            loop.pending_external -= 1
            fiber.wake(None)

        _pool.submit(job)

    await suspend(register)
    ok, value = outcome[0]
    if ok:
        return cast(T, value)
    raise value


class ThreadDomainManager:
    """A `eio.DomainManager` whose domains are OS threads, each with its own loop.

    ``new_loop()`` makes the loop for a new domain (a backend supplies it:
    a new ring for io_uring, a new mock loop for the mock backend). If the
    calling fiber is cancelled, the domain's function is cancelled too, and
    `run` returns only once the domain has finished.
    """

    __slots__ = ("_new_loop", "_count")

    def __init__(self, new_loop: Callable[[], Loop]) -> None:
        self._new_loop = new_loop
        self._count = 0

    def __repr__(self) -> str:
        return "<domain manager (threads)>"

    async def run(self, fn: Callable[[], Awaitable[T]], /) -> T:
        """Run ``await fn()`` in a new domain and return its result (or raise its error)."""
        from ..fiber import first  # the fiber module builds on this package

        # As Eio's Suspend.enter: a caller already cancelled starts no domain.
        current_fiber().cc.check()
        parent = current_loop()
        result: Promise[T] = Promise()
        resolver = Resolver(result)
        stop: Promise[BaseException] = Promise()
        stopper = Resolver(stop)
        self._count += 1

        async def domain_main() -> T:
            async def watch() -> T:
                raise await stop

            return await first(fn, watch)

        def thread_main() -> None:
            loop = self._new_loop()
            try:
                value = cast(T, loop.run(domain_main()))
            except BaseException as ex:  # noqa: BLE001 - handed back to the caller's fiber
                outcome: tuple[bool, object] = (False, ex)
            else:
                outcome = (True, value)
            # Release the domain's OS resources before the caller can go on,
            # and wake the caller before it stops counting this thread as a
            # source of wake-ups (else it could see a false deadlock between the two).
            loop.poller.close()
            if outcome[0]:
                resolver.resolve(cast(T, outcome[1]))
            else:
                resolver.resolve_error(cast(BaseException, outcome[1]))
            parent.call_soon_threadsafe(_done)

        def _done() -> None:
            parent.pending_external -= 1

        parent.pending_external += 1
        InternalThread(target=thread_main, name=f"eio-domain-{self._count}", daemon=True).start()
        try:
            return await result
        except Cancelled as ex:
            # The domain's fiber is cancelled by what cancelled us, not by our
            # Cancelled (which would show up as a Cancelled of a Cancelled).
            stopper.try_resolve(ex.reason)
            from ._scopes import protect

            with protect():
                try:
                    await result
                except BaseException:  # noqa: BLE001 - the cancellation is what we report
                    pass
            raise
