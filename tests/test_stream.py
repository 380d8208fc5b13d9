"""Conformance: `eio.Stream` (Eio's tests/stream.md), plus closing and misuse.

Each test reproduces one case of Eio's file with the same trace, in the same
order. Eio's ``exception Cancel`` is the local `Cancel`.
"""

from __future__ import annotations

import eio
import pytest
from conftest import Runner, Trace


class Cancel(Exception):
    """Eio's test exception ``Cancel``."""


async def add(t: eio.Stream[int], v: int) -> None:
    eio.traceln(f"Adding {v} to stream")
    await t.add(v)
    eio.traceln(f"Added {v} to stream")


async def take(t: eio.Stream[int]) -> None:
    eio.traceln("Reading from stream")
    eio.traceln(f"Got {await t.take()} from stream")


def take_nonblocking(t: eio.Stream[int]) -> None:
    eio.traceln("Reading from stream")
    eio.traceln(f"Got {t.take_nonblocking()} from stream")


async def raise_cancel() -> None:
    raise Cancel()


def test_simple_non_blocking(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](2)
        await add(t, 1)
        await add(t, 2)
        await take(t)
        await take(t)

    run(main)
    assert trace.lines() == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Got 2 from stream",
    ]


def test_readers_wait_when_empty(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](2)
        await add(t, 1)

        async def reader() -> None:
            await take(t)
            await take(t)

        await eio.fiber.both(reader, lambda: add(t, 2))

    run(main)
    assert trace.lines() == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Got 2 from stream",
    ]


def test_writers_wait_when_full(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](3)
        await add(t, 1)

        async def writer() -> None:
            await add(t, 2)
            await add(t, 3)
            await add(t, 4)

        async def reader() -> None:
            for _ in range(4):
                await take(t)

        await eio.fiber.both(writer, reader)

    run(main)
    assert trace.lines() == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Adding 3 to stream",
        "Added 3 to stream",
        "Adding 4 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Got 2 from stream",
        "Reading from stream",
        "Got 3 from stream",
        "Reading from stream",
        "Got 4 from stream",
        "Added 4 to stream",
    ]


def test_zero_length_queue_is_synchronous(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](0)

        async def writer() -> None:
            await add(t, 1)
            await add(t, 2)

        async def reader() -> None:
            await take(t)
            await take(t)

        await eio.fiber.both(writer, reader)

    run(main)
    assert trace.lines() == [
        "Adding 1 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Got 2 from stream",
    ]


def test_cancel_reading(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](1)
        try:
            await eio.fiber.both(lambda: take(t), raise_cancel)
            raise AssertionError("not reached")
        except Cancel:
            eio.traceln("Cancelled")
            await add(t, 2)
            await take(t)

    run(main)
    assert trace.lines() == [
        "Reading from stream",
        "Cancelled",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Reading from stream",
        "Got 2 from stream",
    ]


def test_cancel_writing(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](1)

        async def writer() -> None:
            await add(t, 1)
            await add(t, 2)

        try:
            await eio.fiber.both(writer, raise_cancel)
            raise AssertionError("not reached")
        except Cancel:
            eio.traceln("Cancelled")
            await take(t)
            await add(t, 3)
            await take(t)

    run(main)
    assert trace.lines() == [
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Cancelled",
        "Reading from stream",
        "Got 1 from stream",
        "Adding 3 to stream",
        "Added 3 to stream",
        "Reading from stream",
        "Got 3 from stream",
    ]


def test_cancel_writing_to_zero_length_stream(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](0)
        try:
            await eio.fiber.both(lambda: add(t, 1), raise_cancel)
            raise AssertionError("not reached")
        except Cancel:
            eio.traceln("Cancelled")
            await eio.fiber.both(lambda: add(t, 2), lambda: take(t))

    run(main)
    assert trace.lines() == [
        "Adding 1 to stream",
        "Cancelled",
        "Adding 2 to stream",
        "Reading from stream",
        "Got 2 from stream",
        "Added 2 to stream",
    ]


def test_use_with_cancelled_context(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](0)
        with eio.cancel.sub() as c:
            c.cancel(Cancel())
            try:
                await add(t, 1)
            except eio.Cancelled as ex:
                eio.traceln(ex)
            try:
                await take(t)
            except eio.Cancelled as ex:
                eio.traceln(ex)
            # Check that the stream's lock was released correctly:
            with eio.cancel.protect():
                await eio.fiber.both(lambda: add(t, 1), lambda: take(t))

    run(main)
    assert trace.lines() == [
        "Adding 1 to stream",
        "Cancelled: Cancel()",
        "Reading from stream",
        "Cancelled: Cancel()",
        "Adding 1 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Added 1 to stream",
    ]


