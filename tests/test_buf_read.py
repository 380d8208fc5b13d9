"""`eio.BufRead`: every case of Eio's tests/buf_reader.md, with the same reads and results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import eio
import pytest
from conftest import Runner, Trace
from eio.buf_read import BufferLimitExceeded, BufRead, ParseError, parse, parse_string


class MockFlow:
    """A source returning the next chunks, as Eio's test ``mock_flow`` does (tracing each read)."""

    def __init__(self, chunks: list[bytes] | None = None) -> None:
        self.next = list(chunks or [])

    async def single_read(self, buf: memoryview, /) -> int:
        if not self.next:
            eio.traceln("mock_flow returning Eof")
            raise eio.EndOfFile
        x = self.next[0]
        n = min(len(buf), len(x))
        eio.traceln(f"mock_flow returning {n} bytes")
        buf[:n] = x[:n]
        if n == len(x):
            del self.next[0]
        else:
            self.next[0] = x[n:]
        return n


def peek(r: BufRead) -> bytes:
    data = bytes(r.peek())
    assert len(data) == r.buffered_bytes()
    return data


async def ensure(r: BufRead, n: int) -> bytes:
    await r.ensure(n)
    return peek(r)


def is_digit(c: bytes) -> bool:
    return c.isdigit()


def is_a(c: bytes) -> bool:
    return c == b"a"


def test_simple_run_through(run: Runner) -> None:
    async def main() -> None:
        i = BufRead.of_flow(eio.flow.string_source("Hello"), max_size=100)
        assert peek(i) == b""
        assert await ensure(i, 1) == b"Hello"
        i.consume(1)
        assert peek(i) == b"ello"
        assert await ensure(i, 4) == b"ello"
        with pytest.raises(eio.EndOfFile):
            await ensure(i, 5)
        assert peek(i) == b"ello"
        i.consume(4)
        assert peek(i) == b""

    run(main)


def test_minimising_reads(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = MockFlow()
        i = BufRead.of_flow(flow, initial_size=4, max_size=10)
        flow.next = [b"hello world!"]
        # The first read fills the initial buffer.
        assert await ensure(i, 1) == b"hell"
        assert trace.lines() == ["mock_flow returning 4 bytes"]
        # The next read forces a resize (doubling to 8).
        assert await ensure(i, 5) == b"hello wo"
        assert trace.lines() == ["mock_flow returning 4 bytes"]
        # Now the buffer is at max-size (10).
        assert await ensure(i, 9) == b"hello worl"
        assert trace.lines() == ["mock_flow returning 2 bytes"]
        assert await ensure(i, 10) == b"hello worl"
        with pytest.raises(BufferLimitExceeded):
            await ensure(i, 11)
        assert trace.lines() == []

    run(main)


def test_doubling_is_not_always_enough(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"hello world!"]), initial_size=4, max_size=10)
        assert await ensure(i, 10) == b"hello worl"

    run(main)
    assert trace.lines() == ["mock_flow returning 10 bytes"]


def test_end_of_file_stops_using_the_flow(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"hi"]), initial_size=4, max_size=10)
        with pytest.raises(eio.EndOfFile):
            await ensure(i, 10)
        assert trace.lines() == ["mock_flow returning 2 bytes", "mock_flow returning Eof"]
        assert peek(i) == b"hi"
        assert i.eof_seen()
        with pytest.raises(eio.EndOfFile):
            await ensure(i, 10)
        assert await i.take_all() == b"hi"
        assert await i.take_all() == b""
        assert trace.lines() == []

    run(main)


def test_multiple_reads(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"one", b"two", b"three"]), initial_size=4, max_size=10)
        assert await ensure(i, 10) == b"onetwothre"
        assert trace.lines() == ["mock_flow returning 3 bytes", "mock_flow returning 3 bytes", "mock_flow returning 4 bytes"]
        i.consume(4)
        assert await ensure(i, 7) == b"wothree"
        assert trace.lines() == ["mock_flow returning 1 bytes"]

    run(main)


def test_reading_lines(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"one", b"\ntwo\n", b"three\n"]), max_size=100)
        assert await i.line() == b"one"
        assert trace.lines() == ["mock_flow returning 3 bytes", "mock_flow returning 5 bytes"]
        assert await i.line() == b"two"
        assert trace.lines() == []
        assert await i.line() == b"three"
        assert trace.lines() == ["mock_flow returning 6 bytes"]
        with pytest.raises(eio.EndOfFile):
            await i.line()
        assert trace.lines() == ["mock_flow returning Eof"]

    run(main)


