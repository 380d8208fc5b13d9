"""Conformance: `eio.Condition` (Eio's tests/condition.md).

Each test reproduces one case of Eio's file with the same trace, in the same
order. Eio's ``Failure "x"`` is the local `Failure`. ``loop_no_mutex`` takes
an async ``update`` function (Eio's may switch fibers too, as the "Looping"
case shows).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import eio
import pytest
from conftest import Runner, Trace


class Failure(Exception):
    """Eio's ``Failure``."""


def raises(run: Runner, main: Callable[[], Awaitable[object]]) -> BaseException:
    """Run ``main``, which must fail; return what it raised."""
    with pytest.raises(BaseException) as info:
        run(main)
    return info.value


async def nothing() -> None:
    pass


def test_simple_case(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run():
            condition = eio.Condition()

            async def waiter() -> None:
                eio.traceln("1: wait for condition")
                await condition.await_no_mutex()
                eio.traceln("1: finished")

            async def broadcaster() -> None:
                eio.traceln("2: broadcast condition")
                condition.broadcast()
                eio.traceln("2: finished")

            await eio.fiber.both(waiter, broadcaster)

    run(main)
    assert trace.lines() == [
        "1: wait for condition",
        "2: broadcast condition",
        "2: finished",
        "1: finished",
    ]


def test_broadcast_with_no_waiters_does_not_block(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run():
            condition = eio.Condition()
            eio.traceln("broadcast condition")
            condition.broadcast()
            eio.traceln("finished")

    run(main)
    assert trace.lines() == ["broadcast condition", "finished"]


def test_broadcast_wakes_all_waiters_at_once(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run():
            condition = eio.Condition()

            def waiter(n: int) -> Callable[[], Awaitable[None]]:
                async def f() -> None:
                    eio.traceln(f"{n}: wait for condition")
                    await condition.await_no_mutex()
                    eio.traceln(f"{n}: finished")

                return f

            async def broadcaster() -> None:
                eio.traceln("3: broadcast condition")
                condition.broadcast()
                eio.traceln("3: finished")

            await eio.fiber.all([waiter(1), waiter(2), broadcaster])

    run(main)
    assert trace.lines() == [
        "1: wait for condition",
        "2: wait for condition",
        "3: broadcast condition",
        "3: finished",
        "1: finished",
        "2: finished",
    ]


# -- typical single-domain use --


class NoMutex:
    """Eio's ``x``, ``cond``, ``set`` and ``await`` of "Typical single-domain use"."""

    def __init__(self) -> None:
        self.x = 0
        self.cond = eio.Condition()

    def set(self, value: int) -> None:
        self.x = value
        self.cond.broadcast()

    async def await_(self, p: Callable[[int], bool]) -> None:
        # Only safe within a single domain, and if p doesn't switch fibers.
        while not p(self.x):
            await self.cond.await_no_mutex()


async def set_5_then_7_then_42(s: NoMutex | WithMutex) -> None:
    await _set(s, 5)
    await eio.fiber.yield_()
    await _set(s, 7)
    await _set(s, 42)


async def _set(s: NoMutex | WithMutex, value: int) -> None:
    if isinstance(s, NoMutex):
        s.set(value)
    else:
        await s.set(value)


async def wait_until(s: NoMutex | WithMutex, target: int) -> None:
    eio.traceln(f"x = {s.x}")
    await s.await_(lambda x: x == target)
    eio.traceln(f"x = {s.x}")


async def cancel_while_waiting(s: NoMutex | WithMutex) -> None:
    async def wait_for_0() -> None:
        await s.await_(lambda x: x == 0)
        raise AssertionError("not reached")

    await eio.fiber.first(wait_for_0, nothing)

    async def set_5_then_0() -> None:
        await _set(s, 5)
        await eio.fiber.yield_()
        await _set(s, 0)

    await eio.fiber.both(lambda: wait_until(s, 0), set_5_then_0)


def test_single_domain_use_then_cancellation_while_waiting(run: Runner, trace: Trace) -> None:
    s = NoMutex()

    async def main() -> None:
        await eio.fiber.both(lambda: wait_until(s, 42), lambda: set_5_then_7_then_42(s))

    run(main)
    assert trace.lines() == ["x = 0", "x = 42"]

    async def main2() -> None:
        await cancel_while_waiting(s)

    run(main2)
    assert trace.lines() == ["x = 42", "x = 0"]


# -- use with mutex --


class WithMutex:
    """Eio's ``x``, ``cond``, ``mutex``, ``set`` and ``await`` of "Use with mutex"."""

    def __init__(self) -> None:
        self.x = 0
        self.cond = eio.Condition()
        self.mutex = eio.Mutex()

    async def set(self, value: int) -> None:
        async with self.mutex.use_rw(protect=False):
            self.x = value
        self.cond.broadcast()

    async def await_(self, p: Callable[[int], bool]) -> None:
        async with self.mutex.use_ro():
            while not p(self.x):
                await self.cond.await_(self.mutex)


def test_use_with_mutex_then_cancellation_while_waiting(run: Runner, trace: Trace) -> None:
    s = WithMutex()

    async def main() -> None:
        await eio.fiber.both(lambda: wait_until(s, 42), lambda: set_5_then_7_then_42(s))

    run(main)
    assert trace.lines() == ["x = 0", "x = 42"]

    async def main2() -> None:
        await cancel_while_waiting(s)

    run(main2)
    assert trace.lines() == ["x = 42", "x = 0"]

    async def main3() -> None:
        # Cancelling while the mutex is held: await_ always re-acquires the
        # lock, and that lock operation can't be cancelled.
        async with eio.Switch.run() as sw:

            async def forked() -> None:
                eio.traceln("Forked fiber locking")
                await s.mutex.lock()
                try:
                    await s.cond.await_(s.mutex)
                    raise AssertionError("not reached")
                except eio.Cancelled:
                    eio.traceln("Forked fiber unlocking")
                    s.mutex.unlock()
                    raise

            eio.fiber.fork(sw, forked)
            with eio.cancel.protect():
                eio.traceln("Main fiber locking")
                await s.mutex.lock()
                sw.fail(Failure("Simulated error"))
                await eio.fiber.yield_()
                eio.traceln("Main fiber unlocking")
                s.mutex.unlock()

    ex = raises(run, main3)
    assert trace.lines() == [
        "Forked fiber locking",
        "Main fiber locking",
        "Main fiber unlocking",
        "Forked fiber unlocking",
    ]
    assert type(ex) is Failure and str(ex) == "Simulated error"


# -- looping --


def test_looping(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        cond = eio.Condition()
        x = 0

        def set_x(v: int) -> None:
            nonlocal x
            eio.traceln(f"setting x={v}")
            x = v
            cond.broadcast()

        async def update() -> None | bool:
            eio.traceln("Checking x...")
            await eio.fiber.yield_()
            seen = x
            eio.traceln(f"Saw x = {seen}")
            if seen == 3:
                eio.traceln("Finished")
                return True
            return None

        async def setter() -> None:
            for v in (1, 2, 3, 4):
                set_x(v)
                await eio.fiber.yield_()

        async def looper() -> None:
            assert await cond.loop_no_mutex(update) is True

        await eio.fiber.both(looper, setter)

    run(main)
    assert trace.lines() == [
        "Checking x...",
        "setting x=1",
        "Saw x = 1",
        "setting x=2",
        "Checking x...",
        "setting x=3",
        "Saw x = 3",
        "Finished",
        "setting x=4",
    ]


async def checking() -> None:
    eio.traceln("Checking")
    return None


def test_loop_cancelling(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        cond = eio.Condition()

        async def fail() -> None:
            raise Failure("Simulated error")

        await eio.fiber.both(lambda: cond.loop_no_mutex(checking), fail)

    ex = raises(run, main)
    assert trace.lines() == ["Checking"]
    assert type(ex) is Failure and str(ex) == "Simulated error"


def test_loop_cancelling_after_succeeding(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        cond = eio.Condition()

        async def broadcast_then_fail() -> None:
            eio.traceln("Broadcasting")
            cond.broadcast()
            raise Failure("Simulated error")

        await eio.fiber.both(lambda: cond.loop_no_mutex(checking), broadcast_then_fail)

    ex = raises(run, main)
    assert trace.lines() == ["Checking", "Broadcasting", "Checking"]
    assert type(ex) is Failure and str(ex) == "Simulated error"


def test_loop_user_function_raises(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        cond = eio.Condition()

        async def update() -> None:
            await eio.fiber.yield_()
            raise Failure("Simulated failure")

        try:
            await cond.loop_no_mutex(update)
        finally:
            eio.traceln(repr(cond))  # the registration was withdrawn

    ex = raises(run, main)
    assert type(ex) is Failure and str(ex) == "Simulated failure"
    assert trace.lines() == ["<Condition, 0 waiting>"]


# -- beyond Eio's file --


def test_loop_returns_value_and_withdraws_registration(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        cond = eio.Condition()
        calls = 0

        async def update() -> str | None:
            nonlocal calls
            calls += 1
            return "done" if calls == 2 else None

        async def kick() -> None:
            eio.traceln(f"kick {cond!r}")
            cond.broadcast()

        result, _ = await eio.fiber.pair(lambda: cond.loop_no_mutex(update), kick)
        eio.traceln(f"result {result} after {calls} calls; {cond!r}")

    run(main)
    assert trace.lines() == ["kick <Condition, 1 waiting>", "result done after 2 calls; <Condition, 0 waiting>"]


def test_cancelled_waiter_is_removed_and_others_still_woken(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        cond = eio.Condition()
        contexts: list[eio.cancel.CancelContext] = []
        async with eio.Switch.run() as sw:

            async def waiter(name: str) -> None:
                with eio.cancel.sub() as cc:
                    contexts.append(cc)
                    try:
                        await cond.await_no_mutex()
                        eio.traceln(f"{name} woken")
                    except eio.Cancelled:
                        eio.traceln(f"{name} cancelled")

            for name in ("a", "b", "c"):
                eio.fiber.fork(sw, waiter, name)
            contexts[1].cancel(Failure("stop b"))
            eio.traceln(repr(cond))
            cond.broadcast()
            eio.traceln(repr(cond))

    run(main)
    assert trace.lines() == [
        "<Condition, 2 waiting>",
        "<Condition, 0 waiting>",
        "b cancelled",
        "a woken",
        "c woken",
    ]


def test_await_in_cancelled_context_unlocks_then_relocks(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        cond = eio.Condition()
        m = eio.Mutex()
        with eio.cancel.sub() as cc:
            await m.lock()
            cc.cancel(Failure("stop"))
            with pytest.raises(eio.Cancelled):
                await cond.await_(m)
            eio.traceln(f"{m!r} {cond!r}")
            m.unlock()

    run(main)
    assert trace.lines() == ["<Mutex locked> <Condition, 0 waiting>"]


def test_await_with_unlocked_mutex_is_an_error(run: Runner) -> None:
    async def main() -> None:
        cond = eio.Condition()
        m = eio.Mutex()
        with pytest.raises(RuntimeError, match="^eio.Mutex.unlock: already unlocked!$"):
            await cond.await_(m)
        assert repr(cond) == "<Condition, 0 waiting>"

    run(main)


def test_loop_no_mutex_needs_an_async_update(run: Runner) -> None:
    async def main() -> None:
        cond = eio.Condition()

        def sync_update() -> int:
            return 1

        with pytest.raises(TypeError, match="^eio.Condition.loop_no_mutex expects an async function, but "):
            await cond.loop_no_mutex(sync_update)  # pyright: ignore[reportArgumentType] - the misuse under test
        assert repr(cond) == "<Condition, 0 waiting>"

    run(main)
