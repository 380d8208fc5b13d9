"""Eio's README sections "Buffered Reading and Parsing" and "Provider Interfaces", in Python."""

from __future__ import annotations

from dataclasses import dataclass

import eio
import pytest
from conftest import Runner, Trace


async def cli(stdin: eio.flow.Source, stdout: eio.flow.Sink) -> None:
    """Read commands from ``stdin`` one line at a time and answer on ``stdout``."""
    buf = eio.BufRead.of_flow(stdin, initial_size=100, max_size=1_000_000)
    while True:
        line = (await buf.line()).decode()
        eio.traceln(f"> {line}")
        match line:
            case "h" | "help":
                await eio.flow.copy_string("It's just an example\n", stdout)
            case x:
                await eio.flow.copy_string(f'Unknown command "{x}"\n', stdout)


def test_cli_reads_one_line_at_a_time(run: Runner, trace: Trace) -> None:
    out = bytearray()

    async def main() -> None:
        await cli(eio.flow.string_source("help\nexit\nquit\nbye\nstop\n"), eio.flow.buffer_sink(out))

    with pytest.raises(eio.EndOfFile):
        run(main)
    assert trace.lines() == ["> help", "> exit", "> quit", "> bye", "> stop"]
    assert out.decode().splitlines() == [
        "It's just an example",
        'Unknown command "exit"',
        'Unknown command "quit"',
        'Unknown command "bye"',
        'Unknown command "stop"',
    ]


def test_a_hostile_line_is_refused_not_buffered(run: Runner) -> None:
    async def main() -> None:
        r = eio.BufRead.of_flow(eio.flow.string_source(b"x" * 200 + b"\n"), initial_size=10, max_size=100)
        with pytest.raises(eio.buf_read.BufferLimitExceeded):
            await r.line()
        assert r.buffered_bytes() == 100

    run(main)


@dataclass
class Message:
    src: str
    body: str


async def message(r: eio.BufRead) -> Message:
    """``FROM:<src>\\n`` followed by the body."""
    await r.string("FROM:")
    src = await r.line()
    body = await r.take_all()
    return Message(src.decode(), body.decode())


def test_parsers_combine(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = eio.flow.string_source("FROM:Alice\nHello!\n")
        try:
            m = await eio.buf_read.parse(message, flow, max_size=1024)
        except eio.buf_read.ParseError as err:
            eio.traceln(f"Parse failed: {err}")
        else:
            eio.traceln(f"{m.src} sent {m.body!r}")

    run(main)
    assert trace.lines() == ["Alice sent 'Hello!\\n'"]


def test_parse_failure_message(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        try:
            await eio.buf_read.parse(message, eio.flow.string_source("TO:Bob\n"), max_size=1024)
        except eio.buf_read.ParseError as err:
            eio.traceln(f"Parse failed: {err}")

    run(main)
    assert trace.lines() == ['Parse failed: Expected "FROM:" but got "TO:Bo" (at offset 0)']


class Zero:
    """A flow giving an endless stream of zeros (like ``/dev/zero``): just ``single_read``."""

    async def single_read(self, buf: memoryview, /) -> int:
        buf[:] = bytes(len(buf))
        return len(buf)


def test_provider_interface_zero(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        r = eio.BufRead.of_flow(Zero(), max_size=100)
        eio.traceln(f"Got: {await r.take(4)!r}")

    run(main)
    assert trace.lines() == ["Got: b'\\x00\\x00\\x00\\x00'"]


def test_zero_is_a_flow_for_every_flow_function(run: Runner) -> None:
    async def main() -> None:
        buf = bytearray(b"\xff" * 10)
        await eio.flow.read_exact(Zero(), buf)
        assert buf == bytes(10)
        r = eio.BufRead.of_flow(Zero(), max_size=100)
        with pytest.raises(eio.buf_read.BufferLimitExceeded):
            await r.take_all()

    run(main)
