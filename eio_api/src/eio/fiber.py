"""Fibers: forking, racing, and concurrent list operations (Eio's ``Fiber``).

Scheduling is deterministic: a forked fiber runs at once until it first
suspends, then the forking fiber continues; woken fibers join the back of
the run queue.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import Any, Generic, TypeVar, TypeVarTuple, Unpack, cast

from ._core._cancel import ON, CancelContext, Cancelled
from ._core._errors import add_error, combined
from ._core._fiber import Fiber
from ._core._loop import current_fiber
from ._core._promise import Promise, Resolver
from ._core._scopes import protect
from ._core._switch import Switch
from ._core._traps import check_async_fns, coroutine_of, fork_raw, suspend
from ._core._traps import yield_ as _yield

__all__ = [
    "all",
    "any",
    "await_cancel",
    "both",
    "check",
    "filter",
    "filter_map",
    "first",
    "fork",
    "fork_daemon",
    "fork_promise",
    "fork_seq",
    "Put",
    "SeqAbandoned",
    "is_cancelled",
    "iter",
    "map",
    "n_any",
    "pair",
    "yield_",
]

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
Ts = TypeVarTuple("Ts")

AsyncFn = Callable[[], Awaitable[T]]


# -- forking ------------------------------------------------------------------


def _name_next_fiber(name: str | None) -> None:
    # Only a recorded run uses the name (its row in the picture of the run).
    if name is not None:
        current_fiber().loop.next_fiber_name = str(name)


def fork(sw: Switch, fn: Callable[[Unpack[Ts]], Awaitable[object]], *args: Unpack[Ts], name: str | None = None) -> None:
    """Run ``await fn(*args)`` in a new fiber owned by ``sw``.

    The new fiber runs at once, until it first suspends or ends; then the
    caller continues. If it raises, ``sw`` fails (and so is cancelled). If
    ``sw`` is already cancelled, ``fn`` is not run at all. ``name`` labels
    the fiber in a recorded run (default: the function's name).
    """
    if name is not None:
        _name_next_fiber(name)
        try:
            started = sw.start_fiber(fn, args, "eio.fiber.fork")
        finally:
            current_fiber().loop.next_fiber_name = None
    else:
        started = sw.start_fiber(fn, args, "eio.fiber.fork")
    if not started:
        check_async_fns((fn,), "eio.fiber.fork")  # misuse is reported even when fn is not run


def fork_daemon(sw: Switch, fn: Callable[[Unpack[Ts]], Awaitable[object]], *args: Unpack[Ts], name: str | None = None) -> None:
    """Like `fork`, but the fiber does not keep ``sw`` open.

    Once only daemon fibers remain in ``sw``, they are cancelled (that
    cancellation is not reported as an error). A daemon that returns just ends.
    """
    try:
        sw.check_our_domain()
    except BaseException:
        check_async_fns((fn,), "eio.fiber.fork_daemon")  # a coroutine given by mistake: report it, and close it
        raise
    cc = sw.cancel_context
    if cc.state == ON:
        coro = coroutine_of(fn, args, "eio.fiber.fork_daemon")
        sw.inc_fibers()
        sw._daemons += 1  # pyright: ignore[reportPrivateUsage] - Switch's accounting, owned by this module too
        _name_next_fiber(name)
        fork_raw(cc, coro, sw.daemon_exit)
    else:
        check_async_fns((fn,), "eio.fiber.fork_daemon")


def fork_promise(
    sw: Switch, fn: Callable[[Unpack[Ts]], Awaitable[T]], *args: Unpack[Ts], name: str | None = None
) -> Promise[T]:
    """Run ``fn(*args)`` in a new fiber; the returned promise gets its result or its error.

    An error goes to the promise, not to the switch. If ``sw`` is already
    cancelled, ``fn`` is not run and the promise holds `Cancelled`.
    """
    try:
        sw.check_our_domain()
    except BaseException:
        check_async_fns((fn,), "eio.fiber.fork_promise")  # a coroutine given by mistake: report it, and close it
        raise
    p: Promise[T] = Promise()
    r = Resolver(p)
    cc = sw.cancel_context
    if cc.state != ON:
        check_async_fns((fn,), "eio.fiber.fork_promise")
        error = sw.get_error()
        assert error is not None
        r.resolve_error(error)
        return p
    coro = coroutine_of(fn, args, "eio.fiber.fork_promise")
    sw.inc_fibers()

    def on_exit(fiber: Fiber, result: object, error: BaseException | None) -> None:
        if error is None:
            r.resolve(cast(T, result))  # what fn returned
        else:
            r.resolve_error(error)
        sw.dec_fibers()

    _name_next_fiber(name)
    fork_raw(cc, coro, on_exit)
    return p


def _fork_promise_exn(sw: Switch, coro: Coroutine[Any, Any, T]) -> Promise[T]:
    # Like fork_promise, but an error fails the switch instead (the promise is
    # then never resolved; the switch's cancellation stops its waiters).
    p: Promise[T] = Promise()
    r = Resolver(p)
    sw.inc_fibers()

    def on_exit(fiber: Fiber, result: object, error: BaseException | None) -> None:
        if error is None:
            r.resolve(cast(T, result))
        else:
            sw._fail_quietly(error)  # pyright: ignore[reportPrivateUsage]
        sw.dec_fibers()

    fork_raw(sw.cancel_context, coro, on_exit)
    return p


# -- cancellation and yielding --------------------------------------------------


yield_ = _yield


def check() -> None:
    """Raise `Cancelled` if the current fiber's context is cancelled."""
    cc = current_fiber().cc
    if cc.state != ON:
        cc.check()


def is_cancelled() -> bool:
    """Whether the current fiber's context is cancelled."""
    return current_fiber().cc.state != ON


async def await_cancel() -> Any:
    """Wait until the current fiber is cancelled (then raise `Cancelled`)."""

    def register(fiber: Fiber) -> None:
        fiber.cancel_fn = fiber.wake_error

    await suspend(register)
    raise AssertionError("await_cancel resumed without being cancelled")


# -- running several functions ----------------------------------------------------


async def _forks(sw: Switch, fs: list[AsyncFn[object]]) -> None:
    last = len(fs) - 1
    for i, f in enumerate(fs):
        if i == last:
            sw.check()
            await f()
        else:
            fork(sw, f)


async def all(fs: Iterable[AsyncFn[object]]) -> None:  # noqa: A001 - Eio's name
    """Run every function concurrently; return when all have finished.

    If any raises, the others are cancelled and the error is raised. The last
    function runs in the calling fiber.
    """
    fs = list(fs)
    check_async_fns(fs, "eio.fiber.all")
    async with Switch.run(name="all") as sw:
        await _forks(sw, fs)


async def both(f: AsyncFn[object], g: AsyncFn[object]) -> None:
    """``all([f, g])``: ``f`` starts first, ``g`` runs in the calling fiber."""
    check_async_fns((f, g), "eio.fiber.both")
    async with Switch.run(name="both") as sw:
        await _forks(sw, [f, g])


async def pair(f: AsyncFn[A], g: AsyncFn[B]) -> tuple[A, B]:
    """Run ``f`` and ``g`` concurrently and return both results.

    ``f`` runs in a new fiber whose error is only raised once ``g`` has
    returned (as in Eio); an error from ``g`` cancels ``f``.
    """
    check_async_fns((f, g), "eio.fiber.pair")
    async with Switch.run(name="pair") as sw:
        x = fork_promise(sw, f)
        y = await g()
        return (await x, y)


class _NotFirst(Exception):
    """Why the losers of `first`/`any` are cancelled."""

    def __init__(self) -> None:
        super().__init__("another fiber finished first")


_NEW = 0  # no fiber has finished yet
_OK = 1  # one has returned (the others are being cancelled)
_FAILED = 2  # one has raised


class _Race(Generic[A]):
    """The outcome so far of `any`/`first`/`n_any` (Eio's ``any_status``)."""

    __slots__ = ("state", "result", "errors")

    def __init__(self) -> None:
        self.state = _NEW
        self.result: A | None = None
        self.errors: builtins.list[BaseException] = []


async def _any_gen(fs: builtins.list[AsyncFn[T]], ret: Callable[[T], A], combine: Callable[[A, T], A]) -> A:
    fiber = current_fiber()
    parent = fiber.cc
    if parent.state != ON:
        parent.check()
    cc = CancelContext(fiber.loop, parent, protected=False, name="any")
    fiber.move_to(cc)
    race = _Race[A]()

    async def wrap(h: AsyncFn[T]) -> None:
        try:
            x = await h()
        except BaseException as ex:  # noqa: BLE001 - every outcome is recorded below
            if isinstance(ex, Cancelled) and cc.state != ON:
                return  # cancelled because another finished first, or by our parent (checked at the end)
            state = race.state
            race.state = _FAILED
            if state == _NEW:
                race.errors.append(ex)
                cc.cancel(ex)
            elif state == _OK:
                race.errors.append(ex)
            else:
                add_error(race.errors, ex)
        else:
            if race.state == _NEW:
                race.state = _OK
                race.result = ret(x)
                cc.cancel(_NotFirst())
            elif race.state == _OK:
                race.result = combine(cast(A, race.result), x)

    try:
        promises: builtins.list[Promise[None]] = []
        if not fs:
            await await_cancel()
        last = len(fs) - 1
        for i, f in enumerate(fs):
            if i == last:
                await wrap(f)
            else:
                p: Promise[None] = Promise()
                r = Resolver(p)
                fork_raw(cc, wrap(f), _resolver_exit(r))
                promises.append(p)
        with protect():
            for p in promises:
                await p
    finally:
        fiber.move_to(parent)
        cc.finish()
    parent_error = parent.get_error()
    if race.state == _OK:
        return cast(A, race.result)
    if race.state == _NEW:
        assert parent_error is not None
        raise parent_error
    errors = race.errors
    if parent_error is not None:
        add_error(errors, parent_error)
    raise combined(errors)


def _resolver_exit(r: Resolver[None]) -> Callable[[Fiber, object, BaseException | None], None]:
    def on_exit(fiber: Fiber, result: object, error: BaseException | None) -> None:
        if error is None:
            r.resolve(None)
        else:
            r.resolve_error(error)

    return on_exit


def _keep_first(x: T, _y: T) -> T:
    return x


async def any(fs: Iterable[AsyncFn[T]], combine: Callable[[T, T], T] | None = None) -> T:  # noqa: A001
    """Run the functions concurrently; the first to return wins and the others are cancelled.

    If several return before they can be cancelled, ``combine(previous, new)``
    picks the result (by default the earlier one). If one raises, the others
    are cancelled and the error is raised.
    """
    fs = builtins.list(fs)
    check_async_fns(fs, "eio.fiber.any")
    return await _any_gen(fs, _identity, combine or _keep_first)


def _identity(x: T) -> T:
    return x


async def first(f: AsyncFn[T], g: AsyncFn[T], combine: Callable[[T, T], T] | None = None) -> T:
    """``any([f, g], combine)``."""
    check_async_fns((f, g), "eio.fiber.first")
    return await _any_gen([f, g], _identity, combine or _keep_first)


async def n_any(fs: Iterable[AsyncFn[T]]) -> builtins.list[T]:
    """Like `any`, but return every result produced before the others were cancelled, in order."""

    def ret(x: T) -> builtins.list[T]:
        return [x]

    def combine(xs: builtins.list[T], x: T) -> builtins.list[T]:
        xs.append(x)
        return xs

    fs = builtins.list(fs)
    check_async_fns(fs, "eio.fiber.n_any")
    return await _any_gen(fs, ret, combine)


# -- concurrent list operations ------------------------------------------------------


class _Limiter:
    """Allows up to ``n`` jobs at once; used by a single fiber (Eio's Fiber.List.Limiter)."""

    __slots__ = ("free", "waiter", "sw")

    def __init__(self, sw: Switch, n: int) -> None:
        self.free = n
        self.waiter: Fiber | None = None
        self.sw = sw

    async def await_free(self) -> None:
        if self.free == 0:

            def register(fiber: Fiber) -> None:
                def cancel(error: Cancelled) -> None:
                    self.waiter = None
                    fiber.wake_error(error)

                fiber.cancel_fn = cancel
                self.waiter = fiber

            await suspend(register)
        assert self.free > 0
        self.free -= 1

    def release(self) -> None:
        self.free += 1
        if self.free == 1:
            waiter = self.waiter
            if waiter is not None:
                self.waiter = None
                waiter.wake(None)


def _check_max_fibers(max_fibers: int | None) -> int:
    if max_fibers is None:
        return 1 << 62
    if max_fibers <= 0:
        raise ValueError(f"max_fibers must be positive (got {max_fibers})")
    return max_fibers


async def filter_map(
    fn: Callable[[A], Awaitable[B | None]], items: Iterable[A], max_fibers: int | None = None
) -> builtins.list[B]:
    """``fn`` over ``items`` concurrently (at most ``max_fibers`` at once), dropping None results.

    Results are in input order. An error cancels the remaining work and is raised.
    """
    limit = _check_max_fibers(max_fibers)
    check_async_fns((fn,), "eio.fiber.filter_map")
    xs = builtins.list(items)
    if not xs:
        return []
    async with Switch.run(name="filter_map") as sw:
        limiter = _Limiter(sw, limit)
        promises: builtins.list[Promise[B | None]] = []
        last_result: B | None = None
        last = len(xs) - 1
        for i, x in enumerate(xs):
            await limiter.await_free()
            if i == last:
                last_result = await fn(x)
                limiter.release()
            else:
                promises.append(_fork_promise_exn(sw, _released(limiter, fn, x)))
        out: builtins.list[B] = [] if last_result is None else [last_result]
        # Awaited from the last to the first, as Eio's recursive version does.
        for p in reversed(promises):
            v = await p
            if v is not None:
                out.append(v)
        out.reverse()
        return out


async def _released(limiter: _Limiter, fn: Callable[[A], Awaitable[T]], x: A) -> T:
    r = await fn(x)
    limiter.release()
    return r


async def map(fn: Callable[[A], Awaitable[B]], items: Iterable[A], max_fibers: int | None = None) -> builtins.list[B]:  # noqa: A001
    """``fn`` over ``items`` concurrently, at most ``max_fibers`` at once; results in input order."""
    limit = _check_max_fibers(max_fibers)
    check_async_fns((fn,), "eio.fiber.map")
    xs = builtins.list(items)
    if not xs:
        return []
    async with Switch.run(name="map") as sw:
        limiter = _Limiter(sw, limit)
        promises: builtins.list[Promise[B]] = []
        last = len(xs) - 1
        last_result: builtins.list[B] = []
        for i, x in enumerate(xs):
            await limiter.await_free()
            if i == last:
                last_result.append(await fn(x))
                limiter.release()
            else:
                promises.append(_fork_promise_exn(sw, _released(limiter, fn, x)))
        out: builtins.list[B] = last_result
        for p in reversed(promises):
            out.append(await p)
        out.reverse()
        return out


async def filter(fn: Callable[[A], Awaitable[bool]], items: Iterable[A], max_fibers: int | None = None) -> builtins.list[A]:  # noqa: A001
    """The items for which ``fn`` returns True, tested concurrently; in input order."""

    # A None item can't be told from a dropped one, so filter by position.
    xs = builtins.list(items)
    flags = await map(fn, xs, max_fibers=max_fibers)
    return [x for x, ok in zip(xs, flags, strict=True) if ok]


async def iter(fn: Callable[[A], Awaitable[object]], items: Iterable[A], max_fibers: int | None = None) -> None:  # noqa: A001
    """Run ``fn`` on every item concurrently, at most ``max_fibers`` at once."""
    limit = _check_max_fibers(max_fibers)
    check_async_fns((fn,), "eio.fiber.iter")
    xs = builtins.list(items)
    if not xs:
        return
    async with Switch.run(name="iter") as sw:
        limiter = _Limiter(sw, limit)
        last = len(xs) - 1
        for i, x in enumerate(xs):
            await limiter.await_free()
            if i == last:
                await fn(x)
                limiter.release()
            else:
                fork(sw, _released, limiter, fn, x)


# -- a producer fiber consumed as an async iterator (Eio's fork_seq) ---------------


Put = Callable[[T], Awaitable[None]]
"""The ``put`` function a `fork_seq` producer is given: ``await put(item)``."""


class SeqAbandoned(Exception):
    """The reason a `fork_seq` producer is cancelled: a request for its next item was cancelled."""


_END: Any = object()  # the reply that ends the sequence
_WITHDRAWN: Any = object()  # the reply a cancelled request claims, so that no item can arrive after it


def _producer_cancelled(ex: Cancelled) -> RuntimeError:
    """The error of a request to a `fork_seq` whose producer was cancelled."""
    error = RuntimeError(f"eio.fiber.fork_seq: the producer was cancelled ({ex.reason!r})")
    error.__cause__ = ex
    return error


class _ForkedSeq(AsyncIterator[T]):
    """The consumer's side of `fork_seq`: each ``__anext__`` runs the producer up to its next ``put``.

    The consumer and the producer may be in different domains: each reply is
    a promise that exactly one side settles (`Resolver.try_resolve`), the
    producer with an item, the end or its error, or a cancelled consumer with
    `_WITHDRAWN`; and the producer sets up its next wait before it hands an
    item over.
    """

    __slots__ = ("_dead", "_demand", "_reply", "_state")

    def __init__(self) -> None:
        self._demand: Resolver[None] | None = None  # resolved to let the parked producer go on
        self._reply: Resolver[T] | None = None  # the pending request's answer
        self._state = "ready"  # the consumer's view: "ready", "waiting", "ended", "abandoned"
        self._dead: Cancelled | None = None  # set when the producer was cancelled (its switch failed or finished)

    def __aiter__(self) -> _ForkedSeq[T]:
        return self

    async def __anext__(self) -> T:
        state = self._state
        if state == "ended":
            raise StopAsyncIteration
        if state == "waiting":
            raise RuntimeError("eio.fiber.fork_seq: the next item was requested while another request is pending")
        if state == "abandoned":
            raise RuntimeError("eio.fiber.fork_seq: the sequence was abandoned when a request for it was cancelled")
        p: Promise[T] = Promise()
        reply = self._reply = Resolver(p)
        self._state = "waiting"
        # The producer sets `_dead` before it looks for a pending request, and we
        # look at `_dead` after setting ours: one of the two sides answers it.
        dead = self._dead
        if dead is not None:
            reply.try_resolve_error(_producer_cancelled(dead))
        else:
            demand = self._demand
            assert demand is not None  # the producer parks before it answers a request
            self._demand = None
            demand.resolve(None)
        try:
            try:
                item = await p
            except Cancelled:
                if reply.try_resolve(_WITHDRAWN):
                    self._state = "abandoned"  # nothing was taken: the producer learns it at its next put
                    raise
                # The producer answered in the same moment: its answer wins (the
                # cancellation is seen at this fiber's next wait).
                item = await p
        except Cancelled:
            raise
        except BaseException:
            self._state = "ended"  # the producer failed: its error is ours
            if self._dead is not None:
                check()  # if we are cancelled too (the same switch failing), that is the better answer
            raise
        if item is _END:
            self._state = "ended"
            raise StopAsyncIteration
        self._state = "ready"
        return item

    def _expect_request(self) -> Promise[None]:
        """The producer's next wait, set up before it answers (the consumer may ask at once, from another domain)."""
        p: Promise[None] = Promise()
        self._demand = Resolver(p)
        return p

    async def _put(self, item: T) -> None:
        reply = self._reply
        if reply is None:
            raise RuntimeError("eio.fiber.fork_seq: put called outside the producer's turn (from another fiber?)")
        self._reply = None
        next_request = self._expect_request()
        if not reply.try_resolve(item):
            self._demand = None
            raise Cancelled(SeqAbandoned("the consumer's request for this item was cancelled"))
        await next_request

    async def _produce(self, fn: Callable[[Put[T]], Awaitable[object]]) -> None:
        try:
            await self._expect_request()
            await fn(self._put)
        except Cancelled as ex:
            if isinstance(ex.reason, SeqAbandoned):
                return  # the consumer stopped asking: not an error of the switch
            # Without this, a request made now or later would wait for ever.
            self._dead = ex
            reply = self._reply
            if reply is not None:
                self._reply = None
                reply.try_resolve_error(_producer_cancelled(ex))
            raise
        except BaseException as ex:
            reply = self._reply
            self._reply = None
            if reply is None or not reply.try_resolve_error(ex):
                raise  # no request to answer (it was withdrawn): the switch gets it
            return
        reply = self._reply
        if reply is not None:
            self._reply = None
            reply.try_resolve(_END)


def fork_seq(sw: Switch, fn: Callable[[Put[T]], Awaitable[object]], name: str | None = None) -> AsyncIterator[T]:
    """A producer fiber consumed as an async iterator (Eio's ``Fiber.fork_seq``).

    ``fn(put)`` runs in a new daemon fiber of ``sw``, but only when the first
    item is requested; ``await put(x)`` hands ``x`` to the consumer and parks
    the producer until the next request, so it never runs ahead. When ``fn``
    returns, the iteration ends; if it raises, the consumer's request raises
    the error (the switch does not see it).

    Cancellation: if the consumer's request is cancelled before an item
    arrived, no item is lost; the producer is cancelled (with
    `SeqAbandoned` as the reason) when it next calls ``put``, and the
    sequence is over. An item handed over in the same turn as the
    cancellation is delivered, not dropped. A consumer that stops iterating
    leaves the producer parked until ``sw`` has only daemon fibers left, when
    it is cancelled like any daemon; a request made once the producer was
    cancelled (``sw`` finished or failed) is a `RuntimeError`, not a wait for
    ever. One request at a time: asking for the
    next item while a request is pending is a `RuntimeError`. The items may be
    consumed from another domain; ``fn`` runs in the domain of ``sw``.
    ``name`` labels the producer in a recorded run.
    """
    seq: _ForkedSeq[T] = _ForkedSeq()
    fork_daemon(sw, seq._produce, fn, name=name)  # pyright: ignore[reportPrivateUsage] - the producer's side of the same object
    return seq
