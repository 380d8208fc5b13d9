"""Properties of `eio.BufWrite`: whatever is written arrives, exactly once, in order.

Any sequence of writes (strings, bytes, characters, numbers, scheduled
buffers), flushes, pauses and yields delivers exactly the bytes written,
through a sink that takes a random number of bytes each time (and sometimes
yields first). After each `flush`, the sink has everything written so far.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

import eio
from conftest import Runner
from eio.buf_write import BufWrite
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# One operation: (name, argument). The expected bytes are computed independently of BufWrite.
Op = tuple[str, object]

_NUMBERS: dict[str, tuple[str, int, int]] = {
    # name: (struct format, min, max)
    "uint8": ("B", 0, 2**8 - 1),
    "int8": ("b", -(2**7), 2**7 - 1),
    "be_uint16": (">H", 0, 2**16 - 1),
    "le_int16": ("<h", -(2**15), 2**15 - 1),
    "be_uint32": (">I", 0, 2**32 - 1),
    "le_int32": ("<i", -(2**31), 2**31 - 1),
    "be_uint64": (">Q", 0, 2**64 - 1),
    "le_int64": ("<q", -(2**63), 2**63 - 1),
}

ops_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("string"), st.text(max_size=20)),
        st.tuples(st.just("bytes"), st.binary(max_size=40)),
        st.tuples(st.just("schedule"), st.binary(max_size=40)),
        st.tuples(st.just("char"), st.characters(exclude_categories=("Cs",))),  # no lone surrogates: not UTF-8
        st.tuples(st.just("double"), st.floats(allow_nan=False)),
        st.sampled_from(list(_NUMBERS)).flatmap(
            lambda name: st.tuples(st.just(name), st.integers(_NUMBERS[name][1], _NUMBERS[name][2]))
        ),
        st.tuples(st.sampled_from(["flush", "yield", "pause", "unpause"]), st.none()),
    ),
    max_size=40,
)


def apply(w: BufWrite, op: Op) -> bytes:
    """Do the write ``op`` on ``w``; return the bytes it should add (b"" for control operations)."""
    name, arg = op
    if name == "string":
        assert isinstance(arg, str)
        w.string(arg)
        return arg.encode()
    if name == "bytes":
        assert isinstance(arg, bytes)
        w.bytes(arg)
        return arg
    if name == "schedule":
        assert isinstance(arg, bytes)
        w.schedule_bytes(arg)
        return arg
    if name == "char":
        assert isinstance(arg, str)
        w.char(arg)
        return arg.encode()
    if name == "double":
        assert isinstance(arg, float)
        w.be_double(arg)
        return struct.pack(">d", arg)
    if name in _NUMBERS:
        assert isinstance(arg, int)
        getattr(w, name)(arg)
        return struct.pack(_NUMBERS[name][0], arg)
    if name == "pause":
        w.pause()
    elif name == "unpause":
        w.unpause()
    return b""


class ShortWriter:
    """A sink that takes a random number of bytes (at least one) and sometimes yields first."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.received = bytearray()
        self.calls = 0

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        total = sum(len(b) for b in bufs)
        assert total > 0, "the writer never asks for an empty write"
        self.calls += 1
        if self.rng.random() < 0.3:
            await eio.fiber.yield_()
        n = self.rng.randint(1, total)
        self.received += b"".join(bytes(b) for b in bufs)[:n]
        return n


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=ops_strategy, initial_size=st.integers(0, 64), rng=st.randoms(use_true_random=False))
def test_with_flow_delivers_everything_in_order(run: Runner, ops: list[Op], initial_size: int, rng: random.Random) -> None:
    sink = ShortWriter(rng)
    expected = bytearray()

    async def main() -> None:
        async with BufWrite.with_flow(sink, initial_size=initial_size) as w:
            for op in ops:
                if op[0] == "flush":
                    await w.flush()
                    assert bytes(sink.received) == bytes(expected)
                elif op[0] == "yield":
                    await eio.fiber.yield_()
                else:
                    expected.extend(apply(w, op))

    run(main)
    assert bytes(sink.received) == bytes(expected)


@settings(max_examples=150, deadline=None)
@given(ops=ops_strategy, initial_size=st.integers(0, 64))
def test_serialize_to_bytes_gives_everything_in_order(ops: list[Op], initial_size: int) -> None:
    w = BufWrite.create(initial_size)
    expected = bytearray()
    for op in ops:
        if op[0] not in ("flush", "yield"):
            expected.extend(apply(w, op))
    assert w.serialize_to_bytes() == bytes(expected)
    assert not w.has_pending_output()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=ops_strategy, initial_size=st.integers(0, 64), rng=st.randoms(use_true_random=False))
def test_batches_and_partial_shifts_account_for_every_byte(
    run: Runner, ops: list[Op], initial_size: int, rng: random.Random
) -> None:
    # Driving the writer by hand: the pending count always matches what is
    # left to take, and the buffers handed out are exactly the unwritten tail.
    w = BufWrite.create(initial_size)
    expected = bytearray()
    taken = bytearray()

    async def take_some() -> None:
        w.unpause()
        bufs = await w.await_batch()
        data = b"".join(bytes(b) for b in bufs)
        assert data == bytes(expected[len(taken) :])
        n = rng.randint(1, len(data))
        taken.extend(data[:n])
        w.shift(n)

    async def main() -> None:
        for op in ops:
            if op[0] in ("flush", "yield"):
                if w.has_pending_output():
                    await take_some()
            else:
                expected.extend(apply(w, op))
            assert w.pending_bytes() == len(expected) - len(taken)
        w.close()
        while bufs := await w.await_batch():
            data = b"".join(bytes(b) for b in bufs)
            taken.extend(data)
            w.shift(len(data))

    run(main)
    assert bytes(taken) == bytes(expected)