def test_dos_lines(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"one\r", b"\ntwo\r\n", b"three\r\n"]), max_size=100)
        assert await i.line() == b"one"
        assert trace.lines() == ["mock_flow returning 4 bytes", "mock_flow returning 6 bytes"]
        assert await i.line() == b"two"
        assert await i.line() == b"three"
        assert trace.lines() == ["mock_flow returning 7 bytes"]
        with pytest.raises(eio.EndOfFile):
            await i.line()
        assert trace.lines() == ["mock_flow returning Eof"]

    run(main)


def test_missing_eol(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"on", b"e\ntwo"]), max_size=100)
        assert await i.line() == b"one"
        assert trace.lines() == ["mock_flow returning 2 bytes", "mock_flow returning 5 bytes"]
        assert await i.line() == b"two"
        assert trace.lines() == ["mock_flow returning Eof"]

    run(main)


def test_multiple_lines_in_one_read(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"one\ntwo\n\nthree"]), max_size=100)
        assert await i.line() == b"one"
        assert trace.lines() == ["mock_flow returning 14 bytes"]
        assert await i.line() == b"two"
        assert await i.line() == b""
        assert await i.line() == b"three"
        assert trace.lines() == ["mock_flow returning Eof"]
        with pytest.raises(eio.EndOfFile):
            await i.line()
        assert trace.lines() == []

    run(main)


def test_flow_interface(run: Runner, trace: Trace) -> None:
    async def read(flow: eio.flow.Source, n: int) -> None:
        buf = bytearray(n)
        got = await eio.flow.single_read(flow, buf)
        eio.traceln(f"Read {bytes(buf[:got])!r}")

    async def main() -> None:
        bflow = BufRead.of_flow(MockFlow([b"foo", b"bar"]), max_size=100).as_flow()
        await read(bflow, 2)
        assert trace.lines() == ["mock_flow returning 3 bytes", "Read b'fo'"]
        await read(bflow, 2)
        assert trace.lines() == ["Read b'o'"]
        await read(bflow, 2)
        assert trace.lines() == ["mock_flow returning 3 bytes", "Read b'ba'"]
        await read(bflow, 2)
        assert trace.lines() == ["Read b'r'"]
        with pytest.raises(eio.EndOfFile):
            await read(bflow, 2)
        assert trace.lines() == ["mock_flow returning Eof"]

    run(main)


def test_characters(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"ab", b"c"]), max_size=100)
        assert await i.any_char() == b"a"
        assert trace.lines() == ["mock_flow returning 2 bytes"]
        assert await i.peek_char() == b"b"
        assert await i.any_char() == b"b"
        assert await i.any_char() == b"c"
        assert trace.lines() == ["mock_flow returning 1 bytes"]
        with pytest.raises(eio.EndOfFile):
            await i.any_char()
        assert trace.lines() == ["mock_flow returning Eof"]
        assert await i.peek_char() is None

    run(main)


def test_fixed_length_strings(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"ab", b"c"]), max_size=100)
        assert await i.take(1) == b"a"
        assert trace.lines() == ["mock_flow returning 2 bytes"]
        with pytest.raises(eio.EndOfFile):
            await i.take(3)
        assert trace.lines() == ["mock_flow returning 1 bytes", "mock_flow returning Eof"]
        assert await i.take(2) == b"bc"

    run(main)


def test_literals(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"ab", b"c"]), max_size=100)
        with pytest.raises(ParseError) as e1:
            await i.char("A")
        assert str(e1.value) == "Expected 'A' but got 'a'"
        assert trace.lines() == ["mock_flow returning 2 bytes"]
        await i.char(b"a")
        with pytest.raises(ParseError) as e2:
            await i.string("BC")
        assert str(e2.value) == 'Expected "BC" but got "b"'
        with pytest.raises(ParseError) as e3:
            await i.string(b"bC")
        assert str(e3.value) == 'Expected "bC" but got "bc"'
        assert trace.lines() == ["mock_flow returning 1 bytes"]
        with pytest.raises(eio.EndOfFile):
            await i.string("bcd")
        assert trace.lines() == ["mock_flow returning Eof"]
        with pytest.raises(eio.EndOfFile):
            await i.string("bcd")
        await i.string("bc")
        assert peek(i) == b""
        assert trace.lines() == []

    run(main)


