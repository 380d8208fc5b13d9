"""Eio's tests/mocks.md: mock flows, a mock network, and the mock backend; plus the mock flow's options."""

from __future__ import annotations

import eio
import eio.net
import pytest
from conftest import Runner, Trace

import eio_mock
from eio_mock import Raise, Return, YieldThen


def test_flows_copy_close_shutdown(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        stdin = eio_mock.flow.make("stdin")
        stdout = eio_mock.flow.make("stdout")
        eio_mock.flow.on_read(stdin, [Return(b"chunk1"), Return(b"chunk2"), Raise(eio.EndOfFile())])
        await eio.flow.copy(stdin, stdout)
        await eio.flow.close(stdin)
        await eio.flow.shutdown(stdout, "send")

    run(main)
    assert trace.lines() == [
        "stdin: read b'chunk1'",
        "stdout: wrote b'chunk1'",
        "stdin: read b'chunk2'",
        "stdout: wrote b'chunk2'",
        "stdin: closed",
        "stdout: shutdown send",
    ]


async def echo_server(net: eio.net.Network, addr: eio.net.StreamAddr) -> None:
    async with eio.Switch.run() as sw:
        socket = await eio.net.listen(sw, net, addr, reuse_addr=True, backlog=5)

        async def handler(flow: eio.net.StreamSocket, _addr: eio.net.StreamAddr) -> None:
            await eio.flow.copy(flow, flow)

        def on_error(ex: Exception) -> None:
            eio.traceln(f"Error handling connection: {ex!r}")

        await eio.net.accept_fork(sw, socket, handler, on_error=on_error)


def test_network_echo_server(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        listening_socket = eio_mock.net.listening_socket("tcp/80")
        eio_mock.net.on_listen(net, [Return(listening_socket)])
        connection = eio_mock.flow.make("connection")
        addr = eio.net.Tcp(eio.net.LOOPBACK_V4, 37568)
        eio_mock.net.on_accept(listening_socket, [Return((connection, addr))])
        eio_mock.flow.on_read(connection, [Return(b"foo"), Return(b"bar")])
        await echo_server(net, eio.net.Tcp(eio.net.LOOPBACK_V4, 80))

    run(main)
    assert trace.lines() == [
        "mocknet: listen on tcp:127.0.0.1:80",
        "tcp/80: accepted connection from tcp:127.0.0.1:37568",
        "connection: read b'foo'",
        "connection: wrote b'foo'",
        "connection: read b'bar'",
        "connection: wrote b'bar'",
        "connection: closed",
        "tcp/80: closed",
    ]


def test_backend_forks_and_cancels(run: Runner, trace: Trace) -> None:
    class Exit(Exception):
        pass

    async def main() -> None:
        s = eio.Stream[int](1)

        async def sender() -> None:
            for x in range(1, 4):
                eio.traceln(f"Sending {x}")
                await s.add(x)
            raise Exit

        async def receiver() -> None:
            while True:
                eio.traceln(f"Got {await s.take()}")

        try:
            await eio.fiber.both(sender, receiver)
        except Exit:
            eio.traceln("Finished!")

    run(main)
    assert trace.lines() == ["Sending 1", "Sending 2", "Got 1", "Got 2", "Sending 3", "Got 3", "Finished!"]


def test_backend_detects_deadlock() -> None:
    async def main() -> None:
        p, _r = eio.Promise[None].create()
        await p

    with pytest.raises(eio_mock.DeadlockDetected):
        eio_mock.backend.run(main)


# -- beyond mocks.md: the mock flow's own options ------------------------------------


def test_reads_and_writes_are_traced_one_line_each(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = eio_mock.flow.make("flow")
        eio_mock.flow.on_read(flow, [YieldThen(Return(b"a\r\nb\n"))])
        buf = bytearray(10)
        n = await eio.flow.single_read(flow, buf)
        assert bytes(buf[:n]) == b"a\r\nb\n"
        await eio.flow.write(flow, [b"Hello", b"World"])
        await eio.flow.write(flow, [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"])
        with pytest.raises(eio.EndOfFile):
            await eio.flow.single_read(flow, buf)

    run(main)
    assert trace.lines() == [
        "flow: read b'a\\r\\nb\\n'",
        "flow: wrote [b'Hello', b'World']",
        "flow: wrote b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'",
    ]


def test_on_copy_bytes_limits_each_write(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(flow, [Return(3), Return(4), Return(100)])
        await eio.flow.write(flow, [b"Hello", b"World"])

    run(main)
    assert trace.lines() == ["flow: wrote b'Hel'", "flow: wrote [b'lo', b'Wo']", "flow: wrote b'rld'"]


def test_copy_via_buffer_reads_chunks_of_copy_bytes(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = eio_mock.flow.make("flow")
        eio_mock.flow.on_copy_bytes(flow, [Return(4)])
        await eio.flow.copy_string("Hello world", flow)

    run(main)
    assert trace.lines() == ["flow: wrote b'Hell'", "flow: wrote b'o world'"]


def test_copy_with_read_source_buffer(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = eio_mock.flow.make("flow")
        eio_mock.flow.set_copy_method(flow, "read_source_buffer")
        eio_mock.flow.on_copy_bytes(flow, [Return(5)])
        await eio.flow.copy_string("Hello world", flow)

    run(main)
    assert trace.lines() == ["flow: wrote (rsb) [b'Hello']", "flow: wrote (rsb) [b' world']"]


def test_copy_with_read_source_buffer_needs_a_source_that_offers_it(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        src = eio_mock.flow.make("src")
        dst = eio_mock.flow.make("dst")
        eio_mock.flow.set_copy_method(dst, "read_source_buffer")
        with pytest.raises(RuntimeError, match="^dst: the source does not offer read_source_buffer$"):
            await eio.flow.copy(src, dst)

    run(main)
    assert trace.lines() == []


def test_bad_copy_method() -> None:
    flow = eio_mock.flow.make("flow")
    with pytest.raises(ValueError, match="^set_copy_method: 'fast' is not 'read_into' or 'read_source_buffer'$"):
        eio_mock.flow.set_copy_method(flow, "fast")  # pyright: ignore[reportArgumentType] - the error under test


def test_read_buffer_too_short(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = eio_mock.flow.make("flow")
        eio_mock.flow.on_read(flow, [Return(b"too long")])
        with pytest.raises(RuntimeError, match=r"^flow: read buffer too short for b'too long'!$"):
            await eio.flow.single_read(flow, bytearray(3))

    run(main)
    assert trace.lines() == []


def test_custom_pp(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = eio_mock.flow.make("flow", pp=lambda b: b.decode())
        await eio.flow.copy_string("plain text", flow)

    run(main)
    assert trace.lines() == ["flow: wrote plain text"]


def test_close_before_switch_end_closes_once(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("net")
        flow = eio_mock.flow.make("flow")
        eio_mock.net.on_connect(net, [Return(flow)])
        async with eio.Switch.run() as sw:
            conn = await eio.net.connect(sw, net, eio.net.Unix("/sock"))
            await eio.flow.close(conn)
            eio.traceln("switch ending")

    run(main)
    assert trace.lines() == ["net: connect to unix:/sock", "flow: closed", "switch ending"]


def test_unconfigured_handlers_name_the_mock(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        sock = eio_mock.net.listening_socket("tcp/80")
        async with eio.Switch.run() as sw:
            with pytest.raises(eio_mock.NotConfigured, match="^mocknet: connect: "):
                await eio.net.connect(sw, net, eio.net.Tcp("127.0.0.1", 80))
            with pytest.raises(eio_mock.NotConfigured, match="^mocknet: listen: "):
                await eio.net.listen(sw, net, eio.net.Tcp("127.0.0.1", 80))
            with pytest.raises(eio_mock.NotConfigured, match="^mocknet: getaddrinfo: "):
                await eio.net.getaddrinfo(net, "example.com")
            with pytest.raises(eio_mock.NotConfigured, match="^mocknet: getnameinfo: "):
                await eio.net.getnameinfo(net, eio.net.Tcp("127.0.0.1", 80))
            with pytest.raises(eio_mock.NotConfigured, match="^mocknet: datagram_socket: "):
                await eio.net.datagram_socket(sw, net, "udpv6")
            with pytest.raises(eio_mock.NotConfigured, match="^tcp/80: accept: "):
                await eio.net.accept(sw, sock)

    run(main)
    assert trace.lines() == [
        "mocknet: connect to tcp:127.0.0.1:80",
        "mocknet: listen on tcp:127.0.0.1:80",
        "mocknet: getaddrinfo example.com service=''",
        "mocknet: getnameinfo tcp:127.0.0.1:80",
        "mocknet: datagram_socket UDPv6",
    ]
