"""Eio's README, sections "Testing with Mocks", "Networking" (the mock parts) and "Error Handling"."""

from __future__ import annotations

import eio
import eio.net
import pytest
from conftest import Runner, Trace

import eio_mock
from eio_mock import Raise, Return, Run, YieldThen

# -- Testing with Mocks --------------------------------------------------------------------


async def main_hello(out: eio.flow.Sink) -> None:
    await eio.flow.copy_string("Hello, world!\n", out)


def test_main_writes_to_a_buffer(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        buffer = bytearray()
        await main_hello(eio.flow.buffer_sink(buffer))
        eio.traceln(f"Main would print {bytes(buffer)!r}")

    run(main)
    assert trace.lines() == ["Main would print b'Hello, world!\\n'"]


def test_main_writes_to_a_mock_flow(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        await main_hello(eio_mock.flow.make("mock-stdout"))

    run(main)
    assert trace.lines() == ["mock-stdout: wrote b'Hello, world!\\n'"]


# -- Networking ------------------------------------------------------------------------------


async def handle_client(flow: eio.net.StreamSocket, _addr: eio.net.StreamAddr) -> None:
    eio.traceln("Server: got connection from client")
    await eio.flow.copy_string("Hello from server", flow)


def test_handle_client_with_a_mock_flow(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = eio_mock.flow.make("flow")
        addr = eio.net.Tcp(eio.net.LOOPBACK_V4, 37568)
        await handle_client(flow, addr)

    run(main)
    assert trace.lines() == ["Server: got connection from client", "flow: wrote b'Hello from server'"]


async def run_client(net: eio.net.Network, addr: eio.net.StreamAddr) -> None:
    async with eio.Switch.run(name="client") as sw:
        eio.traceln("Client: connecting to server")
        flow = await eio.net.connect(sw, net, addr)
        # Read all data until end-of-stream (shutdown):
        eio.traceln(f"Client: received {await eio.flow.read_all(flow)!r}")


def test_run_client_with_a_mock_network(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        flow = eio_mock.flow.make("flow")
        eio_mock.net.on_connect(net, [Return(flow)])
        eio_mock.flow.on_read(
            flow,
            [Return(b"(packet 1)"), YieldThen(Return(b"(packet 2)")), Raise(eio.EndOfFile())],
        )
        addr = eio.net.Tcp(eio.net.LOOPBACK_V4, 8080)
        await run_client(net, addr)

    run(main)
    assert trace.lines() == [
        "Client: connecting to server",
        "mocknet: connect to tcp:127.0.0.1:8080",
        "flow: read b'(packet 1)'",
        "flow: read b'(packet 2)'",
        "Client: received b'(packet 1)(packet 2)'",
        "flow: closed",
    ]


async def run_server(socket: eio.net.ListeningSocket) -> None:
    def on_error(ex: Exception) -> None:
        eio.traceln(f"Error handling connection: {ex!r}")

    await eio.net.run_server(socket, handle_client, on_error=on_error)


def test_client_and_server_over_a_mock_network(run: Runner, trace: Trace) -> None:
    # The README runs this over the real network; here the mock network links them.
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        server_side = eio_mock.flow.make("server-side")
        client_side = eio_mock.flow.make("client-side")
        listening = eio_mock.net.listening_socket("tcp/8080")
        eio_mock.net.on_listen(net, [Return(listening)])
        eio_mock.net.on_connect(net, [Return(client_side)])
        eio_mock.net.on_accept(
            listening,
            [Return((server_side, eio.net.Tcp(eio.net.LOOPBACK_V4, 37568))), Run(eio.fiber.await_cancel)],
        )
        eio_mock.flow.on_read(client_side, [YieldThen(Return(b"Hello from server")), Raise(eio.EndOfFile())])
        addr = eio.net.Tcp(eio.net.LOOPBACK_V4, 8080)
        async with eio.Switch.run(name="main") as sw:
            server = await eio.net.listen(sw, net, addr, reuse_addr=True, backlog=5)

            async def serve() -> None:
                await run_server(server)

            eio.fiber.fork_daemon(sw, serve)
            await run_client(net, addr)

    run(main)
    assert trace.lines() == [
        "mocknet: listen on tcp:127.0.0.1:8080",
        "tcp/8080: accepted connection from tcp:127.0.0.1:37568",
        "Server: got connection from client",
        "server-side: wrote b'Hello from server'",
        "server-side: closed",
        "Client: connecting to server",
        "mocknet: connect to tcp:127.0.0.1:8080",
        "client-side: read b'Hello from server'",
        "Client: received b'Hello from server'",
        "client-side: closed",
        "tcp/8080: closed",
    ]


# -- Error Handling ------------------------------------------------------------------------------


async def classify(r: eio.BufRead) -> str:
    try:
        return (await r.line()).decode()
    except eio.net.ConnectionReset:
        return "Connection reset"
    except eio.net.NetError:
        return "Some network error"
    except eio.Io:
        return "Some I/O error"


def test_matching_classes_of_errors(run: Runner, trace: Trace) -> None:
    async def main() -> list[str]:
        flow = eio_mock.flow.make("flow")
        eio_mock.flow.on_read(
            flow,
            [
                Raise(eio.net.ConnectionReset("reset")),
                Raise(eio.net.ConnectionFailure("refused")),
                Raise(eio.Io("disk on fire")),
                Return(b"fine\n"),
            ],
        )
        return [await classify(eio.BufRead.of_flow(flow, max_size=100)) for _ in range(4)]

    assert run(main) == ["Connection reset", "Some network error", "Some I/O error", "fine"]
    assert trace.lines() == ["flow: read b'fine\\n'"]


async def get(net: eio.net.Network, host: str, path: str) -> str:
    async def fetch(_flow: eio.net.StreamSocket) -> str:
        return "..."

    try:
        return await eio.net.with_tcp_connect(net, host, "http", fetch)
    except eio.Io as ex:
        ex.add_note(f"fetching http://{host}/{path}")
        raise


def test_error_context_from_a_mock_network(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        net = eio_mock.net.make("mocknet")
        addrs: list[eio.net.Sockaddr] = [eio.net.Tcp(eio.net.LOOPBACK_V4, 80)]
        eio_mock.net.on_getaddrinfo(net, [Return(addrs)])
        eio_mock.net.on_connect(net, [Raise(eio.net.ConnectionFailure("timeout"))])
        return await get(net, "example.com", "index.html")

    with pytest.raises(eio.net.ConnectionFailure) as info:
        run(main)
    assert info.value.reason == "timeout"
    assert info.value.__notes__ == [
        "connecting to tcp:127.0.0.1:80",
        "connecting to 'example.com':http",
        "fetching http://example.com/index.html",
    ]
    assert trace.lines() == [
        "mocknet: getaddrinfo example.com service=http",
        "mocknet: connect to tcp:127.0.0.1:80",
    ]