def test_scanning(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"aa", b"a0", b"123de"]), max_size=100)
        await i.skip_while(is_a)
        assert trace.lines() == ["mock_flow returning 2 bytes", "mock_flow returning 2 bytes"]
        assert await i.take_while(is_digit) == b"0123"
        assert trace.lines() == ["mock_flow returning 5 bytes"]
        assert await i.take_while(lambda c: not is_digit(c)) == b"de"
        assert trace.lines() == ["mock_flow returning Eof"]

    run(main)


def check(
    run: Runner,
    trace: Trace,
    chunks: list[bytes],
    parser: Callable[[BufRead], Awaitable[object]],
    expected: object,
    reads: list[str],
    max_size: int = 10,
) -> None:
    """Eio's ``test``: run ``parser`` on a fresh reader of ``chunks``; check the result and the reads."""

    async def main() -> object:
        return await parser(BufRead.of_flow(MockFlow(chunks), max_size=max_size))

    if isinstance(expected, BaseException):
        with pytest.raises(type(expected)) as info:
            run(main)
        assert str(info.value) == str(expected)
    else:
        assert run(main) == expected
    assert trace.lines() == [f"mock_flow returning {r}" for r in reads]


async def skip5_take_all(r: BufRead) -> bytes:
    await r.skip(5)
    return await r.take_all()


async def skip_a1_take_all(r: BufRead) -> bytes:
    await r.skip_while1(is_a)
    return await r.take_all()


def test_skip(run: Runner, trace: Trace) -> None:
    check(run, trace, [b"abc", b"def", b"ghi"], skip5_take_all, b"fghi", ["3 bytes", "3 bytes", "3 bytes", "Eof"])


def test_skip_beyond_the_buffer_size(run: Runner, trace: Trace) -> None:
    check(run, trace, [b"abcdefg"], skip5_take_all, b"fg", ["3 bytes", "3 bytes", "1 bytes", "Eof"], max_size=3)


def test_take_while1(run: Runner, trace: Trace) -> None:
    check(run, trace, [b"aaabc"], lambda r: r.take_while1(is_a), b"aaa", ["5 bytes"])
    check(run, trace, [b"aaabc"], lambda r: r.take_while1(lambda c: not is_a(c)), ParseError("take_while1"), ["5 bytes"])
    check(run, trace, [b"abc"], lambda r: r.take_while1(is_a), b"a", ["3 bytes"])


def test_skip_while1(run: Runner, trace: Trace) -> None:
    check(run, trace, [b"aaaaabc"], skip_a1_take_all, b"bc", ["7 bytes", "Eof"])
    check(run, trace, [b"bbbccc"], skip_a1_take_all, ParseError("skip_while1"), ["6 bytes"])
    check(run, trace, [b"abbbccc"], skip_a1_take_all, b"bbbccc", ["7 bytes", "Eof"])


@pytest.mark.parametrize(
    ("parser", "data", "shown"),
    [
        (BufRead.be_uint16, b"\x80\x01", "0x8001"),
        (BufRead.be_uint32, b"\x80\x40\x20\x01", "0x80402001"),
        (BufRead.be_uint48, b"\x80\x40\x20\x10\x08\x01", "0x804020100801"),
        (BufRead.be_uint64, b"\x80\x40\x20\x10\x08\x04\x02\x01", "0x8040201008040201"),
        (BufRead.be_float, b"\x80\x40\x20\x01", "0x-5.888953e-39"),
        (BufRead.be_double, b"\x80\x40\x20\x10\x08\x04\x02\x01", "0x-1.793993e-307"),
        (BufRead.le_uint16, b"\x80\x01", "0x180"),
        (BufRead.le_uint32, b"\x80\x40\x20\x01", "0x1204080"),
        (BufRead.le_uint48, b"\x80\x40\x20\x10\x08\x01", "0x10810204080"),
        (BufRead.le_uint64, b"\x80\x40\x20\x10\x08\x04\x02\x01", "0x102040810204080"),
        (BufRead.le_float, b"\x80\x40\x20\x01", "0x2.943364e-38"),
        (BufRead.le_double, b"\x80\x40\x20\x10\x08\x04\x02\x01", "0x8.209689e-304"),
    ],
)
def test_endian(run: Runner, parser: Callable[[BufRead], Awaitable[float]], data: bytes, shown: str) -> None:
    async def main() -> str:
        v = await parse_string(parser, data)
        return f"0x{v:x}" if isinstance(v, int) else f"0x{v:e}"

    assert run(main) == shown


