"""Eio's README section "Buffered Writing", in Python.

Sending an HTTP response with three unbuffered writes gives the socket three
writes; wrapping the socket in `eio.BufWrite` combines the writes made before
the fiber yields into one.
"""

from __future__ import annotations

import eio
from conftest import Runner, Trace

import eio_mock


async def send_response_unbuffered(socket: eio.flow.Sink) -> None:
    """The README's first ``send_response``: every write goes straight to the socket."""
    await eio.flow.copy_string("HTTP/1.1 200 OK\r\n", socket)
    await eio.flow.copy_string("\r\n", socket)
    await eio.fiber.yield_()  # simulate delayed generation of the body
    await eio.flow.copy_string("Body data", socket)


async def send_response(socket: eio.flow.Sink) -> None:
    """The README's buffered ``send_response``."""
    async with eio.BufWrite.with_flow(socket) as w:
        w.string("HTTP/1.1 200 OK\r\n")
        w.string("\r\n")
        await eio.fiber.yield_()  # simulate delayed generation of the body
        w.string("Body data")


def test_without_buffering_the_socket_gets_three_writes(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        await send_response_unbuffered(eio_mock.flow.make("socket"))

    run(main)
    assert trace.lines() == [
        "socket: wrote b'HTTP/1.1 200 OK\\r\\n'",
        "socket: wrote b'\\r\\n'",
        "socket: wrote b'Body data'",
    ]


def test_with_buf_write_the_first_two_writes_are_combined(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        await send_response(eio_mock.flow.make("socket"))

    run(main)
    assert trace.lines() == [
        "socket: wrote b'HTTP/1.1 200 OK\\r\\n\\r\\n'",
        "socket: wrote b'Body data'",
    ]
