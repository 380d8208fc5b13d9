"""Robustness of the core runtime: deep fork chains, deadlocks, and clear errors on misuse."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import types
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from typing import Any, cast

import eio
import pytest
from conftest import Runner, Trace
from eio.lowlevel import MAX_FORK_DEPTH

import eio_mock


class Failure(Exception):
    """A test error."""


def raises(run: Runner, fn: Callable[[], Awaitable[Any]]) -> BaseException:
    with pytest.raises(BaseException) as info:
        run(fn)
    return info.value


# -- Deep fork chains ---------------------------------------------------------------------


def test_a_long_chain_of_nested_forks_completes(run: Runner) -> None:
    n = 3000
    assert n > 10 * MAX_FORK_DEPTH
    ran: list[int] = []

    async def main() -> None:
        async with eio.Switch.run() as sw:

            async def link(i: int) -> None:
                ran.append(i)
                if i < n:
                    eio.fiber.fork(sw, link, i + 1)  # each child forks the next in its first step
                await eio.fiber.yield_()

            eio.fiber.fork(sw, link, 1)

    run(main)
    assert sorted(ran) == list(range(1, n + 1))


def test_a_chain_of_nested_forks_keeps_eio_order_below_the_cap(run: Runner, trace: Trace) -> None:
    depth = MAX_FORK_DEPTH // 2

    async def main() -> None:
        async with eio.Switch.run() as sw:

            async def link(i: int) -> None:
                if i < depth:
                    eio.fiber.fork(sw, link, i + 1)
                eio.traceln(i)

            eio.fiber.fork(sw, link, 1)

    run(main)
    assert trace.lines() == [str(i) for i in range(depth, 0, -1)]


def test_errors_in_a_long_chain_are_reported(run: Runner) -> None:
    n = 1000

    async def main() -> None:
        async with eio.Switch.run() as sw:

            async def link(i: int) -> None:
                if i < n:
                    eio.fiber.fork(sw, link, i + 1)
                    await eio.fiber.await_cancel()
                raise Failure(f"end of chain {i}")

            eio.fiber.fork(sw, link, 1)

    ex = raises(run, main)
    assert type(ex) is Failure
    assert ex.args == (f"end of chain {n}",)


# -- Deadlocks ----------------------------------------------------------------------------------


class Unraisables:
    """Collects what `sys.unraisablehook` receives (such as errors while a coroutine is collected)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def hook(self, info: Any) -> None:
        self.seen.append(f"{info.exc_type.__name__}: {info.exc_value} ({info.err_msg}: {info.object!r})")


@pytest.fixture
def unraisables() -> Iterator[Unraisables]:
    u = Unraisables()
    old = sys.unraisablehook
    sys.unraisablehook = u.hook
    try:
        yield u
    finally:
        sys.unraisablehook = old


def collect_and_check(unraisables: Unraisables, caught: list[warnings.WarningMessage]) -> None:
    gc.collect()
    gc.collect()
    assert [str(w.message) for w in caught] == []
    assert unraisables.seen == []


def test_deadlock_in_a_switch_is_reported_cleanly(unraisables: Unraisables, trace: Trace) -> None:
    async def main() -> None:
        p, _r = eio.Promise[None].create()
        async with eio.Switch.run() as sw:

            async def child(i: int) -> None:
                async with eio.Switch.run() as inner:
                    inner.on_release(lambda: eio.traceln(f"child {i} released"))
                    try:
                        await p
                    finally:
                        eio.traceln(f"child {i} closed")

            eio.fiber.fork(sw, child, 1)
            eio.fiber.fork(sw, child, 2)
            await p

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(eio_mock.DeadlockDetected):
            eio_mock.backend.run(main)
        collect_and_check(unraisables, caught)
    # Leftover fibers are closed by the loop, the deepest first (the latest
    # first at one depth), so their `finally` blocks and synchronous release
    # hooks run at once.
    assert trace.lines() == ["child 2 closed", "child 2 released", "child 1 closed", "child 1 released"]


def test_at_deadlock_a_switchs_fibers_are_closed_before_its_owner(unraisables: Unraisables, trace: Trace) -> None:
    # The owner joined the switch's context first; it is closed last, so the
    # switch's release hooks run after its fibers' `finally` blocks.
    async def main() -> None:
        p, _r = eio.Promise[None].create()
        async with eio.Switch.run() as sw:
            sw.on_release(lambda: eio.traceln("switch released"))

            async def child(i: int) -> None:
                try:
                    await p
                finally:
                    eio.traceln(f"child {i} closed")

            eio.fiber.fork(sw, child, 1)
            eio.fiber.fork(sw, child, 2)
            try:
                await p
            finally:
                eio.traceln("owner closed")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(eio_mock.DeadlockDetected):
            eio_mock.backend.run(main)
        collect_and_check(unraisables, caught)
    assert trace.lines() == ["child 2 closed", "child 1 closed", "owner closed", "switch released"]