@pytest.mark.parametrize(
    ("parser", "data", "value"),
    [
        (BufRead.uint8, b"\xff", 255),
        (BufRead.int8, b"\xff", -1),
        (BufRead.int8, b"\x7f", 127),
        (BufRead.be_int16, b"\xff\xfe", -2),
        (BufRead.le_int16, b"\xfe\xff", -2),
        (BufRead.be_int32, b"\x80\x00\x00\x00", -(2**31)),
        (BufRead.le_int32, b"\x00\x00\x00\x80", -(2**31)),
        (BufRead.be_int64, b"\xff" * 8, -1),
        (BufRead.le_int64, b"\x01" + b"\x00" * 7, 1),
        (BufRead.be_uint64, b"\xff" * 8, 2**64 - 1),
    ],
)
def test_signed_integers(run: Runner, parser: Callable[[BufRead], Awaitable[int]], data: bytes, value: int) -> None:
    async def main() -> int:
        return await parse_string(parser, data)

    assert run(main) == value


def test_take_all(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"20 text/gemini\r\n", b"# Introduction\n", b"# Conclusion\n"]), max_size=100)
        assert await i.line() == b"20 text/gemini"
        assert trace.lines() == ["mock_flow returning 16 bytes"]
        assert await i.take_all() == b"# Introduction\n# Conclusion\n"
        assert trace.lines() == ["mock_flow returning 15 bytes", "mock_flow returning 13 bytes", "mock_flow returning Eof"]

    run(main)


def test_take_all_over_the_limit(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"abc", b"def", b"ghi", b"jkl"]), max_size=10)
        with pytest.raises(BufferLimitExceeded):
            await i.take_all()
        assert trace.lines() == ["mock_flow returning 3 bytes"] * 3 + ["mock_flow returning 1 bytes"]
        assert await i.take(3) == b"abc"

    run(main)


# Combinators: in Python a parser is an async function, so map, pair, bind,
# <* and *> are plain code. These are Eio's combinator cases spelt that way.


async def upper2(r: BufRead) -> bytes:
    return (await r.take(2)).upper()


async def char_and_rest(r: BufRead) -> tuple[bytes, bytes]:
    return await r.any_char(), await r.take_all()


async def char_then_same(r: BufRead) -> None:
    await r.char(await r.any_char())


async def char_then_same_then_rest(r: BufRead) -> bytes:
    await r.char(await r.any_char())
    return await r.take_all()


async def first_of_two(r: BufRead) -> bytes:
    x = await r.any_char()
    await r.any_char()
    return x


async def second_of_two(r: BufRead) -> bytes:
    await r.any_char()
    return await r.any_char()


def test_combinators(run: Runner, trace: Trace) -> None:
    check(run, trace, [b"abc"], upper2, b"AB", ["3 bytes"])
    check(run, trace, [b"abc"], char_and_rest, (b"a", b"bc"), ["3 bytes", "Eof"])
    check(run, trace, [b"abc"], char_then_same, ParseError("Expected 'a' but got 'b'"), ["3 bytes"])
    check(run, trace, [b"aac"], char_then_same_then_rest, b"c", ["3 bytes", "Eof"])
    check(run, trace, [b"ab"], first_of_two, b"a", ["2 bytes"])
    check(run, trace, [b"ab"], second_of_two, b"b", ["2 bytes"])


