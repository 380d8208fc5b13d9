"""Conformance: `eio.BufWrite` (every case of Eio's tests/buf_write.md, plus Python-specific checks).

The sink is a mock flow, which traces each ``single_write`` as ``flow: wrote
b'...'`` (one buffer) or ``flow: wrote [b'...', b'...']`` (several); its
``on_copy_bytes`` actions decide how many bytes each call takes (by default
up to 4096).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import eio
import pytest
from conftest import Runner, Trace
from eio.buf_read import BufRead
from eio.buf_write import BufWrite, FlushAborted, WriterClosed

import eio_mock
from eio_mock import Await, Raise, Return, Run, YieldThen


class Failure(Exception):
    """Eio's ``Failure``."""


# -- a simple run-through, auto-commit, schedule, pausing ---------------------------------


def test_simple_run_through(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            w.string("Hello")
            w.char(" ")
            w.string("world")

    run(main)
    assert trace.lines() == ["flow: wrote b'Hello world'"]


def test_auto_commit_on_yield(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            w.string("Hello")
            w.char(" ")
            await eio.fiber.yield_()
            w.string("world")

    run(main)
    assert trace.lines() == ["flow: wrote b'Hello '", "flow: wrote b'world'"]


def test_schedule_bytes_is_sent_without_copying(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            w.string("Hello")
            w.char(" ")
            w.schedule_bytes(b"world")
            w.char("!")

    run(main)
    assert trace.lines() == ["flow: wrote [b'Hello ', b'world', b'!']"]


def test_schedule_bytes_gives_the_callers_buffer_itself() -> None:
    w = BufWrite.create(10)
    data = bytearray(b"abc")
    w.schedule_bytes(data)
    data[0] = ord("X")  # not copied: the change shows
    assert w.serialize_to_bytes() == b"Xbc"


def test_without_pausing(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            w.string("Hello... ")
            await eio.fiber.yield_()
            w.string("world")

    run(main)
    assert trace.lines() == ["flow: wrote b'Hello... '", "flow: wrote b'world'"]


def test_with_pausing(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            w.string("Hello... ")
            w.pause()
            await eio.fiber.yield_()
            w.unpause()
            w.string("world")

    run(main)
    assert trace.lines() == ["flow: wrote [b'Hello... ', b'world']"]


def test_empty_writes(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            w.string("")
            w.bytes(b"")
            w.bytes(memoryview(b""))
            w.schedule_bytes(b"")
            w.printf("")

    run(main)
    assert trace.lines() == []


def test_endianness(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            w.le_uint16(5)
            await eio.fiber.yield_()
            w.be_uint16(5)

    run(main)
    assert trace.lines() == ["flow: wrote b'\\x05\\x00'", "flow: wrote b'\\x00\\x05'"]


def test_writes(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            w.string("test")
            await eio.fiber.yield_()
            w.bytes(b"test")
            await eio.fiber.yield_()
            w.bytes(b"!test!", 1, 4)
            await eio.fiber.yield_()
            w.char("A")

    run(main)
    assert trace.lines() == ["flow: wrote b'test'"] * 3 + ["flow: wrote b'A'"]


def test_multiple_writes_with_and_without_room(run: Runner, trace: Trace) -> None:
    def f(w: BufWrite) -> None:
        w.string("te")
        w.string("st")
        w.string("te")
        w.string("st")
        w.char("t")
        w.char("e")

    async def main() -> None:
        eio.traceln("With room:")
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            f(w)
        eio.traceln("Without room:")
        async with BufWrite.with_flow(eio_mock.flow.make("flow"), initial_size=1) as w:
            f(w)

    run(main)
    assert trace.lines() == [
        "With room:",
        "flow: wrote b'testtestte'",
        "Without room:",
        "flow: wrote [b'te', b'st', b'te', b'st', b'te']",
    ]


def test_formatting(run: Runner, trace: Trace) -> None:
    # Eio's printf can force a flush with "@."; Python's %-formatting has no
    # such directive, so the flushes are explicit.
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            w.printf("BufWrite.printf writes %s%s", "without flushing", "\n")
            await w.flush()
            w.printf("It is %d%% %s,", 100, "buffered")
            w.string(" until the writing fiber suspends.\n")
            w.printf("%(what)s: %(n)05.1f\n", {"what": "mapping", "n": 3.14159})
            w.printf("tcp:[%s]:%d", "::1", 8080)
            await w.flush()
            w.printf("Flushed. %s\n", "Goodbye")

    run(main)
    assert trace.lines() == [
        "flow: wrote b'BufWrite.printf writes without flushing\\n'",
        "flow: wrote b'It is 100% buffered, until the writing fiber suspends.\\nmapping: 003.1\\ntcp:[::1]:8080'",
        "flow: wrote b'Flushed. Goodbye\\n'",
    ]


# -- flushing -------------------------------------------------------------------------------


def test_flush_waits_for_the_write(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        p1, r2 = eio.Promise[int].create()
        sink = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(sink, [Await(p1)])
        async with BufWrite.with_flow(sink) as t:

            async def flusher() -> None:
                await t.flush()
                t.string("Hello")
                eio.traceln("Flushing...")
                await t.flush()
                eio.traceln("Flushed")

            async def completer() -> None:
                eio.traceln("Write now completes...")
                r2.resolve(3)

            await eio.fiber.both(flusher, completer)

    run(main)
    assert trace.lines() == [
        "Flushing...",
        "Write now completes...",
        "flow: wrote b'Hel'",
        "flow: wrote b'lo'",
        "Flushed",
    ]


def test_multiple_flushes(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sink = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(
            sink, [YieldThen(Return(1)), YieldThen(Return(2)), YieldThen(Return(2)), YieldThen(Return(2))]
        )
        async with BufWrite.with_flow(sink) as t:

            def writer(data: str, label: str) -> Callable[[], Awaitable[None]]:
                async def fn() -> None:
                    t.string(data)
                    await t.flush()
                    eio.traceln(label)

                return fn

            await eio.fiber.all([writer("ab", "1st flush"), writer("cd", "2nd flush"), writer("ef", "3rd flush")])
            eio.traceln("Done")

    run(main)
    assert trace.lines() == [
        "flow: wrote b'a'",
        "flow: wrote [b'b', b'c']",
        "1st flush",
        "flow: wrote [b'd', b'e']",
        "2nd flush",
        "flow: wrote b'f'",
        "3rd flush",
        "Done",
    ]


class SlowWriter:
    """A sink whose single_write yields before tracing each 10-byte piece it consumes."""

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        data = b"".join(bytes(b) for b in bufs)
        for i in range(0, len(data), 10):
            await eio.fiber.yield_()
            eio.traceln(f"Write {data[i : i + 10]!r}")
        return len(data)


def test_flush_waits_for_the_write_to_succeed(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(SlowWriter()) as t:
            t.string("test")
            await t.flush()
            eio.traceln("Flush complete")

    run(main)
    assert trace.lines() == ["Write b'test'", "Flush complete"]


def test_flush_with_nothing_pending_does_not_suspend(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        w = BufWrite.create(10)

        async def other() -> None:
            eio.traceln("other runs")

        async def flusher() -> None:
            await w.flush()
            eio.traceln("flushed")

        await eio.fiber.both(flusher, other)

    run(main)
    assert trace.lines() == ["flushed", "other runs"]


# -- scheduling -------------------------------------------------------------------------------


def test_scheduling(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as t:
            t.schedule_bytes(b"one")
            t.string("two")
            await eio.fiber.yield_()
            t.string("one")
            t.schedule_bytes(b"two")
            await eio.fiber.yield_()
            t.schedule_bytes(memoryview(b"end"))
            await eio.fiber.yield_()
            eio.traceln("Should all be flushed by now.")

    run(main)
    assert trace.lines() == [
        "flow: wrote [b'one', b'two']",
        "flow: wrote [b'one', b'two']",
        "flow: wrote b'end'",
        "Should all be flushed by now.",
    ]


# -- cancellation -------------------------------------------------------------------------------


def test_cancelled_while_the_sink_is_writing(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sink = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(sink, [Run(eio.fiber.await_cancel)])

        async def writing() -> None:
            async with BufWrite.with_flow(sink) as t:
                t.string("Hello")
                eio.traceln("Did write")

        async def failing() -> None:
            await eio.fiber.yield_()
            raise Failure("Simulated error")

        await eio.fiber.both(writing, failing)

    with pytest.raises(Failure, match="^Simulated error$"):
        run(main)
    assert trace.lines() == ["Did write"]


def test_cancelled_while_waiting_for_data(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            t = BufWrite.create(100, sw=sw)

            async def waiting() -> None:
                await t.await_batch()
                raise AssertionError("await_batch returned")

            async def failing() -> None:
                raise Failure("Simulated error")

            await eio.fiber.both(waiting, failing)

    with pytest.raises(Failure, match="^Simulated error$"):
        run(main)
    assert trace.lines() == []


# -- invalid arguments --------------------------------------------------------------------------


def test_invalid_offset(run: Runner) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as t:
            with pytest.raises(ValueError, match=r"^BufWrite\.string: off=100, length=-98 is outside the 2 available$"):
                t.string("hi", off=100)
            with pytest.raises(ValueError, match=r"^BufWrite\.bytes: off=1, length=5 is outside the 4 available$"):
                t.bytes(b"abcd", 1, 5)
            with pytest.raises(ValueError, match=r"^BufWrite\.string: off=-1, length=1 is outside the 2 available$"):
                t.string(b"hi", -1, 1)

    run(main)


def test_string_slices_characters_and_encodes_utf8() -> None:
    w = BufWrite.create(10)
    w.string("aébc", 1, 2)
    w.string(b"xyz", 2)
    w.string(bytearray(b"!"))
    w.char("é")
    w.char(b"\xfd")
    assert w.serialize_to_bytes() == "éb".encode() + b"z!" + "é".encode() + b"\xfd"


def test_bad_arguments_are_reported() -> None:
    w = BufWrite.create(10)
    with pytest.raises(ValueError, match=r"^BufWrite\.char expects a single character, got 'ab'$"):
        w.char("ab")
    with pytest.raises(TypeError, match=r"^BufWrite\.bytes expects bytes, bytearray or memoryview, not str$"):
        w.bytes("text")  # pyright: ignore[reportArgumentType] - the misuse under test
    with pytest.raises(TypeError, match=r"^BufWrite\.schedule_bytes expects bytes, bytearray or memoryview, not int$"):
        w.schedule_bytes(3)  # pyright: ignore[reportArgumentType] - the misuse under test
    with pytest.raises(ValueError, match=r"^BufWrite\.uint8: 256 is out of range$"):
        w.uint8(256)
    with pytest.raises(ValueError, match=r"^BufWrite\.be_uint16: -1 is out of range$"):
        w.be_uint16(-1)
    with pytest.raises(ValueError, match=r"^BufWrite\.le_uint48: 281474976710656 is out of range$"):
        w.le_uint48(1 << 48)
    with pytest.raises(ValueError, match=r"^BufWrite\.be_float: 1e\+300 is out of range$"):
        w.be_float(1e300)
    with pytest.raises(TypeError, match=r"^BufWrite\.be_uint32 expects an int, not float$"):
        w.be_uint32(1.5)  # pyright: ignore[reportArgumentType] - the misuse under test
    with pytest.raises(TypeError, match=r"^BufWrite\.be_uint48 expects an int, not str$"):
        w.be_uint48("1")  # pyright: ignore[reportArgumentType] - the misuse under test
    with pytest.raises(TypeError, match=r"^BufWrite\.le_double expects a number, not str$"):
        w.le_double("1")  # pyright: ignore[reportArgumentType] - the misuse under test
    with pytest.raises(ValueError, match=r"^BufWrite: initial_size must not be negative, got -1$"):
        BufWrite.create(-1)
    assert w.serialize_to_bytes() == b""


# -- serialize ------------------------------------------------------------------------------------


def foobar(sw: eio.Switch) -> BufWrite:
    t = BufWrite.create(100, sw=sw)
    t.string("foo")
    t.bytes(memoryview(b"bar"))
    t.close()
    return t


def test_serialize(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:

            async def writev(bufs: list[bytes | memoryview]) -> int:
                eio.traceln(f"Write {[bytes(b) for b in bufs]!r}")
                return sum(len(b) for b in bufs)

            await foobar(sw).serialize(writev)

    run(main)
    assert trace.lines() == ["Write [b'foobar']"]


def test_serialize_to_a_closed_destination(run: Runner, trace: Trace) -> None:
    class Closed(Exception):
        pass

    async def main() -> bool:
        async with eio.Switch.run() as sw:
            t = BufWrite.create(100, sw=sw)
            t.string("foobar")

            async def writev(bufs: list[bytes | memoryview]) -> int:
                assert bufs
                eio.traceln(f"Write {[bytes(b) for b in bufs]!r}")
                raise Closed

            with pytest.raises(Closed):
                await t.serialize(writev)
            return t.is_closed()

    assert run(main) is True
    assert trace.lines() == ["Write [b'foobar']"]


def test_serialize_after_a_partial_write_lets_others_run(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            t = foobar(sw)

            async def writev(bufs: list[bytes | memoryview]) -> int:
                eio.traceln(f"Write {[bytes(b) for b in bufs]!r}")
                return min(4, sum(len(b) for b in bufs))

            async def other() -> None:
                eio.traceln("other")

            await eio.fiber.both(lambda: t.serialize(writev), other)

    run(main)
    assert trace.lines() == ["Write [b'foobar']", "other", "Write [b'ar']"]


def test_serialize_to_bytes(run: Runner) -> None:
    async def main() -> bytes:
        async with eio.Switch.run() as sw:
            return foobar(sw).serialize_to_bytes()

    assert run(main) == b"foobar"


def test_serialize_to_bytes_of_an_empty_writer() -> None:
    assert BufWrite.create(10).serialize_to_bytes() == b""


def test_drain(run: Runner, trace: Trace) -> None:
    async def main() -> int:
        t = BufWrite.create(2)

        async def drainer() -> None:
            eio.traceln(f"drained {await t.drain()} bytes")

        async def writer() -> None:
            t.string("abc")
            await eio.fiber.yield_()
            t.schedule_bytes(b"de")
            t.close()

        await eio.fiber.both(drainer, writer)
        return t.pending_bytes()

    assert run(main) == 0
    assert trace.lines() == ["drained 5 bytes"]


# -- exceptions -----------------------------------------------------------------------------------


def test_output_is_still_flushed_on_error(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sink = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(sink, [Return(1), YieldThen(Return(1))])
        async with BufWrite.with_flow(sink) as t:
            t.string("foo")
            raise Failure("Simulated error")

    with pytest.raises(Failure, match="^Simulated error$"):
        run(main)
    assert trace.lines() == ["flow: wrote b'f'", "flow: wrote b'o'", "flow: wrote b'o'"]


def test_output_is_not_flushed_if_cancelled(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sink = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(sink, [Run(eio.fiber.await_cancel)])

        async def writing() -> None:
            async with BufWrite.with_flow(sink) as t:
                t.string("foo")
                await eio.fiber.await_cancel()

        async def failing() -> None:
            raise Failure("Simulated error")

        await eio.fiber.both(writing, failing)

    with pytest.raises(Failure, match="^Simulated error$"):
        run(main)
    assert trace.lines() == []


def test_error_from_the_sink_propagates(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sink = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(sink, [Raise(eio.net.ConnectionReset("Simulated reset"))])
        async with BufWrite.with_flow(sink) as t:
            t.string("foo")
            await eio.fiber.yield_()
            eio.traceln("not reached: the failed writer cancels the block")

    with pytest.raises(eio.net.ConnectionReset, match="^Simulated reset$"):
        run(main)
    assert trace.lines() == []


# -- cleanup ----------------------------------------------------------------------------------------


def test_flushes_fail_when_the_writers_switch_finishes(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as main_sw:
            async with eio.Switch.run() as sw:
                t = BufWrite.create(100, sw=sw)

                async def flusher() -> None:
                    t.string("foo")
                    try:
                        await t.flush()
                        raise AssertionError("flush returned")
                    except FlushAborted as ex:
                        eio.traceln(f"Flush failed: {type(ex).__name__}: {ex}")

                eio.fiber.fork(main_sw, flusher)
                eio.traceln("Finishing writer switch")
            await eio.fiber.yield_()
            eio.traceln("Finishing main switch")

    run(main)
    assert trace.lines() == [
        "Finishing writer switch",
        "Flush failed: FlushAborted: the writer was aborted before the data was written",
        "Finishing main switch",
    ]


def test_flushes_fail_when_with_flow_fails(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sink = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(sink, [Raise(Failure("Simulated IO error"))])
        async with eio.Switch.run() as sw:
            async with BufWrite.with_flow(sink) as t:

                async def flusher() -> None:
                    t.string("foo")
                    try:
                        await t.flush()
                        raise AssertionError("flush returned")
                    except FlushAborted as ex:
                        eio.traceln(f"Flush failed: {type(ex).__name__}")

                eio.fiber.fork(sw, flusher)
                eio.traceln("with_flow returning; t will be closed")

    with pytest.raises(Failure, match="^Simulated IO error$"):
        run(main)
    assert trace.lines() == ["with_flow returning; t will be closed", "Flush failed: FlushAborted"]


def test_flush_succeeds_when_with_flow_ends_normally(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sink = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(sink, [YieldThen(Return(2)), Return(1)])
        async with eio.Switch.run() as sw:
            async with BufWrite.with_flow(sink) as t:

                async def flusher() -> None:
                    t.string("foo")
                    await t.flush()
                    eio.traceln("Flush succeeded")

                eio.fiber.fork(sw, flusher)
                eio.traceln("with_flow returning; t should be closed but not aborted")

    run(main)
    assert trace.lines() == [
        "with_flow returning; t should be closed but not aborted",
        "flow: wrote b'fo'",
        "flow: wrote b'o'",
        "Flush succeeded",
    ]


def test_abort_without_a_switch(run: Runner, trace: Trace) -> None:
    t = BufWrite.create(100)

    async def main() -> None:
        async def flusher() -> None:
            try:
                t.string("hi")
                await t.flush()
            except FlushAborted:
                eio.traceln("Aborted")

        async def aborter() -> None:
            t.abort()

        await eio.fiber.both(flusher, aborter)

    run(main)
    assert trace.lines() == ["Aborted"]


def test_flush_after_abort_fails_at_once(run: Runner) -> None:
    async def main() -> None:
        t = BufWrite.create(100)
        t.string("hi")
        t.abort()
        with pytest.raises(FlushAborted, match="^the writer was aborted: pending data will not be written$"):
            await t.flush()

    run(main)


# -- state and misuse ----------------------------------------------------------------------------------


def test_writing_to_a_closed_writer_raises() -> None:
    w = BufWrite.create(10)
    w.string("ok")
    w.close()
    assert w.is_closed()
    for write in (
        lambda: w.string("x"),
        lambda: w.bytes(b"x"),
        lambda: w.char("x"),
        lambda: w.uint8(1),
        lambda: w.be_uint32(1),
        lambda: w.printf("%d", 1),
        lambda: w.schedule_bytes(b"x"),
    ):
        with pytest.raises(WriterClosed, match="^cannot write to closed writer$"):
            write()
    assert issubclass(WriterClosed, RuntimeError)
    w.pause()  # ignored once closed
    assert w.serialize_to_bytes() == b"ok"


def test_pending_and_free_bytes() -> None:
    w = BufWrite.create(8)
    assert (w.free_bytes_in_buffer(), w.pending_bytes(), w.has_pending_output()) == (8, 0, False)
    w.string("abc")
    assert (w.free_bytes_in_buffer(), w.pending_bytes(), w.has_pending_output()) == (5, 3, True)
    w.schedule_bytes(b"12345678901")
    w.string("de")
    assert (w.free_bytes_in_buffer(), w.pending_bytes()) == (3, 16)
    w.string("0123")  # does not fit: a new buffer of the same size
    assert (w.free_bytes_in_buffer(), w.pending_bytes()) == (4, 20)
    w.string("x" * 20)  # larger than the buffer: a new, larger one
    assert (w.free_bytes_in_buffer(), w.pending_bytes()) == (0, 40)
    assert w.serialize_to_bytes() == b"abc12345678901de0123" + b"x" * 20
    assert (w.free_bytes_in_buffer(), w.pending_bytes(), w.has_pending_output()) == (20, 0, False)


def test_shift_reports_partial_writes(run: Runner) -> None:
    async def main() -> list[list[bytes]]:
        w = BufWrite.create(100)
        w.string("abc")
        w.schedule_bytes(b"def")
        seen = [[bytes(b) for b in await w.await_batch()]]
        w.shift(4)
        seen.append([bytes(b) for b in await w.await_batch()])
        with pytest.raises(ValueError, match=r"^BufWrite\.shift: 3 bytes written, but only 2 were scheduled$"):
            w.shift(3)
        w.shift(2)
        w.close()
        seen.append([bytes(b) for b in await w.await_batch()])
        return seen

    assert run(main) == [[b"abc", b"def"], [b"ef"], []]


def test_only_one_fiber_may_await_a_batch(run: Runner) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            w = BufWrite.create(100, sw=sw)

            async def first() -> None:
                await w.await_batch()

            eio.fiber.fork(sw, first)
            with pytest.raises(RuntimeError, match="^BufWrite.await_batch: another fiber is already waiting for this writer$"):
                await w.await_batch()
            w.close()

    run(main)


def test_with_flow_can_only_be_entered_once(run: Runner) -> None:
    async def main() -> None:
        cm = BufWrite.with_flow(eio_mock.flow.make("flow"))
        async with cm:
            with pytest.raises(RuntimeError, match=r"^a BufWrite\.with_flow\(\) scope can only be entered once$"):
                await cm.__aenter__()

    run(main)


def test_writes_do_not_switch_fibers(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with BufWrite.with_flow(eio_mock.flow.make("flow")) as w:
            async with eio.Switch.run() as sw:

                async def other() -> None:
                    eio.traceln("other starts")
                    await eio.fiber.yield_()
                    eio.traceln("other resumes")

                eio.fiber.fork(sw, other)
                for i in range(1000):
                    w.string(f"{i % 10}")
                eio.traceln("wrote 1000 times")

    run(main)
    assert trace.lines() == [
        "other starts",
        "wrote 1000 times",
        "other resumes",
        f"flow: wrote {b''.join(str(i % 10).encode() for i in range(1000))[:4096]!r}",
    ]


# -- round-trips with BufRead ---------------------------------------------------------------


def encode(f: Callable[[BufWrite], None]) -> bytes:
    """Eio's ``test``: serialize with a small buffer (no event loop needed)."""
    t = BufWrite.create(10)
    f(t)
    return t.serialize_to_bytes()


def round_trip(
    run: Runner, x: object, write: Callable[[BufWrite], None], read: Callable[[BufRead], Awaitable[object]]
) -> bytes:
    """Encode with ``write``, check ``read`` decodes ``x`` back (Eio's ``test``); return the encoding."""
    encoded = encode(write)

    async def main() -> object:
        return await eio.buf_read.parse_string(read, encoded)

    decoded = run(main)
    assert decoded == x, f"Failed to round-trip: {encoded!r}"
    return encoded


def test_round_trip_bytes_and_chars(run: Runner) -> None:
    assert round_trip(run, b"test", lambda t: t.string("test"), BufRead.take_all) == b"test"
    assert round_trip(run, b"\xfd", lambda t: t.char(b"\xfd"), BufRead.any_char) == b"\xfd"
    assert round_trip(run, 0xA5, lambda t: t.uint8(0xA5), BufRead.uint8).hex() == "a5"
    assert round_trip(run, -91, lambda t: t.int8(-91), BufRead.int8).hex() == "a5"


def test_round_trip_big_endian(run: Runner) -> None:
    assert round_trip(run, 0xA123, lambda t: t.be_uint16(0xA123), BufRead.be_uint16).hex() == "a123"
    assert round_trip(run, 0xA1234567, lambda t: t.be_uint32(0xA1234567), BufRead.be_uint32).hex() == "a1234567"
    n48 = 0xA1234567890A
    assert round_trip(run, n48, lambda t: t.be_uint48(n48), BufRead.be_uint48).hex() == "a1234567890a"
    n64 = 0xA1234567890ABCDE
    assert round_trip(run, n64, lambda t: t.be_uint64(n64), BufRead.be_uint64).hex() == "a1234567890abcde"
    assert round_trip(run, 32.25, lambda t: t.be_float(32.25), BufRead.be_float).hex() == "42010000"
    assert round_trip(run, 32.25, lambda t: t.be_double(32.25), BufRead.be_double).hex() == "4040200000000000"
    assert round_trip(run, -0x5EDD, lambda t: t.be_int16(-0x5EDD), BufRead.be_int16).hex() == "a123"
    assert round_trip(run, -0x5EDCBA99, lambda t: t.be_int32(-0x5EDCBA99), BufRead.be_int32).hex() == "a1234567"
    i64 = n64 - (1 << 64)
    assert round_trip(run, i64, lambda t: t.be_int64(i64), BufRead.be_int64).hex() == "a1234567890abcde"


def test_round_trip_little_endian(run: Runner) -> None:
    def rev_hex(data: bytes) -> str:
        """Eio's ``to_hex'``: the bytes reversed, in hex."""
        return data[::-1].hex()

    assert rev_hex(round_trip(run, 0xA123, lambda t: t.le_uint16(0xA123), BufRead.le_uint16)) == "a123"
    assert rev_hex(round_trip(run, 0xA1234567, lambda t: t.le_uint32(0xA1234567), BufRead.le_uint32)) == "a1234567"
    n48 = 0xA1234567890A
    assert rev_hex(round_trip(run, n48, lambda t: t.le_uint48(n48), BufRead.le_uint48)) == "a1234567890a"
    n64 = 0xA1234567890ABCDE
    assert rev_hex(round_trip(run, n64, lambda t: t.le_uint64(n64), BufRead.le_uint64)) == "a1234567890abcde"
    assert rev_hex(round_trip(run, 32.25, lambda t: t.le_float(32.25), BufRead.le_float)) == "42010000"
    assert rev_hex(round_trip(run, 32.25, lambda t: t.le_double(32.25), BufRead.le_double)) == "4040200000000000"
    assert rev_hex(round_trip(run, -0x5EDD, lambda t: t.le_int16(-0x5EDD), BufRead.le_int16)) == "a123"
    assert rev_hex(round_trip(run, -0x5EDCBA99, lambda t: t.le_int32(-0x5EDCBA99), BufRead.le_int32)) == "a1234567"
    i64 = n64 - (1 << 64)
    assert rev_hex(round_trip(run, i64, lambda t: t.le_int64(i64), BufRead.le_int64)) == "a1234567890abcde"


def test_round_trip_through_a_flow(run: Runner) -> None:
    # The same, but through with_flow and a buffer sink rather than serialize_to_bytes.
    async def main() -> tuple[int, float, bytes]:
        out = bytearray()
        async with BufWrite.with_flow(eio.flow.buffer_sink(out), initial_size=3) as w:
            w.be_uint32(0xDEADBEEF)
            w.le_double(-1.5)
            w.printf("%s\n", "end")
        r = BufRead.of_string(bytes(out))
        return await r.be_uint32(), await r.le_double(), await r.line()

    assert run(main) == (0xDEADBEEF, -1.5, b"end")
