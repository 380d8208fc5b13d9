"""`eio.fiber.fork_seq`: a producer fiber consumed as an async iterator (Eio's ``Fiber.fork_seq``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

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


# -- Eio's tests/fiber.md, "fork_seq", case by case ------------------------------------------
#
# Eio's sequence is a function that runs the producer when called; here it is an
# async iterator (``await anext(seq)`` is Eio's ``seq ()``). Eio's
# ``Invalid_argument`` is a `RuntimeError`; its ``Failure "x"`` is `Failure`.


class Failure(Exception):
    """Eio's ``Failure``."""


class Exit(Exception):
    """Eio's ``Stdlib.Exit``."""


def test_eio_the_simple_case_where_everything_works(run: Runner, trace: Trace) -> None:
    async def generator(put: Put) -> None:
        eio.traceln("Generator fiber starting")
        for i in (1, 2, 3):
            eio.traceln(f"Yielding {i}")
            await put(i)

    async def main() -> list[int]:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, generator)
            eio.traceln("Requesting 1st item")
            x = await anext(seq)
            eio.traceln(f"hd = {x}")
            eio.traceln("Requesting remaining items")
            return [y async for y in seq]

    assert run(main) == [2, 3]
    assert trace.lines() == [
        "Requesting 1st item",
        "Generator fiber starting",
        "Yielding 1",
        "hd = 1",
        "Requesting remaining items",
        "Yielding 2",
        "Yielding 3",
    ]


def test_eio_the_generator_raises(run: Runner, trace: Trace) -> None:
    async def generator(put: Put) -> None:
        eio.traceln("Generator fiber starting")
        raise Failure("Simulated error")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, generator)
            with eio.cancel.protect():  # (ensure we get the exception from the sequence)
                eio.traceln("Requesting an item")
                try:
                    await anext(seq)
                    raise AssertionError("not reached")
                except Failure as ex:
                    eio.traceln(f"Consumer got exception: Failure({str(ex)!r})")

    run(main)
    assert trace.lines() == [
        "Requesting an item",
        "Generator fiber starting",
        "Consumer got exception: Failure('Simulated error')",
    ]


def test_eio_the_sequence_is_used_after_the_switch_is_finished(run: Runner, trace: Trace) -> None:
    async def generator(put: Put) -> None:
        raise AssertionError("not reached")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, generator)
        eio.traceln("Requesting an item")
        await anext(seq)

    with pytest.raises(RuntimeError, match=r"^eio\.fiber\.fork_seq: the producer was cancelled \(DaemonsOnly\(") as info:
        run(main)
    assert isinstance(info.value.__cause__, eio.Cancelled)
    assert trace.lines() == ["Requesting an item"]


def test_eio_the_sequence_is_used_after_the_switch_is_finished_and_the_generator_has_started(
    run: Runner, trace: Trace
) -> None:
    async def generator(put: Put) -> None:
        try:
            await put(1)
        except eio.Cancelled as ex:
            eio.traceln(f"Generator caught: Cancelled: {type(ex.reason).__name__}")
            raise

    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, generator)
            eio.traceln("Requesting an item")
            eio.traceln(f"Got {await anext(seq)}")
        eio.traceln("Switch finished. Requesting another item...")
        await anext(seq)

    with pytest.raises(RuntimeError, match=r"^eio\.fiber\.fork_seq: the producer was cancelled"):
        run(main)
    # Eio's switch cancels its daemons with ``Exit``; this one says why.
    assert trace.lines() == [
        "Requesting an item",
        "Got 1",
        "Generator caught: Cancelled: DaemonsOnly",
        "Switch finished. Requesting another item...",
    ]


def test_eio_using_a_sequence_after_it_has_finished_normally(run: Runner, trace: Trace) -> None:
    async def generator(put: Put) -> None:
        await put(1)
        eio.traceln("Generator done")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, generator)
            eio.traceln(f"Got {await anext(seq, None)}")
            eio.traceln(f"Got {await anext(seq, None)}")
            # Eio raises "Coroutine has already finished!" here; a Python async
            # iterator that has ended keeps saying so.
            with pytest.raises(StopAsyncIteration):
                await anext(seq)

    run(main)
    assert trace.lines() == ["Got 1", "Generator done", "Got None"]


