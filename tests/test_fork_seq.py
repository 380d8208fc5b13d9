"""`eio.fiber.fork_seq`: a producer fiber consumed as an async iterator (Eio's ``Fiber.fork_seq``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import eio
import pytest
from conftest import Runner, Trace

Put = Callable[[int], Awaitable[None]]


async def one_two_three(put: Put) -> None:
    for i in (1, 2, 3):
        eio.traceln(f"Yielding {i}")
        await put(i)


def test_items_are_produced_one_request_at_a_time(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, one_two_three)
            eio.traceln("Created")
            async for x in seq:
                eio.traceln(f"Got: {x}")
            eio.traceln("Done")

    run(main)
    assert trace.lines() == [
        "Created",
        "Yielding 1",
        "Got: 1",
        "Yielding 2",
        "Got: 2",
        "Yielding 3",
        "Got: 3",
        "Done",
    ]


def test_the_end_is_repeated_and_an_empty_producer_gives_nothing(run: Runner) -> None:
    async def nothing(put: Put) -> None:
        return None

    async def main() -> list[object]:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, nothing)
            got = [x async for x in seq]
            with pytest.raises(StopAsyncIteration):
                await anext(seq)
            return [got]

    assert run(main) == [[]]


def test_a_producer_error_goes_to_the_consumer_not_the_switch(run: Runner, trace: Trace) -> None:
    async def failing(put: Put) -> None:
        await put(1)
        raise ValueError("producer broke")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, failing)
            eio.traceln(f"Got: {await anext(seq)}")
            with pytest.raises(ValueError, match="producer broke"):
                await anext(seq)
            with pytest.raises(StopAsyncIteration):
                await anext(seq)
            eio.traceln("switch still fine")

    run(main)
    assert trace.lines() == ["Got: 1", "switch still fine"]


def test_a_consumer_that_stops_early_leaves_the_producer_to_be_cancelled_with_the_switch(run: Runner, trace: Trace) -> None:
    async def forever(put: Put) -> None:
        i = 0
        try:
            while True:
                i += 1
                await put(i)
        finally:
            eio.traceln(f"producer stopped after {i}")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            async for x in eio.fiber.fork_seq(sw, forever):
                eio.traceln(f"Got: {x}")
                if x == 2:
                    break
            eio.traceln("leaving the switch")
        eio.traceln("switch finished")

    run(main)
    assert trace.lines() == ["Got: 1", "Got: 2", "leaving the switch", "producer stopped after 2", "switch finished"]


def test_a_cancelled_request_loses_no_item_and_cancels_the_producer_at_its_next_put(run: Runner, trace: Trace) -> None:
    async def slow(put: Put) -> None:
        clock_wait, release = eio.Promise[None].create()
        holder.append(release)
        eio.traceln("producing 1 slowly")
        await clock_wait
        eio.traceln("about to put 1")
        try:
            await put(1)
        except eio.Cancelled as ex:
            eio.traceln(f"put cancelled: {type(ex.reason).__name__}")
            raise

    holder: list[eio.Resolver[None]] = []

    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, slow)

            async def consumer() -> None:
                await anext(seq)

            async def canceller() -> None:
                eio.traceln("cancelling the request")

            result = await eio.fiber.first(consumer, canceller)
            assert result is None
            holder[0].resolve(None)
            await eio.fiber.yield_()
            await eio.fiber.yield_()
            with pytest.raises(RuntimeError, match="abandoned"):
                await anext(seq)

    run(main)
    # The request wakes the producer; `first` runs the canceller before the
    # producer's turn comes, so the producer starts after the request ended.
    assert trace.lines() == [
        "cancelling the request",
        "producing 1 slowly",
        "about to put 1",
        "put cancelled: SeqAbandoned",
    ]


def test_an_item_handed_over_as_the_request_is_cancelled_is_delivered(run: Runner, trace: Trace) -> None:
    # The producer puts in the same turn as the timeout fires: the item wins.
    async def main() -> None:
        async with eio.Switch.run() as sw:
            gate, open_gate = eio.Promise[None].create()

            async def producer(put: Put) -> None:
                await gate
                await put(42)

            seq = eio.fiber.fork_seq(sw, producer)

            async def consumer() -> int:
                x = await anext(seq)
                eio.traceln(f"consumer got {x}")
                return x

            async def opener_and_canceller() -> int:
                open_gate.resolve(None)  # the producer runs next and puts
                await eio.fiber.yield_()
                return -1  # `first` now cancels the consumer, already woken with the item

            got = await eio.fiber.first(consumer, opener_and_canceller, combine=max)
            eio.traceln(f"first: {got}")

    run(main)
    assert trace.lines() == ["consumer got 42", "first: 42"]


def test_two_requests_at_once_are_an_error(run: Runner) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, one_two_three)

            async def second() -> None:
                with pytest.raises(RuntimeError, match="another request is pending"):
                    await anext(seq)

            async def first() -> None:
                assert await anext(seq) == 1

            await eio.fiber.both(first, second)

    run(main)
