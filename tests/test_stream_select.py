"""`eio.Stream.select`: one item from whichever stream has one first, nothing lost from the others.

Exact traces on every backend, then a stress test with producer and consumer
threads (domains) that counts every item.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import eio
import pytest
from conftest import Runner, Trace
from eio import fiber
from eio.lowlevel import ThreadDomainManager


def domains(backend_name: str) -> ThreadDomainManager:
    """A domain manager whose domains are OS threads running the backend's own loop."""
    if backend_name == "mock":
        import eio_mock

        return eio_mock.domain_manager.threads()
    from eio_backend_uring._run import new_loop

    return ThreadDomainManager(lambda: new_loop()[0])


def tagged(tag: str) -> Callable[[int], str]:
    def f(x: int) -> str:
        return f"{tag}:{x}"

    return f


async def select2(a: eio.Stream[int], b: eio.Stream[int]) -> None:
    eio.traceln("selecting")
    got = await eio.Stream.select([(a, tagged("a")), (b, tagged("b"))])
    eio.traceln(f"selected {got}")


def test_an_available_item_is_taken_at_once_in_list_order(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        a = eio.Stream[int](2)
        b = eio.Stream[int](2)
        await b.add(1)
        await a.add(2)

        async def other() -> None:
            await fiber.yield_()  # queued: it runs before the end only if a select suspends
            eio.traceln("other fiber")

        async with eio.Switch.run() as sw:
            fiber.fork(sw, other)
            await select2(a, b)
            await select2(a, b)
            eio.traceln(f"a={len(a)} b={len(b)}")

    run(main)
    assert trace.lines() == ["selecting", "selected a:2", "selecting", "selected b:1", "a=0 b=0", "other fiber"]


def test_waits_on_all_and_the_others_keep_their_items(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        a = eio.Stream[int](1)
        b = eio.Stream[int](1)
        async with eio.Switch.run() as sw:
            fiber.fork(sw, select2, a, b)
            eio.traceln("adding to b")
            await b.add(10)
            eio.traceln("adding to a")
            await a.add(20)  # the select was served by b: this stays in a
            await fiber.yield_()
            eio.traceln(f"a={len(a)} b={len(b)}")
            eio.traceln(f"take a: {await a.take()}")

    run(main)
    assert trace.lines() == [
        "selecting",
        "adding to b",
        "adding to a",
        "selected b:10",
        "a=1 b=0",
        "take a: 20",
    ]


def test_a_claimed_selector_is_skipped_and_the_next_reader_served(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        a = eio.Stream[int](0)
        b = eio.Stream[int](0)

        async def taker() -> None:
            eio.traceln("taker waits on b")
            eio.traceln(f"taker got {await b.take()}")

        async with eio.Switch.run() as sw:
            fiber.fork(sw, select2, a, b)  # a reader of a and of b
            fiber.fork(sw, taker)  # behind the select on b
            fiber.fork(sw, a.add, 1)  # claims the select
            eio.traceln("adding 2 to b")
            await b.add(2)  # must skip the claimed select: the taker gets it
            eio.traceln("added 2 to b")

    run(main)
    assert trace.lines() == [
        "selecting",
        "taker waits on b",
        "adding 2 to b",
        "added 2 to b",
        "selected a:1",
        "taker got 2",
    ]


def test_capacity_zero_rendezvous(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        a = eio.Stream[int](0)
        b = eio.Stream[int](0)

        async def add(s: eio.Stream[int], name: str, x: int) -> None:
            eio.traceln(f"{name} adding {x}")
            await s.add(x)
            eio.traceln(f"{name} added {x}")

        async with eio.Switch.run() as sw:
            fiber.fork(sw, add, b, "b", 1)  # a waiting writer
            await select2(a, b)  # takes it without suspending
            fiber.fork(sw, select2, a, b)
            await add(a, "a", 2)  # hands it to the waiting select
            # The select took one item: this writer must wait for a real taker.
            fiber.fork(sw, add, b, "b", 3)
            await fiber.yield_()
            eio.traceln(f"take b: {await b.take()}")

    run(main)
    assert trace.lines() == [
        "b adding 1",
        "selecting",
        "selected b:1",
        "selecting",
        "a adding 2",
        "a added 2",
        "b adding 3",  # the select's entry on b is claimed (by a): b's writer waits
        "b added 1",
        "selected a:2",
        "take b: 3",
        "b added 3",
    ]


def test_a_cancelled_select_took_nothing(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        a = eio.Stream[int](0)
        b = eio.Stream[int](1)
        async with eio.Switch.run() as sw:
            contexts: list[eio.cancel.CancelContext] = []

            async def cancellable() -> None:
                with eio.cancel.sub() as cc:
                    contexts.append(cc)
                    try:
                        await select2(a, b)
                    except eio.Cancelled:
                        eio.traceln("select cancelled")

            fiber.fork(sw, cancellable)
            contexts[0].cancel(TimeoutError("enough"))
            await b.add(5)  # no select is waiting any more: the item stays
            eio.traceln(f"b={len(b)}")
            eio.traceln(f"a writer without a taker: {a.take_nonblocking()}")

    run(main)
    assert trace.lines() == ["selecting", "b=1", "a writer without a taker: None", "select cancelled"]


def test_a_select_granted_then_cancelled_keeps_its_item(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        a = eio.Stream[int](1)
        b = eio.Stream[int](1)
        async with eio.Switch.run() as sw:
            contexts: list[eio.cancel.CancelContext] = []

            async def cancellable() -> None:
                with eio.cancel.sub() as cc:
                    contexts.append(cc)
                    await select2(a, b)
                    eio.traceln(f"cancelled after the select: {eio.fiber.is_cancelled()}")

            fiber.fork(sw, cancellable)
            await a.add(7)  # hands the item to the select, which has not run yet
            contexts[0].cancel(TimeoutError("too late"))

    run(main)
    assert trace.lines() == ["selecting", "selected a:7", "cancelled after the select: True"]


def test_closed_streams(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        a = eio.Stream[int](1)
        b = eio.Stream[int](1)
        await b.add(1)
        b.close()
        await select2(a, b)  # b's remaining item is still taken
        with pytest.raises(eio.Stream.Closed):
            await select2(a, b)
        c = eio.Stream[int](1)
        async with eio.Switch.run() as sw:

            async def waiting() -> None:
                try:
                    await select2(a, c)
                except eio.Stream.Closed:
                    eio.traceln("closed while waiting")

            fiber.fork(sw, waiting)
            c.close()
        await a.add(3)  # the closed-out select left a's queue
        eio.traceln(f"a={len(a)}")

    run(main)
    assert trace.lines() == ["selecting", "selected b:1", "selecting", "selecting", "closed while waiting", "a=1"]


def test_bad_arguments(run: Runner) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="cases is empty"):
            await eio.Stream.select([])
        s = eio.Stream[int](1)
        with pytest.raises(TypeError, match=r"cases\[1\] must be a \(stream, fn\) pair"):
            await eio.Stream.select([(s, str), (s,)])  # type: ignore[list-item]  # the error under test
        await s.add(1)
        assert await eio.Stream.select([(s, str)]) == "1"

    run(main)


def test_stress_two_producer_threads_and_two_selecting_consumers(run: Runner, backend_name: str) -> None:
    """20k items from two producer threads, taken by two selecting consumers (one in another thread): none lost, none twice."""
    dm = domains(backend_name)
    per_producer = 10000
    stop = -1
    s1 = eio.Stream[int](0)
    s2 = eio.Stream[int](3)

    async def produce(s: eio.Stream[int], base: int) -> None:
        for i in range(per_producer):
            await s.add(base + i)
        for _ in range(2):
            await s.add(stop)

    async def consume() -> list[int]:
        got: list[int] = []
        stops = 0
        while stops < 2:
            x = await eio.Stream.select([(s1, lambda v: v), (s2, lambda v: v)])
            if x == stop:
                stops += 1
            else:
                got.append(x)
        return got

    async def main() -> tuple[list[int], list[int]]:
        results: list[list[int]] = []

        async def consumer_here() -> None:
            results.append(await consume())

        async def consumer_there() -> None:
            results.append(await dm.run(consume))

        await fiber.all(
            [
                lambda: dm.run(lambda: produce(s1, 0)),
                lambda: dm.run(lambda: produce(s2, 1_000_000)),
                consumer_here,
                consumer_there,
            ]
        )
        return results[0], results[1]

    first, second = run(main)
    counts = collections.Counter(first + second)
    expected = list(range(per_producer)) + list(range(1_000_000, 1_000_000 + per_producer))
    assert sorted(counts) == expected
    assert max(counts.values()) == 1
    # Each stream's items reach each consumer in order.
    for got in (first, second):
        for lo in (0, 1_000_000):
            mine = [x for x in got if lo <= x < lo + per_producer]
            assert mine == sorted(mine)
    assert len(s1) == len(s2) == 0