def test_deadlock_with_an_async_release_hook_leaks_no_coroutine(unraisables: Unraisables) -> None:
    async def hook() -> None:
        await eio.fiber.yield_()

    async def main() -> None:
        async with eio.Switch.run() as sw:
            sw.on_release(hook)
            await eio.fiber.await_cancel()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(eio_mock.DeadlockDetected):
            eio_mock.backend.run(main)
        collect_and_check(unraisables, caught)


def test_deadlock_inside_an_async_release_hook_is_reported_cleanly(unraisables: Unraisables, trace: Trace) -> None:
    async def main() -> None:
        p, _r = eio.Promise[None].create()

        async def stuck_hook() -> None:
            try:
                await p
            finally:
                eio.traceln("stuck hook closed")

        async def other_hook() -> None:
            await eio.fiber.yield_()
            eio.traceln("other hook ran")

        async with eio.Switch.run() as sw:
            sw.on_release(lambda: eio.traceln("sync hook ran"))
            sw.on_release(other_hook)
            sw.on_release(stuck_hook)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(eio_mock.DeadlockDetected):
            eio_mock.backend.run(main)
        collect_and_check(unraisables, caught)
    # Being closed, the switch can't await the remaining async hook; the sync one still runs.
    assert trace.lines() == ["stuck hook closed", "sync hook ran"]


def test_deadlock_waiting_in_switch_exit_is_reported_cleanly(unraisables: Unraisables, trace: Trace) -> None:
    # The body has finished; the switch waits for a child that can never finish.
    async def main() -> None:
        p, _r = eio.Promise[None].create()

        async def async_hook() -> None:
            eio.traceln("async hook ran")

        async with eio.Switch.run() as sw:
            sw.on_release(lambda: eio.traceln("sync hook ran"))
            sw.on_release(async_hook)

            async def child() -> None:
                await p

            eio.fiber.fork(sw, child)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(eio_mock.DeadlockDetected):
            eio_mock.backend.run(main)
        collect_and_check(unraisables, caught)
    assert trace.lines() == ["sync hook ran"]


def test_a_switch_closed_by_the_garbage_collector_does_not_suspend(unraisables: Unraisables) -> None:
    # A coroutine abandoned inside `async with Switch.run()` is closed with
    # GeneratorExit: the switch's exit must not try to suspend then.
    async def abandoned(p: eio.Promise[None]) -> None:
        async with eio.Switch.run() as sw:
            sw.on_release(lambda: None)
            await p

    async def main() -> Coroutine[Any, Any, None]:
        p, _r = eio.Promise[None].create()
        coro = abandoned(p)
        # Drive it by hand, as a foreign scheduler might, until it suspends.
        assert coro.send(None) is not None
        return coro

    coro = eio_mock.backend.run(main)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        coro.close()
        del coro
        collect_and_check(unraisables, caught)


# -- Misuse gets a clear error ----------------------------------------------------------------


async def nothing() -> None:
    pass


def test_fork_on_a_finished_switch(run: Runner) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            pass
        for fork in (eio.fiber.fork, eio.fiber.fork_daemon, eio.fiber.fork_promise):
            with pytest.raises(eio.SwitchFinished, match="^Switch finished!$"):
                fork(sw, nothing)

    run(main)


def test_fork_on_a_cancelled_switch_does_not_run_fn(run: Runner, trace: Trace) -> None:
    async def never() -> None:
        eio.traceln("never runs")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            sw.fail(Failure("off"))
            eio.fiber.fork(sw, never)
            eio.fiber.fork_daemon(sw, never)
            p = eio.fiber.fork_promise(sw, never)
            with pytest.raises(eio.Cancelled):
                await p

    ex = raises(run, main)
    assert type(ex) is Failure
    assert trace.lines() == []


def test_resolving_a_promise_twice(run: Runner) -> None:
    async def main() -> None:
        _p, r = eio.Promise[int].create()
        r.resolve(1)
        with pytest.raises(eio.AlreadyResolved, match="^Can't resolve already-resolved promise$"):
            r.resolve(2)
        with pytest.raises(eio.AlreadyResolved):
            r.resolve_error(Failure("late"))
        assert r.try_resolve(3) is False

    run(main)
    assert issubclass(eio.AlreadyResolved, RuntimeError)


NO_LOOP = "^no eio loop is running in this thread$"


def test_driving_an_eio_coroutine_by_hand() -> None:
    async def use() -> None:
        await eio.fiber.yield_()

    coro = use()
    with pytest.raises(eio.NoLoopRunning, match=NO_LOOP):
        coro.send(None)
    coro.close()


def test_sync_operations_outside_a_loop() -> None:
    with pytest.raises(eio.NoLoopRunning, match=NO_LOOP):
        eio.fiber.check()
    with pytest.raises(eio.NoLoopRunning, match=NO_LOOP):
        eio.fiber.is_cancelled()
    with pytest.raises(eio.NoLoopRunning, match=NO_LOOP):
        with eio.cancel.protect():
            pass
    assert issubclass(eio.NoLoopRunning, RuntimeError)