def test_readers_queue_up(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](0)
        async with eio.Switch.run() as sw:

            async def reader(name: str) -> None:
                await take(t)
                eio.traceln(f"{name} done")

            eio.fiber.fork(sw, reader, "a")
            eio.fiber.fork(sw, reader, "b")
            eio.fiber.fork(sw, reader, "c")
            await add(t, 1)
            await add(t, 2)
            await add(t, 3)

    run(main)
    assert trace.lines() == [
        "Reading from stream",
        "Reading from stream",
        "Reading from stream",
        "Adding 1 to stream",
        "Added 1 to stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Adding 3 to stream",
        "Added 3 to stream",
        "Got 1 from stream",
        "a done",
        "Got 2 from stream",
        "b done",
        "Got 3 from stream",
        "c done",
    ]


def test_writers_queue_up(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](0)
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, add, t, 1)
            eio.fiber.fork(sw, add, t, 2)
            eio.fiber.fork(sw, add, t, 3)
            await take(t)
            await take(t)
            await take(t)

    run(main)
    assert trace.lines() == [
        "Adding 1 to stream",
        "Adding 2 to stream",
        "Adding 3 to stream",
        "Reading from stream",
        "Got 1 from stream",
        "Reading from stream",
        "Got 2 from stream",
        "Reading from stream",
        "Got 3 from stream",
        "Added 1 to stream",
        "Added 2 to stream",
        "Added 3 to stream",
    ]


def test_cancelling_writing_to_full_stream(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](1)
        await add(t, 0)
        async with eio.Switch.run():
            try:
                await eio.fiber.both(lambda: add(t, 1), raise_cancel)
            except Cancel:
                eio.traceln("Cancelled")
                await take(t)
                await add(t, 2)
                await take(t)

    run(main)
    assert trace.lines() == [
        "Adding 0 to stream",
        "Added 0 to stream",
        "Adding 1 to stream",
        "Cancelled",
        "Reading from stream",
        "Got 0 from stream",
        "Adding 2 to stream",
        "Added 2 to stream",
        "Reading from stream",
        "Got 2 from stream",
    ]


def test_non_blocking_take(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](1)
        take_nonblocking(t)
        await add(t, 0)
        take_nonblocking(t)

    run(main)
    assert trace.lines() == [
        "Reading from stream",
        "Got None from stream",
        "Adding 0 to stream",
        "Added 0 to stream",
        "Reading from stream",
        "Got 0 from stream",
    ]


def test_non_blocking_take_zero_capacity(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[int](0)
        take_nonblocking(t)

        async def nonblocking() -> None:
            take_nonblocking(t)

        await eio.fiber.both(lambda: add(t, 0), nonblocking)
        take_nonblocking(t)

    run(main)
    assert trace.lines() == [
        "Reading from stream",
        "Got None from stream",
        "Adding 0 to stream",
        "Reading from stream",
        "Got 0 from stream",
        "Added 0 to stream",
        "Reading from stream",
        "Got None from stream",
    ]


# -- beyond Eio's file: no suspension on the fast paths, length, closing, misuse --


def test_fast_paths_do_not_switch_fibers(run: Runner, trace: Trace) -> None:
    """Adding with space and taking from a non-empty stream never let another fiber run."""

    async def main() -> None:
        t = eio.Stream[int](2)
        async with eio.Switch.run() as sw:

            async def other() -> None:
                eio.traceln("other ran")

            async def spawn_other() -> None:
                await eio.fiber.yield_()
                await other()

            eio.fiber.fork(sw, spawn_other)
            await t.add(1)
            await t.add(2)
            eio.traceln(f"len {len(t)} empty {t.is_empty()}")
            assert await t.take() == 1
            assert await t.take() == 2
            eio.traceln(f"len {len(t)} empty {t.is_empty()}")

    run(main)
    assert trace.lines() == ["len 2 empty False", "len 0 empty True", "other ran"]


def test_take_moves_waiting_writer_item_into_queue(run: Runner, trace: Trace) -> None:
    """On a full stream, the first waiting writer's item is in the queue before it wakes."""

    async def main() -> None:
        t = eio.Stream[int](1)
        await t.add(1)
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, add, t, 2)
            eio.fiber.fork(sw, add, t, 3)
            assert await t.take() == 1
            eio.traceln(f"len {len(t)}: {t.take_nonblocking()}")
            eio.traceln(f"len {len(t)}: {t.take_nonblocking()}")
            eio.traceln(f"len {len(t)}: {t.take_nonblocking()}")

    run(main)
    assert trace.lines() == [
        "Adding 2 to stream",
        "Adding 3 to stream",
        "len 1: 2",
        "len 1: 3",
        "len 0: None",
        "Added 2 to stream",
        "Added 3 to stream",
    ]