def test_error_handling(run: Runner, trace: Trace) -> None:
    check(run, trace, [b"abc"], lambda r: r.take(3), b"abc", ["3 bytes"])

    def parsed(p: Callable[[BufRead], Awaitable[bytes]]) -> Callable[[], Awaitable[bytes]]:
        return lambda: parse(p, MockFlow([b"abc"]), max_size=10)

    with pytest.raises(ParseError) as e1:
        run(parsed(lambda r: r.take(2)))
    assert str(e1.value) == "Unexpected data after parsing (at offset 2)"
    assert trace.lines() == ["mock_flow returning 3 bytes"]

    with pytest.raises(ParseError) as e2:
        run(parsed(lambda r: r.take(4)))
    assert str(e2.value) == "Unexpected end-of-file at offset 3"
    assert isinstance(e2.value.__cause__, eio.EndOfFile)
    assert trace.lines() == ["mock_flow returning 3 bytes", "mock_flow returning Eof"]

    with pytest.raises(BufferLimitExceeded) as e3:
        run(lambda: parse(BufRead.line, MockFlow([b"abc"]), max_size=2))
    assert str(e3.value) == "Buffer size limit exceeded when reading at offset 0"
    assert trace.lines() == ["mock_flow returning 2 bytes"]


def test_sequences(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async for line in BufRead.of_flow(MockFlow([b"one", b"\ntwo\n", b"three"]), max_size=10).lines():
            eio.traceln(repr(line))

    run(main)
    assert trace.lines() == [
        "mock_flow returning 3 bytes",
        "mock_flow returning 5 bytes",
        "b'one'",
        "b'two'",
        "mock_flow returning 5 bytes",
        "mock_flow returning Eof",
        "b'three'",
    ]


def test_seq_of_take(run: Runner, trace: Trace) -> None:
    async def pairs(data: bytes) -> bytes:
        r = BufRead.of_flow(MockFlow([data]), max_size=10)
        return b",".join([x async for x in r.seq(lambda r: r.take(2))])

    assert run(lambda: pairs(b"abcd1234")) == b"ab,cd,12,34"
    assert trace.lines() == ["mock_flow returning 8 bytes", "mock_flow returning Eof"]
    with pytest.raises(eio.EndOfFile):
        run(lambda: pairs(b"abcd123"))
    assert trace.lines() == ["mock_flow returning 7 bytes", "mock_flow returning Eof"]


def test_stale_sequence(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = BufRead.of_flow(MockFlow([b"one", b"\ntwo\n", b"three"]), max_size=100)
        seq = i.lines()
        assert await i.line() == b"one"
        assert trace.lines() == ["mock_flow returning 3 bytes", "mock_flow returning 5 bytes"]
        with pytest.raises(RuntimeError) as e1:
            await anext(seq)
        assert str(e1.value) == "Sequence is stale (expected to be used at offset 0, but stream is now at 4)"
        seq2 = i.lines()
        assert await i.line() == b"two"
        with pytest.raises(RuntimeError) as e2:
            await anext(seq2)
        assert str(e2.value) == "Sequence is stale (expected to be used at offset 4, but stream is now at 8)"
        seq3 = i.lines()
        assert [line async for line in seq3] == [b"three"]

    run(main)


async def from_then_rest(r: BufRead) -> bytes:
    await r.string("FROM:")
    return await r.take_all()


async def end_literal(r: BufRead) -> None:
    await r.string("END")


async def take3(r: BufRead) -> bytes:
    return await r.take(3)


@pytest.mark.parametrize(
    ("parser", "data", "result"),
    [
        (from_then_rest, "FROM:A", b"A"),
        (from_then_rest, "TO:B", ParseError('Expected "FROM:" but got "TO:B" (at offset 0)')),
        (from_then_rest, "FROM:ABCDE", BufferLimitExceeded("Buffer size limit exceeded when reading at offset 5")),
        (end_literal, "ENDING", ParseError("Unexpected data after parsing (at offset 3)")),
        (end_literal, "E", ParseError("Unexpected end-of-file at offset 1")),
        (take3, "ENDING", ParseError("Unexpected data after parsing (at offset 3)")),
        (take3, "E", ParseError("Unexpected end-of-file at offset 1")),
    ],
)
def test_parse_convenience_wrapper(
    run: Runner, parser: Callable[[BufRead], Awaitable[object]], data: str, result: object
) -> None:
    async def main() -> object:
        return await parse(parser, eio.flow.string_source(data), max_size=5)

    if isinstance(result, BaseException):
        with pytest.raises(ParseError) as info:
            run(main)
        assert type(info.value) is type(result)
        assert str(info.value) == str(result)
        assert info.value.__cause__ is not None
    else:
        assert run(main) == result


def test_parsing_strings(run: Runner) -> None:
    async def main() -> None:
        r = BufRead.of_string("hello\nworld\n")
        assert await r.line() == b"hello"
        assert await r.line() == b"world"
        with pytest.raises(eio.EndOfFile):
            await r.line()
        assert await parse_string(BufRead.line, "foo\n") == b"foo"
        with pytest.raises(ParseError) as e:
            await parse_string(BufRead.line, b"foo\nbar\n")
        assert str(e.value) == "Unexpected data after parsing (at offset 4)"

    run(main)


def test_parse_two_lines_from_packets(run: Runner, trace: Trace) -> None:
    """Eio's last case ("Test using mock flow"), with this file's mock source."""

    async def two_lines(r: BufRead) -> tuple[bytes, bytes]:
        return await r.line(), await r.line()

    async def main() -> tuple[bytes, bytes]:
        return await parse(two_lines, MockFlow([b"foo\nba", b"r\n"]), max_size=100)

    assert run(main) == (b"foo", b"bar")
    assert trace.lines() == ["mock_flow returning 6 bytes", "mock_flow returning 2 bytes", "mock_flow returning Eof"]


# Python-specific checks: argument validation and the messages of misuse errors.


def test_bad_arguments(run: Runner) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match=r"^Max size 0 should be positive!$"):
            BufRead.of_flow(eio.flow.null, max_size=0)
        with pytest.raises(ValueError, match=r"^Initial size 0 should be positive!$"):
            BufRead.of_flow(eio.flow.null, initial_size=0, max_size=10)
        r = BufRead.of_string("abc")
        with pytest.raises(ValueError, match=r"^take: -1 is negative!$"):
            await r.take(-1)
        with pytest.raises(ValueError, match=r"^skip: -2 is negative!$"):
            await r.skip(-2)
        with pytest.raises(ValueError, match=r"^Can't consume 4 bytes of a 3 byte buffer!$"):
            r.consume(4)
        with pytest.raises(ValueError, match=r"^char: expected a single byte, not 'ab'$"):
            await r.char("ab")
        with pytest.raises(TypeError, match=r"^string: expected str or bytes, not int$"):
            await r.string(3)  # pyright: ignore[reportArgumentType] - checking the run-time check
        assert r.consumed_bytes() == 0
        assert await r.take(3) == b"abc"
        assert await r.at_end_of_input()

    run(main)


def test_error_messages_escape_like_ocaml(run: Runner) -> None:
    async def main() -> None:
        r = BufRead.of_string(b"\x00\n'\"\\")
        with pytest.raises(ParseError) as e1:
            await r.string('x"y')
        assert str(e1.value) == 'Expected "x\\"y" but got "\\000\\n\'"'
        with pytest.raises(ParseError) as e2:
            await r.char("'")
        assert str(e2.value) == "Expected '\\'' but got '\\000'"

    run(main)


def test_of_buffer_uses_the_data_as_is(run: Runner) -> None:
    async def main() -> None:
        data = bytearray(b"ab\r\ncd")
        r = BufRead.of_buffer(data)
        assert r.eof_seen()
        assert await r.line() == b"ab"
        assert bytes(r.peek()) == b"cd"
        with pytest.raises(TypeError):
            r.peek()[0] = 0  # the view is read-only
        assert await r.line() == b"cd"
        assert await r.at_end_of_input()

    run(main)


def test_a_source_returning_zero_is_reported(run: Runner) -> None:
    class Bad:
        async def single_read(self, buf: memoryview, /) -> int:
            return 0

    async def main() -> None:
        with pytest.raises(RuntimeError) as e:
            await BufRead.of_flow(Bad(), max_size=10).line()
        assert str(e.value) == (
            "Bad.single_read returned 0 for a 10-byte buffer "
            "(it must return 1..10, and raise eio.EndOfFile at the end of the input)"
        )

    run(main)


def test_bench_bufread_still_runs(run: Runner) -> None:
    """bench/bufread.py's eio and asyncio readers both read every line (no timing checked)."""
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench import _common, bufread

    chunks = bufread.make_input(5000)
    assert b"".join(chunks).count(b"\n") == 5000
    assert max(map(len, chunks)) == bufread.CHUNK
    for fn in (bufread.eio_line, bufread.eio_lines):
        assert fn(run, chunks, 5000).count == 5000
    run_asyncio = _common.asyncio_runner().run
    assert run_asyncio is not None
    for afn in (bufread.asyncio_readline, bufread.asyncio_iter):
        assert afn(run_asyncio, chunks, 5000).count == 5000