def test_awaiting_a_promise_outside_a_loop() -> None:
    p, _r = eio.Promise[int].create()

    async def waiter() -> int:
        return await p

    coro = waiter()
    with pytest.raises(eio.NoLoopRunning, match=NO_LOOP):
        coro.send(None)
    coro.close()


def test_a_loop_inside_a_loop(run: Runner) -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="^an eio loop is already running in this thread$"):
            eio_mock.backend.run(nothing)

    run(main)


COROUTINE_NOT_FUNCTION = "expects an async function, but got a coroutine object"


def test_a_coroutine_passed_to_fork(run: Runner) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            for fork in (eio.fiber.fork, eio.fiber.fork_daemon, eio.fiber.fork_promise):
                with pytest.raises(TypeError, match=COROUTINE_NOT_FUNCTION) as info:
                    fork(sw, cast(Any, nothing()))
                assert "pass the function itself" in str(info.value)
                assert fork.__name__ in str(info.value)

    run(main)


def test_a_coroutine_passed_to_run() -> None:
    with pytest.raises(TypeError, match=f"eio_mock.backend.run {COROUTINE_NOT_FUNCTION}"):
        eio_mock.backend.run(cast(Any, nothing()))
    with pytest.raises(TypeError, match=f"eio_mock.backend.run_full {COROUTINE_NOT_FUNCTION}"):
        eio_mock.backend.run_full(cast(Any, nothing()))


def test_a_coroutine_passed_to_both_and_friends(run: Runner) -> None:
    combinators: list[Callable[[Any], Awaitable[object]]] = [
        lambda c: eio.fiber.both(nothing, c),
        lambda c: eio.fiber.both(c, nothing),
        lambda c: eio.fiber.pair(c, nothing),
        lambda c: eio.fiber.all([nothing, c]),
        lambda c: eio.fiber.first(c, nothing),
        lambda c: eio.fiber.any([nothing, c]),
        lambda c: eio.fiber.n_any([c, nothing]),
        lambda c: eio.fiber.map(c, [1]),
        lambda c: eio.fiber.filter_map(c, [1]),
        lambda c: eio.fiber.filter(c, [1]),
        lambda c: eio.fiber.iter(c, [1]),
    ]

    async def main() -> None:
        for combinator in combinators:
            with pytest.raises(TypeError, match=COROUTINE_NOT_FUNCTION):
                await combinator(nothing())

    run(main)


def test_a_plain_function_passed_to_fork(run: Runner) -> None:
    def not_async() -> int:
        return 1

    async def main() -> None:
        async with eio.Switch.run() as sw:
            with pytest.raises(TypeError, match="^eio.fiber.fork expects an async function, but .*not_async returned int"):
                eio.fiber.fork(sw, cast(Any, not_async))

    run(main)


def test_awaiting_an_asyncio_future_in_a_fiber(run: Runner) -> None:
    loop = asyncio.new_event_loop()
    try:
        fut = loop.create_future()

        async def main() -> None:
            await fut

        ex = raises(run, main)
    finally:
        loop.close()
    assert type(ex) is TypeError
    assert "belongs to another async library" in str(ex)
    assert "only eio operations can be awaited in an eio fiber" in str(ex)


def test_awaiting_a_foreign_yield_in_a_fiber(run: Runner) -> None:
    @types.coroutine
    def foreign() -> Generator[str, None, None]:
        yield "trio trap"

    async def main() -> None:
        await foreign()

    ex = raises(run, main)
    assert type(ex) is TypeError
    assert str(ex).startswith("a fiber awaited 'trio trap', which belongs to another async library")


def test_a_switch_used_from_another_threads_loop(run: Runner) -> None:
    result: list[BaseException] = []

    async def main() -> None:
        async with eio.Switch.run() as sw:

            async def other_domain() -> None:
                try:
                    eio.fiber.fork(sw, nothing)
                except BaseException as ex:
                    result.append(ex)
                try:
                    sw.fail(Failure("from elsewhere"))
                except BaseException as ex:
                    result.append(ex)

            t = threading.Thread(target=eio_mock.backend.run, args=(other_domain,))
            t.start()
            t.join()

    run(main)
    assert [(type(e), str(e)) for e in result] == [
        (RuntimeError, "Switch accessed from wrong domain!"),
        (RuntimeError, "Switch accessed from wrong domain!"),
    ]


def test_a_coroutine_passed_to_fork_on_an_unusable_switch(run: Runner, unraisables: Unraisables) -> None:
    async def main() -> None:
        async with eio.Switch.run() as finished:
            pass
        with pytest.raises(eio.Cancelled):
            async with eio.Switch.run() as sw:
                sw.fail(eio.Cancelled(Failure("off")))
                for switch in (sw, finished):
                    for fork in (eio.fiber.fork, eio.fiber.fork_daemon, eio.fiber.fork_promise):
                        with pytest.raises(TypeError, match=COROUTINE_NOT_FUNCTION):
                            fork(switch, cast(Any, nothing()))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(main)
        collect_and_check(unraisables, caught)
