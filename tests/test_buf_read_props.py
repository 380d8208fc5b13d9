"""Property tests for `eio.BufRead`: however the input is split into reads, parsing gives the
same result as a simple model, and the reader never holds more than ``max_size`` bytes."""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable

import eio
import pytest
from conftest import Runner
from eio.buf_read import BufferLimitExceeded, BufRead
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The `run` fixture is stateless, so sharing it between examples is safe.
props = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=150)

chunk_sizes = st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=30)
text = st.binary(max_size=200) | st.lists(st.sampled_from([b"a", b"b", b"\r", b"\n", b"\r\n", b"0", b"9"])).map(b"".join)


class SplitSource:
    """Gives ``data`` in reads of the chosen sizes (cycling), checking the reader's bound at each read."""

    def __init__(self, data: bytes, sizes: list[int], max_size: int) -> None:
        self.data = data
        self.pos = 0
        self.sizes = sizes
        self.i = 0
        self.max_size = max_size
        self.reader: BufRead | None = None
        self.reads = 0

    async def single_read(self, buf: memoryview, /) -> int:
        if self.reader is not None:
            # What is buffered plus the room offered for this read: all the reader can hold.
            assert self.reader.buffered_bytes() + len(buf) <= self.max_size
        if self.pos == len(self.data):
            raise eio.EndOfFile
        size = self.sizes[self.i % len(self.sizes)]
        self.i += 1
        n = min(len(buf), size, len(self.data) - self.pos)
        buf[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        self.reads += 1
        return n


def reader(data: bytes, sizes: list[int], max_size: int, initial_size: int | None = None) -> BufRead:
    src = SplitSource(data, sizes, max_size)
    r = BufRead.of_flow(src, max_size=max_size, initial_size=initial_size)
    src.reader = r
    return r


def model_lines(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    rest = data
    while rest:
        i = rest.find(b"\n")
        if i < 0:
            out.append(rest)
            break
        line = rest[:i]
        out.append(line[:-1] if line.endswith(b"\r") else line)
        rest = rest[i + 1 :]
    return out


async def outcome(fn: Callable[[], Awaitable[object]]) -> object:
    """The value, or the type of the error."""
    try:
        return await fn()
    except (eio.EndOfFile, BufferLimitExceeded) as ex:
        return type(ex)


@props
@given(data=text, sizes=chunk_sizes, initial=st.integers(min_value=1, max_value=300))
def test_lines_any_split(run: Runner, data: bytes, sizes: list[int], initial: int) -> None:
    async def main() -> list[bytes]:
        r = reader(data, sizes, max_size=len(data) + 2, initial_size=initial)
        return [line async for line in r.lines()]

    assert run(main) == model_lines(data)


def model_line_limited(rest: bytes, max_size: int) -> object:
    """What one `line` gives with this limit: a newline at index i needs i + 1 bytes buffered;
    a last line without one needs one more byte than it has, to see the end."""
    if not rest:
        return eio.EndOfFile
    i = rest.find(b"\n")
    need = i + 1 if i >= 0 else len(rest) + 1
    if need > max_size:
        return BufferLimitExceeded
    return model_lines(rest)[0]


@props
@given(data=text, sizes=chunk_sizes, max_size=st.integers(min_value=1, max_value=40))
def test_line_with_a_limit(run: Runner, data: bytes, sizes: list[int], max_size: int) -> None:
    async def main() -> None:
        r = reader(data, sizes, max_size)
        rest = data
        while True:
            expected = model_line_limited(rest, max_size)
            got = await outcome(r.line)
            assert got == expected
            if not isinstance(got, bytes):
                return
            nl = rest.find(b"\n")
            rest = rest[nl + 1 :] if nl >= 0 else b""

    run(main)


@props
@given(data=st.binary(max_size=120), sizes=chunk_sizes, takes=st.lists(st.integers(min_value=0, max_value=30)))
def test_take_any_split(run: Runner, data: bytes, sizes: list[int], takes: list[int]) -> None:
    async def main() -> None:
        r = reader(data, sizes, max_size=31)
        pos = 0
        for n in takes:
            if pos + n > len(data):
                with pytest.raises(eio.EndOfFile):
                    await r.take(n)
                return
            assert await r.take(n) == data[pos : pos + n]
            pos += n
            assert r.consumed_bytes() == pos
        if len(data) - pos + 1 > 31:
            # As in Eio, take_all needs room for one byte more than the rest,
            # to see the end of the input; it must not hold more than max_size.
            with pytest.raises(eio.buf_read.BufferLimitExceeded):
                await r.take_all()
        else:
            assert await r.take_all() == data[pos:]

    run(main)


@props
@given(data=text, sizes=chunk_sizes)
def test_take_while_and_skip_while_any_split(run: Runner, data: bytes, sizes: list[int]) -> None:
    def model() -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        i = 0
        while i < len(data):
            j = i
            while j < len(data) and data[j : j + 1].isalpha():
                j += 1
            out.append(("word", data[i:j]))
            i = j
            while i < len(data) and not data[i : i + 1].isalpha():
                i += 1
        return out

    async def main() -> list[tuple[str, bytes]]:
        r = reader(data, sizes, max_size=len(data) + 1)
        out: list[tuple[str, bytes]] = []
        while not await r.at_end_of_input():
            out.append(("word", await r.take_while(bytes.isalpha)))
            await r.skip_while(lambda c: not c.isalpha())
        return out

    assert run(main) == model()


INT_PARSERS: list[tuple[Callable[[BufRead], Awaitable[float]], str]] = [
    (BufRead.uint8, ">B"),
    (BufRead.int8, ">b"),
    (BufRead.be_uint16, ">H"),
    (BufRead.be_int16, ">h"),
    (BufRead.le_uint16, "<H"),
    (BufRead.le_int16, "<h"),
    (BufRead.be_uint32, ">I"),
    (BufRead.be_int32, ">i"),
    (BufRead.le_uint32, "<I"),
    (BufRead.le_int32, "<i"),
    (BufRead.be_uint64, ">Q"),
    (BufRead.be_int64, ">q"),
    (BufRead.le_uint64, "<Q"),
    (BufRead.le_int64, "<q"),
    (BufRead.be_uint48, ">6"),
    (BufRead.le_uint48, "<6"),
]


def model_int(fmt: str, raw: bytes) -> int:
    if fmt[1] == "6":
        return int.from_bytes(raw, "big" if fmt[0] == ">" else "little")
    return struct.unpack(fmt, raw)[0]


@props
@given(
    data=st.binary(min_size=0, max_size=100),
    sizes=chunk_sizes,
    picks=st.lists(st.integers(min_value=0, max_value=len(INT_PARSERS) - 1), max_size=20),
)
def test_integers_any_split(run: Runner, data: bytes, sizes: list[int], picks: list[int]) -> None:
    async def main() -> None:
        r = reader(data, sizes, max_size=8)
        pos = 0
        for k in picks:
            parser, fmt = INT_PARSERS[k]
            width = 6 if fmt[1] == "6" else struct.calcsize(fmt)
            if pos + width > len(data):
                with pytest.raises(eio.EndOfFile):
                    await parser(r)
                return
            assert await parser(r) == model_int(fmt, data[pos : pos + width])
            pos += width

    run(main)


class Forever:
    """A hostile peer: it sends ``x`` for as long as anyone reads, and checks the reader's bound."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.reader: BufRead | None = None
        self.sent = 0

    async def single_read(self, buf: memoryview, /) -> int:
        assert self.reader is not None
        assert self.reader.buffered_bytes() + len(buf) <= self.max_size
        buf[:] = b"x" * len(buf)
        self.sent += len(buf)
        return len(buf)


@props
@given(
    max_size=st.integers(min_value=1, max_value=5000),
    initial=st.none() | st.integers(min_value=1, max_value=10000),
    op=st.sampled_from(["line", "take_all", "take_while", "string", "ensure"]),
)
def test_a_peer_that_sends_forever_is_bounded(run: Runner, max_size: int, initial: int | None, op: str) -> None:
    async def main() -> None:
        src = Forever(max_size)
        r = BufRead.of_flow(src, max_size=max_size, initial_size=initial)
        src.reader = r
        with pytest.raises(BufferLimitExceeded):
            match op:
                case "line":
                    await r.line()
                case "take_all":
                    await r.take_all()
                case "take_while":
                    await r.take_while(lambda c: c == b"x")
                case "string":
                    await r.string(b"x" * (max_size + 1))
                case _:
                    await r.ensure(max_size + 1)
        assert r.buffered_bytes() <= max_size
        assert src.sent <= max_size
        # Skipping is not limited by the buffer: it consumes as it goes.
        await r.skip(3 * max_size)
        assert r.consumed_bytes() == 3 * max_size

    run(main)
