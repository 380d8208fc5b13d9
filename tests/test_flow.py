"""`eio.flow`: the backend-independent cases of Eio's tests/flow.md, and the provider contract."""

from __future__ import annotations

from collections.abc import Sequence

import eio
import eio_mock.flow
import pytest
from conftest import Runner, Trace
from eio import flow

import eio_mock


class ChunkSource:
    """A source giving its chunks, at most one per read (Eio's ``mock_source`` in flow.md)."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self.chunks = list(chunks)

    async def single_read(self, buf: memoryview, /) -> int:
        if not self.chunks:
            raise eio.EndOfFile
        x = self.chunks[0]
        n = min(len(buf), len(x))
        buf[:n] = x[:n]
        if n == len(x):
            del self.chunks[0]
        else:
            self.chunks[0] = x[n:]
        return n


class RecordingSink:
    """A sink that takes at most ``limits[i]`` bytes on its i-th write and records what it was given."""

    def __init__(self, limits: Sequence[int] = ()) -> None:
        self.limits = list(limits)
        self.calls: list[list[bytes]] = []
        self.kinds: set[type] = set()
        self.data = bytearray()

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        self.calls.append([bytes(b) for b in bufs])
        self.kinds.update(type(b) for b in bufs)
        joined = b"".join(bytes(b) for b in bufs)
        n = min(len(joined), self.limits.pop(0)) if self.limits else len(joined)
        self.data += joined[:n]
        return n


def test_read_exact(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        for n in (0, 3, 5, 6, 7):
            buf = bytearray(n)
            await flow.read_exact(ChunkSource([b"foo", b"bar"]), buf)
            eio.traceln(f"Got {bytes(buf)!r}")

    with pytest.raises(eio.EndOfFile):
        run(main)
    assert trace.lines() == ["Got b''", "Got b'foo'", "Got b'fooba'", "Got b'foobar'"]


def test_copy_uses_the_sinks_own_copy(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        src = eio_mock.flow.make("src")
        dst = eio_mock.flow.make("dst")
        eio_mock.flow.on_read(src, [eio_mock.Return(b"foo"), eio_mock.Return(b"bar")])
        await flow.copy(src, dst)

    run(main)
    assert trace.lines() == ["src: read b'foo'", "dst: wrote b'foo'", "src: read b'bar'", "dst: wrote b'bar'"]


def test_copy_from_a_string_source(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        dst = eio_mock.flow.make("dst")
        eio_mock.flow.on_copy_bytes(dst, [eio_mock.Return(3), eio_mock.Return(5)])
        await flow.copy(flow.string_source("foobar"), dst)

    run(main)
    assert trace.lines() == ["dst: wrote b'foo'", "dst: wrote b'bar'"]


def test_copy_using_read_source_buffer(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        dst = eio_mock.flow.make("dst")
        eio_mock.flow.set_copy_method(dst, "read_source_buffer")
        eio_mock.flow.on_copy_bytes(dst, [eio_mock.Return(3), eio_mock.Return(5)])
        await flow.copy(flow.string_source(b"foobar"), dst)

    run(main)
    assert trace.lines() == ["dst: wrote (rsb) [b'foo']", "dst: wrote (rsb) [b'bar']"]


def test_read_all(run: Runner, trace: Trace) -> None:
    each = bytes(range(256))
    data = [each] * 40

    async def main() -> None:
        got = await flow.read_all(ChunkSource(data))
        eio.traceln(f"Input length: {sum(map(len, data))}\nOutput length: {len(got)}\nEqual: {got == b''.join(data)}")

    run(main)
    assert trace.lines() == ["Input length: 10240", "Output length: 10240", "Equal: True"]


def test_write(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        dst = eio_mock.flow.make("dst")
        eio_mock.flow.on_copy_bytes(dst, [eio_mock.Return(6)])
        await flow.write(dst, [b"foobar"])

    run(main)
    assert trace.lines() == ["dst: wrote b'foobar'"]


def test_null_flow(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        eio.traceln(f"Read flow.null: {await flow.read_all(flow.null)!r}")
        await flow.copy_string("hello", flow.null)
        assert await flow.single_write(flow.null, [b"abc", memoryview(b"de")]) == 5

    run(main)
    assert trace.lines() == ["Read flow.null: b''"]


# The provider contract and the Python-specific parts.


def test_write_resumes_after_partial_writes(run: Runner) -> None:
    sink = RecordingSink([2, 2, 1, 10])

    async def main() -> None:
        await flow.write(sink, [b"abc", b"", bytearray(b"de"), memoryview(b"fgh")])

    run(main)
    assert sink.calls == [[b"abc", b"de", b"fgh"], [b"c", b"de", b"fgh"], [b"e", b"fgh"], [b"fgh"]]
    assert sink.data == b"abcdefgh"


def test_write_of_nothing_does_not_call_the_sink(run: Runner) -> None:
    sink = RecordingSink()

    async def main() -> None:
        await flow.write(sink, [])
        await flow.write(sink, [b"", bytearray()])

    run(main)
    assert sink.calls == []


def test_a_sink_that_writes_nothing_is_an_error(run: Runner) -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError) as e:
            await flow.write(RecordingSink([0]), [b"abc"])
        assert str(e.value) == "RecordingSink.single_write returned 0 for 3 bytes (it must return 1..3)"

    run(main)


def test_single_read(run: Runner) -> None:
    class TooMuch:
        async def single_read(self, buf: memoryview, /) -> int:
            return len(buf) + 1

    async def main() -> None:
        src = flow.string_source("hello")
        buf = bytearray(3)
        assert await flow.single_read(src, buf) == 3
        assert buf == b"hel"
        view = memoryview(bytearray(10))
        assert await flow.single_read(src, view) == 2
        assert bytes(view[:2]) == b"lo"
        with pytest.raises(eio.EndOfFile):
            await flow.single_read(src, buf)
        with pytest.raises(ValueError, match=r"^single_read: the buffer is empty"):
            await flow.single_read(src, bytearray())
        with pytest.raises(TypeError, match=r"^single_read: the buffer is read-only$"):
            await flow.single_read(src, memoryview(b"abc"))
        with pytest.raises(RuntimeError, match=r"^TooMuch.single_read returned 5 for a 4-byte buffer"):
            await flow.single_read(TooMuch(), bytearray(4))

    run(main)


def test_end_of_file_is_an_eof_error() -> None:
    assert issubclass(eio.EndOfFile, EOFError)
    assert eio.flow.EndOfFile is eio.EndOfFile


def test_copy_without_fast_paths_reads_into_a_buffer(run: Runner) -> None:
    out = bytearray()
    data = bytes(range(256)) * 1000

    async def main() -> None:
        await flow.copy(ChunkSource([data[:100], data[100:]]), flow.buffer_sink(out))

    run(main)
    assert out == data


def test_copy_lends_the_sources_buffer(run: Runner) -> None:
    sink = RecordingSink([4, 100])

    async def main() -> None:
        await flow.copy(flow.string_source("hello world"), sink)

    run(main)
    assert sink.calls == [[b"hello world"], [b"o world"]]
    assert sink.kinds == {memoryview}
    assert sink.data == b"hello world"


def test_copy_string_encodes_str_as_utf8(run: Runner) -> None:
    out = bytearray(b">")

    async def main() -> None:
        await flow.copy_string("héllo", flow.buffer_sink(out))
        await flow.copy_string(b"!", flow.buffer_sink(out))

    run(main)
    assert out == b">h\xc3\xa9llo!"


def test_string_source_copies_mutable_data(run: Runner) -> None:
    data = bytearray(b"abc")
    src = flow.string_source(data)
    data[0] = ord("x")

    async def main() -> bytes:
        return await flow.read_all(src)

    assert run(main) == b"abc"


def test_buffer_sink_needs_a_bytearray() -> None:
    with pytest.raises(TypeError, match=r"^buffer_sink needs a bytearray, not bytes$"):
        flow.buffer_sink(b"")  # pyright: ignore[reportArgumentType] - checking the run-time check


def test_shutdown_and_close(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        f = eio_mock.flow.make("flow")
        await flow.shutdown(f, "send")
        await flow.shutdown(f, "receive")
        await flow.shutdown(f, "all")
        with pytest.raises(ValueError, match=r"^shutdown: 'both' is not one of 'receive', 'send', 'all'$"):
            await flow.shutdown(f, "both")  # pyright: ignore[reportArgumentType] - checking the run-time check
        await flow.close(f)

    run(main)
    assert trace.lines() == ["flow: shutdown send", "flow: shutdown receive", "flow: shutdown all", "flow: closed"]


def test_copy_through_a_buffered_reader(run: Runner) -> None:
    sink = RecordingSink()

    async def main() -> None:
        r = eio.BufRead.of_flow(ChunkSource([b"head\nbody", b" more"]), max_size=100)
        assert await r.line() == b"head"
        await flow.copy(r.as_flow(), sink)

    run(main)
    assert sink.calls == [[b"body"], [b" more"]]
    assert sink.kinds == {memoryview}