def test_eio_trying_to_resume_twice(run: Runner) -> None:
    async def generator(put: Put) -> None:
        await eio.fiber.await_cancel()

    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, generator)
            await eio.fiber.both(lambda: anext(seq), lambda: anext(seq))

    with pytest.raises(RuntimeError, match="the next item was requested while another request is pending"):
        run(main)


def test_eio_the_generator_yields_twice_for_a_single_request(run: Runner) -> None:
    async def generator(put: Put) -> None:
        await eio.fiber.both(lambda: put(1), lambda: put(2))

    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, generator)
            await anext(seq)

    with pytest.raises(RuntimeError, match="put called outside the producer's turn"):
        run(main)


def test_eio_yielding_from_a_different_fiber(run: Runner) -> None:
    # As in Eio, the end of the sequence is still sent when the original fiber returns.
    async def main() -> list[str]:
        async with eio.Switch.run() as sw:

            async def generator(put: Callable[[str], Awaitable[None]]) -> None:
                async def second() -> None:
                    await eio.fiber.yield_()
                    await put("Second fiber")

                await eio.fiber.fork_promise(sw, second)
                await put("Original fiber")

            seq = eio.fiber.fork_seq(sw, generator)
            return [x async for x in seq]

    assert run(main) == ["Second fiber", "Original fiber"]


def test_eio_the_consumer_cancels(run: Runner, trace: Trace) -> None:
    async def generator(put: Put) -> None:
        eio.traceln("Working...")
        try:
            await eio.fiber.yield_()
            await put(1)
        except eio.Cancelled as ex:
            eio.traceln(f"Generator caught: Cancelled: {type(ex.reason).__name__}")
            raise

    async def main() -> object:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, generator)

            async def nil() -> None:
                return None

            return await eio.fiber.first(lambda: anext(seq), nil)

    assert run(main) is None
    # Eio cancels the producer at once (with `first`'s reason), so it is caught
    # in ``yield``; here the producer learns it at its next ``put``.
    assert trace.lines() == ["Working...", "Generator caught: Cancelled: SeqAbandoned"]


def test_eio_the_generator_is_cancelled_while_queued_to_be_resumed(run: Runner, trace: Trace) -> None:
    # It runs, but cancels at the next opportunity.
    async def generator(put: Put) -> None:
        eio.traceln("Working...")
        try:
            eio.fiber.check()
        except eio.Cancelled as ex:
            eio.traceln(f"Generator caught: Cancelled: {type(ex.reason).__name__}")
            raise

    async def main() -> None:
        async with eio.Switch.run() as sw:
            seq = eio.fiber.fork_seq(sw, generator)
            eio.traceln("Enqueue resume")

            async def consumer() -> None:
                await anext(seq)
                raise AssertionError("not reached")

            async def canceller() -> None:
                eio.traceln("Cancel generator")
                sw.fail(Exit())

            await eio.fiber.both(consumer, canceller)

    with pytest.raises(Exit):
        run(main)
    assert trace.lines() == ["Enqueue resume", "Cancel generator", "Working...", "Generator caught: Cancelled: Exit"]


def test_a_request_pending_when_the_producers_switch_fails_gets_an_error(run: Runner, trace: Trace) -> None:
    # The consumer is not in the producer's switch, so nothing cancels its
    # request: it must be told the producer is gone rather than wait for ever.
    async def main() -> None:
        seq_p, seq_r = eio.Promise[AsyncIterator[int]].create()
        started_p, started_r = eio.Promise[None].create()

        async def generator(put: Put) -> None:
            eio.traceln("producer running")
            started_r.resolve(None)
            try:
                await eio.fiber.await_cancel()
            except eio.Cancelled:
                eio.traceln("producer cancelled")
                raise

        async def owner() -> None:
            try:
                async with eio.Switch.run() as psw:
                    seq_r.resolve(eio.fiber.fork_seq(psw, generator))
                    await started_p
                    psw.fail(Exit())
            except Exit:
                eio.traceln("producer's switch failed")

        async def consumer() -> None:
            seq = await seq_p
            try:
                await anext(seq)
            except RuntimeError as ex:
                eio.traceln(f"consumer got: {ex}")
            with pytest.raises(StopAsyncIteration):
                await anext(seq)

        await eio.fiber.both(owner, consumer)

    run(main)
    assert trace.lines() == [
        "producer running",
        "producer cancelled",
        "consumer got: eio.fiber.fork_seq: the producer was cancelled (Exit())",
        "producer's switch failed",
    ]