def test_cancelled_writer_item_is_not_added_and_fifo_kept(run: Runner, trace: Trace) -> None:
    """A cancelled writer leaves the queue without adding its item; the others keep their order."""

    async def main() -> None:
        t = eio.Stream[int](0)
        contexts: list[eio.cancel.CancelContext] = []

        async def cancellable_add(v: int) -> None:
            with eio.cancel.sub() as cc:
                contexts.append(cc)
                try:
                    await add(t, v)
                except eio.Cancelled:
                    eio.traceln(f"add of {v} cancelled")

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, add, t, 1)
            eio.fiber.fork(sw, cancellable_add, 99)
            eio.fiber.fork(sw, add, t, 2)
            contexts[0].cancel(Cancel())
            eio.fiber.fork(sw, add, t, 3)
            got = [await t.take(), await t.take(), await t.take()]
            eio.traceln(f"got {got}, nonblocking {t.take_nonblocking()}")

    run(main)
    assert trace.lines() == [
        "Adding 1 to stream",
        "Adding 99 to stream",
        "Adding 2 to stream",
        "Adding 3 to stream",
        "got [1, 2, 3], nonblocking None",
        "add of 99 cancelled",
        "Added 1 to stream",
        "Added 2 to stream",
        "Added 3 to stream",
    ]


def test_close_wakes_waiting_writers_and_rejects_later_adds(run: Runner, trace: Trace) -> None:
    """Eio's lib_eio/tests/sync.md "Closing cancels any waiting producers"."""

    async def main() -> None:
        t = eio.Stream[str](0)

        async def put(v: str) -> None:
            try:
                await t.add(v)
                eio.traceln(f"Sent {v}")
            except eio.Stream.Closed as ex:
                eio.traceln(f"Error adding {v}: {ex}")

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, put, "A")
            eio.traceln("Waiting for a consumer for A")
            t.close()
            eio.traceln(f"closed: {t.is_closed()}")
        await put("B")
        t.close()  # closing twice does nothing

    run(main)
    assert trace.lines() == [
        "Waiting for a consumer for A",
        "closed: True",
        "Error adding A: Stream closed",
        "Error adding B: Stream closed",
    ]


def test_close_wakes_waiting_readers_and_later_takes(run: Runner, trace: Trace) -> None:
    """Eio's lib_eio/tests/sync.md "Closing cancels any waiting consumers"."""

    async def main() -> None:
        t = eio.Stream[str](0)

        async def take_labelled(label: str) -> None:
            try:
                eio.traceln(f"{label}: Took {await t.take()}")
            except eio.Stream.Closed:
                eio.traceln(f"{label}: Stream was closed")

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, take_labelled, "A")
            eio.traceln("A: Waiting for producer")
            t.close()
        await take_labelled("B")
        eio.traceln(f"nonblocking: {t.take_nonblocking()}")

    run(main)
    assert trace.lines() == [
        "A: Waiting for producer",
        "A: Stream was closed",
        "B: Stream was closed",
        "nonblocking: None",
    ]


def test_closed_buffered_stream_drains_then_raises(run: Runner, trace: Trace) -> None:
    """Items already in a closed stream can still be taken; a waiting writer's item can't."""

    async def main() -> None:
        t = eio.Stream[int](2)
        await t.add(1)
        await t.add(2)
        async with eio.Switch.run() as sw:

            async def blocked_writer() -> None:
                try:
                    await t.add(3)
                except eio.StreamClosed as ex:
                    eio.traceln(f"add 3: {type(ex).__name__}: {ex}")

            eio.fiber.fork(sw, blocked_writer)
            t.close()
        eio.traceln(f"{await t.take()} {await t.take()} {len(t)}")
        with pytest.raises(eio.StreamClosed, match="^Stream closed$"):
            await t.take()
        with pytest.raises(eio.StreamClosed, match="^Stream closed$"):
            await t.add(4)

    run(main)
    assert trace.lines() == ["add 3: StreamClosed: Stream closed", "1 2 0"]


def test_negative_capacity_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^a stream's capacity can't be negative \(got -1\)$"):
        eio.Stream[int](-1)


def test_take_outside_a_loop_is_an_error() -> None:
    import asyncio

    t = eio.Stream[int](0)
    with pytest.raises(eio.NoLoopRunning, match="^no eio loop is running in this thread$"):
        asyncio.run(t.take())  # in another library's loop, not an eio one
    assert t.take_nonblocking() is None


def test_repr() -> None:
    t = eio.Stream[int](2)
    assert repr(t) == "<Stream 0/2 items>"
    t.close()
    assert repr(t) == "<Stream 0/2 items, closed>"
