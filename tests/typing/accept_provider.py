"""Pyright must accept this file: user classes with just the minimum methods are flows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_type

import eio


class Zero:
    """A source with nothing but ``single_read`` (a user-written provider)."""

    async def single_read(self, buf: memoryview, /) -> int:
        buf[:] = bytes(len(buf))
        return len(buf)


class Counter:
    """A sink with nothing but ``single_write``; its parameter need not be positional-only."""

    def __init__(self) -> None:
        self.total = 0

    async def single_write(self, bufs: Sequence[bytes | memoryview]) -> int:
        n = sum(len(b) for b in bufs)
        self.total += n
        return n


class Pipe(Zero, Counter):
    """A two-way flow: a source, a sink and a shutdown."""

    async def shutdown(self, how: eio.flow.ShutdownCommand, /) -> None:
        pass


def needs_source(src: eio.flow.Source) -> eio.flow.Source:
    return src


def needs_sink(dst: eio.flow.Sink) -> eio.flow.Sink:
    return dst


def needs_two_way(flow: eio.flow.TwoWay) -> eio.flow.TwoWay:
    return flow


async def main() -> None:
    needs_source(Zero())
    needs_sink(Counter())
    needs_two_way(Pipe())
    needs_source(eio.flow.null)
    needs_sink(eio.flow.null)
    r = eio.BufRead.of_flow(Zero(), max_size=100)
    assert_type(await r.take(4), bytes)
    assert_type(await r.peek_char(), bytes | None)
    needs_source(r.as_flow())
    await eio.flow.copy(Zero(), Counter())
    await eio.flow.copy_string("hello", Pipe())
    await eio.flow.shutdown(Pipe(), "send")
    line = await eio.buf_read.parse(eio.BufRead.line, eio.flow.string_source("x\n"), max_size=10)
    assert_type(line, bytes)
    async for item in r.seq(eio.BufRead.be_uint32):
        assert_type(item, int)
