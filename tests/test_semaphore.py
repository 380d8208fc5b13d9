"""Conformance: `eio.Semaphore` (Eio's tests/semaphore.md and lib_eio/tests/semaphore.md), plus misuse.

Each test reproduces one case of Eio's files with the same trace, in the
same order. lib_eio/tests/semaphore.md drives the lock-free state directly;
here the same steps are taken by fibers, and the observable state is the
value and which waiter runs.
"""

from __future__ import annotations

import eio
import pytest
from conftest import Runner, Trace


async def acquire(t: eio.Semaphore) -> None:
    eio.traceln("Acquiring")
    await t.acquire()
    eio.traceln("Acquired")


def release(t: eio.Semaphore) -> None:
    eio.traceln("Releasing")
    t.release()
    eio.traceln("Released")


def test_simple_case(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Semaphore(1)
        await acquire(t)
        release(t)
        await acquire(t)
        release(t)

    run(main)
    assert trace.lines() == ["Acquiring", "Acquired", "Releasing", "Released"] * 2


def test_concurrent_access(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Semaphore(2)

        async def fn() -> None:
            await acquire(t)
            await eio.fiber.yield_()
            release(t)

        await eio.fiber.all([fn] * 4)

    run(main)
    assert trace.lines() == [
        "Acquiring",
        "Acquired",
        "Acquiring",
        "Acquired",
        "Acquiring",
        "Acquiring",
        "Releasing",
        "Released",
        "Releasing",
        "Released",
        "Acquired",
        "Acquired",
        "Releasing",
        "Released",
        "Releasing",
        "Released",
    ]


def test_cancellation(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Semaphore(0)

        async def nothing() -> None:
            pass

        await eio.fiber.first(lambda: acquire(t), nothing)
        release(t)
        await acquire(t)

    run(main)
    assert trace.lines() == ["Acquiring", "Releasing", "Released", "Acquiring", "Acquired"]


# -- lib_eio/tests/semaphore.md, through fibers --


def test_waiters_are_resumed_in_order(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Semaphore(1)

        async def user(label: str) -> None:
            await t.acquire()
            eio.traceln(f"{label}: Acquired")

        async with eio.Switch.run() as sw:
            await user("a")
            eio.traceln(f"state={t.get_value()}")
            eio.fiber.fork(sw, user, "b")
            eio.fiber.fork(sw, user, "c")
            eio.traceln(f"state={t.get_value()} {t!r}")
            t.release()
            await eio.fiber.yield_()
            eio.traceln(f"state={t.get_value()}")
            t.release()
            await eio.fiber.yield_()
            t.release()
            eio.traceln(f"state={t.get_value()}")

    run(main)
    assert trace.lines() == [
        "a: Acquired",
        "state=0",
        "state=0 <Semaphore value=0, 2 waiting>",
        "b: Acquired",
        "state=0",
        "c: Acquired",
        "state=1",
    ]


def test_cancelling_a_waiter(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Semaphore(1)
        contexts: list[eio.cancel.CancelContext] = []

        async def user(label: str) -> None:
            with eio.cancel.sub() as cc:
                contexts.append(cc)
                try:
                    await t.acquire()
                except eio.Cancelled:
                    eio.traceln(f"{label}: cancelled")
                    return
                eio.traceln(f"{label}: Acquired")

        async with eio.Switch.run() as sw:
            await user("a")
            eio.fiber.fork(sw, user, "b")
            eio.fiber.fork(sw, user, "c")
            contexts[1].cancel(Exception("cancel b"))
            eio.traceln(repr(t))
            t.release()  # "a" releases: "c" is resumed
            eio.traceln(f"state={t.get_value()}")
        t.release()  # "c" finishes: back to 1
        eio.traceln(f"state={t.get_value()}")

    run(main)
    assert trace.lines() == [
        "a: Acquired",
        "<Semaphore value=0, 1 waiting>",
        "state=0",
        "b: cancelled",
        "c: Acquired",
        "state=1",
    ]


# -- beyond Eio's files --


def test_async_with(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Semaphore(1)

        async def fn(name: str) -> None:
            async with t:
                eio.traceln(f"{name} in")
                await eio.fiber.yield_()
                eio.traceln(f"{name} out")

        await eio.fiber.both(lambda: fn("a"), lambda: fn("b"))
        eio.traceln(f"value {t.get_value()}")

    run(main)
    assert trace.lines() == ["a in", "a out", "b in", "b out", "value 1"]


def test_release_without_waiters_increments_beyond_initial(run: Runner) -> None:
    async def main() -> None:
        t = eio.Semaphore(0)
        t.release()
        t.release()
        assert t.get_value() == 2
        await t.acquire()
        await t.acquire()
        assert t.get_value() == 0

    run(main)


def test_acquire_free_unit_does_not_check_cancellation(run: Runner) -> None:
    async def main() -> None:
        t = eio.Semaphore(1)
        with eio.cancel.sub() as cc:
            cc.cancel(Exception("stop"))
            await t.acquire()  # a free unit: no suspension
            with pytest.raises(eio.Cancelled):
                await t.acquire()  # must wait, so cancellation is checked first
        assert t.get_value() == 0
        t.release()
        assert t.get_value() == 1

    run(main)


def test_negative_initial_value_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^a semaphore's initial value can't be negative \(got -1\)$"):
        eio.Semaphore(-1)
