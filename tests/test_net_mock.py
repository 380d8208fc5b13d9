"""The backend-independent parts of Eio's tests/network.md, run against the mock network.

Covered: accept_fork error handling, getaddrinfo errors, with_tcp_connect (all
cases, with and without timeouts), run_server (graceful and immediate
shutdown, extra domains, max_connections), and argument checks.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from typing import Any, cast

import eio
import eio.net
import pytest
from conftest import Runner, Trace

import eio_mock
from eio_mock import Raise, Return, Run

LOOPBACK = eio.net.LOOPBACK_V4


class SimulatedError(Exception):
    """An error the test raises on purpose."""


def refused() -> eio.net.ConnectionFailure:
    return eio.net.ConnectionFailure("refused")


def notes(ex: BaseException) -> list[str]:
    return list(getattr(ex, "__notes__", []))


# -- accept_fork error handling -----------------------------------------------------------


def mock_accept(label: str = "connection", port: int = 1234) -> eio_mock.net.MockListeningSocket:
    sock = eio_mock.net.listening_socket("tcp/80")
    flow = eio_mock.flow.make(label)
    eio_mock.net.on_accept(sock, [Return((flow, eio.net.Tcp(LOOPBACK, port)))])
    return sock


def test_accept_fork_closes_connection_when_handler_returns(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sock = mock_accept()

        async def handler(_flow: eio.net.StreamSocket, _addr: eio.net.StreamAddr) -> None:
            pass

        async with eio.Switch.run() as sw:
            await eio.net.accept_fork(sw, sock, handler)
            eio.traceln("Mock connection should have been closed by now")

    run(main)
    assert trace.lines() == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "Mock connection should have been closed by now",
    ]


def test_accept_fork_closes_connection_when_handler_fails(run: Runner, trace: Trace, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        sock = mock_accept()

        async def handler(_flow: eio.net.StreamSocket, _addr: eio.net.StreamAddr) -> None:
            raise SimulatedError("Simulated error")

        async with eio.Switch.run() as sw:
            await eio.net.accept_fork(sw, sock, handler)
            eio.traceln("Mock connection should have been closed by now")

    # Without on_error, the handler's error is logged; it does not fail the switch.
    with caplog.at_level("ERROR", logger="eio"):
        run(main)
    [record] = caplog.records
    assert record.exc_info is not None and isinstance(record.exc_info[1], SimulatedError)
    assert notes(record.exc_info[1]) == ["handling connection from tcp:127.0.0.1:1234"]
    assert trace.lines() == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "Mock connection should have been closed by now",
    ]


def test_accept_fork_closes_connection_when_fork_fails(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sock = mock_accept()

        async def handler(_flow: eio.net.StreamSocket, _addr: eio.net.StreamAddr) -> None:
            raise AssertionError("the handler must not run")

        async with eio.Switch.run() as sw:
            sw.fail(SimulatedError("Simulated error"))
            await eio.net.accept_fork(sw, sock, handler)
            eio.traceln("Mock connection should have been closed by now")

    with pytest.raises(SimulatedError, match="^Simulated error"):
        run(main)
    assert trace.lines() == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "Mock connection should have been closed by now",
    ]


def test_accept_fork_does_not_report_cancellation(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sock = mock_accept()

        async def handler(_flow: eio.net.StreamSocket, _addr: eio.net.StreamAddr) -> None:
            await eio.fiber.await_cancel()

        def on_error(ex: Exception) -> None:
            eio.traceln(f"BUG: {ex!r}")

        async with eio.Switch.run() as sw:
            await eio.net.accept_fork(sw, sock, handler, on_error=on_error)
            sw.fail(SimulatedError("Simulated error"))

    with pytest.raises(SimulatedError, match="^Simulated error"):
        run(main)
    assert trace.lines() == ["tcp/80: accepted connection from tcp:127.0.0.1:1234", "connection: closed"]


def test_accept_fork_reports_to_an_async_on_error(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sock = mock_accept()

        async def handler(_flow: eio.net.StreamSocket, _addr: eio.net.StreamAddr) -> None:
            raise SimulatedError("Simulated error")

        async def on_error(ex: Exception) -> None:
            await eio.fiber.yield_()
            eio.traceln(f"Error: {ex!r} {notes(ex)}")

        async with eio.Switch.run() as sw:
            await eio.net.accept_fork(sw, sock, handler, on_error=on_error)
            eio.traceln("accept_fork returned")

    run(main)
    assert trace.lines() == [
        "tcp/80: accepted connection from tcp:127.0.0.1:1234",
        "connection: closed",
        "accept_fork returned",
        "Error: SimulatedError('Simulated error') ['handling connection from tcp:127.0.0.1:1234']",
    ]


# -- getaddrinfo ---------------------------------------------------------------------------


def test_getaddrinfo_never_returns_an_empty_list(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        eio_mock.net.on_getaddrinfo(net, [Return([])])
        await eio.net.getaddrinfo(net, "example.org")

    with pytest.raises(eio.net.AddressLookupFailed) as info:
        run(main)
    assert info.value.errno == socket.EAI_NONAME
    assert isinstance(info.value, eio.net.NetError) and isinstance(info.value, socket.gaierror)
    assert notes(info.value) == ["looking up 'example.org'"]
    assert trace.lines() == ["mocknet: getaddrinfo example.org service=''"]


def test_getaddrinfo_error_names_host_and_service(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        eio_mock.net.on_getaddrinfo(net, [Raise(eio.net.AddressLookupFailed(socket.EAI_AGAIN, "try again"))])
        await eio.net.getaddrinfo(net, "name.invalid.", service="http")

    with pytest.raises(eio.net.AddressLookupFailed) as info:
        run(main)
    assert notes(info.value) == ["looking up 'name.invalid.' (service 'http')"]
    assert trace.lines() == ["mocknet: getaddrinfo name.invalid. service=http"]


def test_getaddrinfo_stream_and_datagram_filter(run: Runner, trace: Trace) -> None:
    tcp = eio.net.Tcp(LOOPBACK, 80)
    udp = eio.net.Udp(LOOPBACK, 80)
    unix = eio.net.Unix("/run/x")

    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        eio_mock.net.on_getaddrinfo(net, [Return([tcp, udp, unix])] * 3 + [Return([udp])])
        assert await eio.net.getaddrinfo(net, "localhost", "80") == [tcp, udp, unix]
        assert await eio.net.getaddrinfo_stream(net, "localhost", "80") == [tcp, unix]
        assert await eio.net.getaddrinfo_datagram(net, "localhost", "80") == [udp, unix]
        with pytest.raises(eio.net.AddressLookupFailed):
            await eio.net.getaddrinfo_stream(net, "my host")

    run(main)
    assert trace.lines() == [
        "mocknet: getaddrinfo localhost service=80",
        "mocknet: getaddrinfo localhost service=80",
        "mocknet: getaddrinfo localhost service=80",
        "mocknet: getaddrinfo 'my host' service=''",
    ]


def test_getnameinfo(run: Runner, trace: Trace) -> None:
    async def main() -> tuple[str, str]:
        net = eio_mock.net.make("mocknet")
        eio_mock.net.on_getnameinfo(net, [Return(("localhost", "http"))])
        return await eio.net.getnameinfo(net, eio.net.Tcp(LOOPBACK, 80))

    assert run(main) == ("localhost", "http")
    assert trace.lines() == ["mocknet: getnameinfo tcp:127.0.0.1:80"]


# -- with_tcp_connect ------------------------------------------------------------------------

ADDR1 = eio.net.Tcp(LOOPBACK, 80)
ADDR2 = eio.net.Tcp("1.2.3.4", 8080)
# Annotated: Return's type parameter is invariant, so a list[Tcp] is not a list[Sockaddr].
BOTH: list[eio.net.Sockaddr] = [ADDR1, ADDR2]
REQUEST = b"GET / HTTP/1.1\r\nHost:www.example.com:80\r\n\r\n"
WROTE_REQUEST = "flow: wrote b'GET / HTTP/1.1\\r\\nHost:www.example.com:80\\r\\n\\r\\n'"


async def send_request(conn: eio.net.StreamSocket) -> None:
    await eio.flow.copy_string(REQUEST, conn)


async def must_not_run(conn: eio.net.StreamSocket) -> None:
    raise AssertionError("must not be called")


def test_with_tcp_connect_no_usable_addresses(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mock-net")
        eio_mock.net.on_getaddrinfo(net, [Return(list[eio.net.Sockaddr]([eio.net.Unix("/foo")]))])
        await eio.net.with_tcp_connect(net, "www.example.com", "http", must_not_run)

    with pytest.raises(eio.net.AddressLookupFailed) as info:
        run(main)
    assert notes(info.value) == ["connecting to 'www.example.com':http"]
    assert trace.lines() == ["mock-net: getaddrinfo www.example.com service=http"]


def test_with_tcp_connect_first_address_works(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mock-net")
        eio_mock.net.on_getaddrinfo(net, [Return(BOTH)])
        eio_mock.net.on_connect(net, [Return(eio_mock.flow.make("flow"))])
        await eio.net.with_tcp_connect(net, "www.example.com", "http", send_request)

    run(main)
    assert trace.lines() == [
        "mock-net: getaddrinfo www.example.com service=http",
        "mock-net: connect to tcp:127.0.0.1:80",
        WROTE_REQUEST,
        "flow: closed",
    ]


def test_with_tcp_connect_second_address_works(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        net = eio_mock.net.make("mock-net")
        eio_mock.net.on_getaddrinfo(net, [Return(BOTH)])
        eio_mock.net.on_connect(net, [Raise(refused()), Return(eio_mock.flow.make("flow"))])

        async def fn(conn: eio.net.StreamSocket) -> str:
            await send_request(conn)
            return "done"

        return await eio.net.with_tcp_connect(net, "www.example.com", "http", fn)

    assert run(main) == "done"
    assert trace.lines() == [
        "mock-net: getaddrinfo www.example.com service=http",
        "mock-net: connect to tcp:127.0.0.1:80",
        "mock-net: connect to tcp:1.2.3.4:8080",
        WROTE_REQUEST,
        "flow: closed",
    ]


def test_with_tcp_connect_both_addresses_fail(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mock-net")
        eio_mock.net.on_getaddrinfo(net, [Return(BOTH)])
        eio_mock.net.on_connect(net, [Raise(refused()), Raise(refused())])
        await eio.net.with_tcp_connect(net, "www.example.com", "http", must_not_run)

    with pytest.raises(eio.net.ConnectionFailure) as info:
        run(main)
    assert info.value.reason == "refused"
    assert notes(info.value) == [
        "connecting to tcp:1.2.3.4:8080",
        "connecting to tcp:127.0.0.1:80 failed first: ConnectionRefused: Connection refused",
        "connecting to 'www.example.com':http",
    ]
    assert trace.lines() == [
        "mock-net: getaddrinfo www.example.com service=http",
        "mock-net: connect to tcp:127.0.0.1:80",
        "mock-net: connect to tcp:1.2.3.4:8080",
    ]


def test_with_tcp_connect_errors_from_fn_are_not_connection_errors(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mock-net")
        eio_mock.net.on_getaddrinfo(net, [Return(BOTH[:1])])
        eio_mock.net.on_connect(net, [Return(eio_mock.flow.make("flow"))])

        async def fn(conn: eio.net.StreamSocket) -> None:
            raise eio.net.ConnectionReset("reset by peer")

        await eio.net.with_tcp_connect(net, "www.example.com", "http", fn)

    with pytest.raises(eio.net.ConnectionReset) as info:
        run(main)
    assert notes(info.value) == []
    assert trace.lines() == [
        "mock-net: getaddrinfo www.example.com service=http",
        "mock-net: connect to tcp:127.0.0.1:80",
        "flow: closed",
    ]


def test_with_tcp_connect_first_attempt_times_out(trace: Trace) -> None:
    async def main(env: eio_mock.backend.MockEnv) -> None:
        net = eio_mock.net.make("mock-net")
        eio_mock.net.on_getaddrinfo(net, [Return(BOTH)])
        eio_mock.net.on_connect(net, [Run(eio.fiber.await_cancel), Return(eio_mock.flow.make("flow"))])
        await eio.net.with_tcp_connect(net, "www.example.com", "http", send_request, timeout=(env.mono_clock, 10.0))

    eio_mock.backend.run_full(main)
    assert trace.lines() == [
        "mock-net: getaddrinfo www.example.com service=http",
        "mock-net: connect to tcp:127.0.0.1:80",
        "mock time is now 10",
        "mock-net: connect to tcp:1.2.3.4:8080",
        WROTE_REQUEST,
        "flow: closed",
    ]


def test_with_tcp_connect_both_attempts_time_out(trace: Trace) -> None:
    async def main(env: eio_mock.backend.MockEnv) -> None:
        net = eio_mock.net.make("mock-net")
        eio_mock.net.on_getaddrinfo(net, [Return(BOTH)])
        eio_mock.net.on_connect(net, [Run(eio.fiber.await_cancel), Run(eio.fiber.await_cancel)])
        await eio.net.with_tcp_connect(net, "www.example.com", "http", must_not_run, timeout=(env.mono_clock, 10.0))

    with pytest.raises(eio.net.ConnectionFailure) as info:
        eio_mock.backend.run_full(main)
    assert info.value.reason == "timeout"
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value.__cause__, eio.time.Timeout)
    assert notes(info.value) == [
        "connecting to tcp:1.2.3.4:8080",
        "connecting to tcp:127.0.0.1:80 timed out first",
        "connecting to 'www.example.com':http",
    ]
    assert trace.lines() == [
        "mock-net: getaddrinfo www.example.com service=http",
        "mock-net: connect to tcp:127.0.0.1:80",
        "mock time is now 10",
        "mock-net: connect to tcp:1.2.3.4:8080",
        "mock time is now 20",
    ]


# -- run_server ------------------------------------------------------------------------------


async def handle_connection(flow: eio.net.StreamSocket, _addr: eio.net.StreamAddr) -> None:
    msg = await eio.flow.read_all(flow)
    assert msg == b"Hi"
    await eio.fiber.yield_()
    await eio.flow.copy_string("Bye", flow)


def mock_listener(n_clients: int, n_domains: int) -> eio_mock.net.MockListeningSocket:
    """Accepts ``n_clients`` clients that each write "Hi", then ``n_domains`` accepts that never complete."""

    def make_flow(i: int) -> Run[tuple[eio.net.StreamSocket, eio.net.StreamAddr]]:
        async def accept() -> tuple[eio.net.StreamSocket, eio.net.StreamAddr]:
            if n_domains > 1:
                await eio.fiber.yield_()  # load balance
            else:
                eio.fiber.check()
            flow = eio_mock.flow.make(f"flow{i}")
            eio_mock.flow.on_read(flow, [Return(b"Hi"), Raise(eio.EndOfFile())])
            return flow, eio.net.Tcp(LOOPBACK, 30000 + i)

        return Run(accept)

    async def never() -> tuple[eio.net.StreamSocket, eio.net.StreamAddr]:
        return await eio.fiber.await_cancel()

    sock = eio_mock.net.listening_socket("tcp/80")
    actions: list[eio_mock.Action[tuple[eio.net.StreamSocket, eio.net.StreamAddr]]] = [make_flow(i) for i in range(n_clients)]
    actions += [Run(never) for _ in range(n_domains)]
    eio_mock.net.on_accept(sock, actions)
    return sock


def test_run_server_graceful_shutdown(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sock = mock_listener(n_clients=3, n_domains=1)
        stop, set_stop = eio.Promise[None].create()

        async def server() -> None:
            await eio.net.run_server(sock, handle_connection, max_connections=10, stop=stop)

        async def stopper() -> None:
            eio.traceln("Begin graceful shutdown")
            set_stop.resolve(None)

        await eio.fiber.both(server, stopper)

    run(main)
    assert trace.lines() == [
        "tcp/80: accepted connection from tcp:127.0.0.1:30000",
        "flow0: read b'Hi'",
        "tcp/80: accepted connection from tcp:127.0.0.1:30001",
        "flow1: read b'Hi'",
        "tcp/80: accepted connection from tcp:127.0.0.1:30002",
        "flow2: read b'Hi'",
        "Begin graceful shutdown",
        "flow0: wrote b'Bye'",
        "flow0: closed",
        "flow1: wrote b'Bye'",
        "flow1: closed",
        "flow2: wrote b'Bye'",
        "flow2: closed",
        "tcp/80: closed",  # stopping closes the listening socket
    ]


def test_run_server_returns_the_stop_value(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        sock = mock_listener(n_clients=0, n_domains=1)
        stop = eio.Promise[str].create_resolved("stopped")
        return await eio.net.run_server(sock, handle_connection, stop=stop)

    assert run(main) == "stopped"
    assert trace.lines() == ["tcp/80: closed"]


def test_run_server_non_graceful_shutdown(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sock = mock_listener(n_clients=3, n_domains=1)

        async def server() -> None:
            await eio.net.run_server(sock, handle_connection, max_connections=10)

        async def fail() -> None:
            raise SimulatedError("Simulated error")

        await eio.fiber.both(server, fail)

    with pytest.raises(SimulatedError, match="^Simulated error"):
        run(main)
    assert trace.lines() == [
        "tcp/80: accepted connection from tcp:127.0.0.1:30000",
        "flow0: read b'Hi'",
        "tcp/80: accepted connection from tcp:127.0.0.1:30001",
        "flow1: read b'Hi'",
        "tcp/80: accepted connection from tcp:127.0.0.1:30002",
        "flow2: read b'Hi'",
        "flow0: closed",
        "flow1: closed",
        "flow2: closed",
    ]


def test_run_server_three_domains_graceful_shutdown(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async def with_dm(dm: eio_mock.domain_manager.MockDomainManager) -> None:
            n_domains = 3
            sock = mock_listener(n_clients=10, n_domains=n_domains)
            stop, set_stop = eio.Promise[None].create()

            async def server() -> None:
                await eio.net.run_server(
                    sock, handle_connection, additional_domains=(dm, n_domains - 1), max_connections=10, stop=stop
                )

            async def stopper() -> None:
                await eio.fiber.yield_()
                set_stop.resolve(None)
                await eio.fiber.yield_()  # let the fibers see the request
                eio.traceln("Requested graceful shutdown")

            await eio.fiber.both(server, stopper)

        await eio_mock.domain_manager.run(with_dm)

    run(main)
    assert trace.lines() == [
        "[1] tcp/80: accepted connection from tcp:127.0.0.1:30000",
        "[1] flow0: read b'Hi'",
        "[2] tcp/80: accepted connection from tcp:127.0.0.1:30001",
        "[2] flow1: read b'Hi'",
        "[0] tcp/80: accepted connection from tcp:127.0.0.1:30002",
        "[0] flow2: read b'Hi'",
        "[1] flow0: wrote b'Bye'",
        "[1] flow0: closed",
        "[1] tcp/80: accepted connection from tcp:127.0.0.1:30003",
        "[1] flow3: read b'Hi'",
        "[2] flow1: wrote b'Bye'",
        "[2] flow1: closed",
        "[2] tcp/80: accepted connection from tcp:127.0.0.1:30004",
        "[2] flow4: read b'Hi'",
        "[0] flow2: wrote b'Bye'",
        "[0] flow2: closed",
        "[0] tcp/80: accepted connection from tcp:127.0.0.1:30005",
        "[0] flow5: read b'Hi'",
        "[0] Requested graceful shutdown",
        "[1] flow3: wrote b'Bye'",
        "[1] flow3: closed",
        "[2] flow4: wrote b'Bye'",
        "[2] flow4: closed",
        "[0] flow5: wrote b'Bye'",
        "[0] flow5: closed",
        "[0] tcp/80: closed",
    ]


def test_run_server_three_domains_abort(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async def with_dm(dm: eio_mock.domain_manager.MockDomainManager) -> None:
            n_domains = 3
            sock = mock_listener(n_clients=10, n_domains=n_domains)

            async def server() -> None:
                await eio.net.run_server(sock, handle_connection, additional_domains=(dm, n_domains - 1), max_connections=10)

            async def fail() -> None:
                await eio.fiber.yield_()
                raise SimulatedError("Simulated error")

            await eio.fiber.both(server, fail)

        await eio_mock.domain_manager.run(with_dm)

    with pytest.raises(SimulatedError, match="^Simulated error"):
        run(main)
    assert trace.lines() == [
        "[1] tcp/80: accepted connection from tcp:127.0.0.1:30000",
        "[1] flow0: read b'Hi'",
        "[2] tcp/80: accepted connection from tcp:127.0.0.1:30001",
        "[2] flow1: read b'Hi'",
        "[0] tcp/80: accepted connection from tcp:127.0.0.1:30002",
        "[0] flow2: read b'Hi'",
        "[1] flow0: closed",
        "[2] flow1: closed",
        "[0] flow2: closed",
    ]


def test_run_server_max_connections(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sock = mock_listener(n_clients=10, n_domains=1)
        stop, set_stop = eio.Promise[None].create()

        async def server() -> None:
            await eio.net.run_server(sock, handle_connection, max_connections=2, stop=stop)

        async def stopper() -> None:
            for _ in range(2):
                await eio.fiber.yield_()
            eio.traceln("Begin graceful shutdown")
            set_stop.resolve(None)

        await eio.fiber.both(server, stopper)

    run(main)
    assert trace.lines() == [
        "tcp/80: accepted connection from tcp:127.0.0.1:30000",
        "flow0: read b'Hi'",
        "tcp/80: accepted connection from tcp:127.0.0.1:30001",
        "flow1: read b'Hi'",
        "flow0: wrote b'Bye'",
        "flow0: closed",
        "flow1: wrote b'Bye'",
        "flow1: closed",
        "tcp/80: accepted connection from tcp:127.0.0.1:30002",
        "flow2: read b'Hi'",
        "tcp/80: accepted connection from tcp:127.0.0.1:30003",
        "flow3: read b'Hi'",
        "Begin graceful shutdown",
        "flow2: wrote b'Bye'",
        "flow2: closed",
        "flow3: wrote b'Bye'",
        "flow3: closed",
        "tcp/80: closed",
    ]


def test_run_server_handler_errors_go_to_on_error(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        sock = mock_listener(n_clients=2, n_domains=1)
        stop, set_stop = eio.Promise[None].create()

        async def handler(flow: eio.net.StreamSocket, addr: eio.net.StreamAddr) -> None:
            raise SimulatedError(f"bad client {addr}")

        def on_error(ex: Exception) -> None:
            eio.traceln(f"Error handling connection: {ex} {notes(ex)}")

        async def server() -> None:
            await eio.net.run_server(sock, handler, on_error=on_error, max_connections=1, stop=stop)

        async def stopper() -> None:
            set_stop.resolve(None)

        await eio.fiber.both(server, stopper)

    run(main)
    assert trace.lines() == [
        "tcp/80: accepted connection from tcp:127.0.0.1:30000",
        "flow0: closed",
        "Error handling connection: bad client tcp:127.0.0.1:30000 ['handling connection from tcp:127.0.0.1:30000']",
        "tcp/80: accepted connection from tcp:127.0.0.1:30001",
        "flow1: closed",
        "Error handling connection: bad client tcp:127.0.0.1:30001 ['handling connection from tcp:127.0.0.1:30001']",
        "tcp/80: closed",
    ]


def test_run_server_rejects_bad_limits(run: Runner) -> None:
    async def main() -> None:
        sock = eio_mock.net.listening_socket("tcp/80")
        with pytest.raises(ValueError, match=r"^run_server: max_connections must be positive \(got 0\)$"):
            await eio.net.run_server(sock, handle_connection, max_connections=0)
        dm = eio_mock.domain_manager.create()
        with pytest.raises(
            ValueError, match=r"^run_server: the number of additional domains must not be negative \(got -1\)$"
        ):
            await eio.net.run_server(sock, handle_connection, additional_domains=(dm, -1))

    run(main)


# -- connect, listen, datagrams ------------------------------------------------------------------


def test_connect_adds_the_address_to_io_errors(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        eio_mock.net.on_connect(net, [Raise(refused()), Raise(SimulatedError("not IO"))])
        async with eio.Switch.run() as sw:
            with pytest.raises(eio.net.ConnectionFailure) as info:
                await eio.net.connect(sw, net, eio.net.Tcp("::1", 1234))
            assert notes(info.value) == ["connecting to tcp:[::1]:1234"]
            with pytest.raises(SimulatedError) as info2:
                await eio.net.connect(sw, net, eio.net.Tcp("::1", 1234))
            assert notes(info2.value) == []

    run(main)
    assert trace.lines() == ["mocknet: connect to tcp:[::1]:1234", "mocknet: connect to tcp:[::1]:1234"]


def test_listen_accept_and_listening_addr(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        sock = eio_mock.net.listening_socket("sock", listening_addr=eio.net.Unix("/tmp/s"))
        eio_mock.net.on_listen(net, [Return(sock)])
        peer = eio.net.Unix("")
        eio_mock.net.on_accept(sock, [Return((eio_mock.flow.make("conn"), peer))])
        async with eio.Switch.run() as sw:
            listening = await eio.net.listen(sw, net, eio.net.Unix("/tmp/s"))
            assert eio.net.listening_addr(listening) == eio.net.Unix("/tmp/s")
            _flow, addr = await eio.net.accept(sw, listening)
            assert addr == peer
            eio.traceln("ending switch")

    run(main)
    assert trace.lines() == [
        "mocknet: listen on unix:/tmp/s",
        "sock: accepted connection from unix:",
        "ending switch",
        "conn: closed",
        "sock: closed",
    ]


def test_default_listening_addr() -> None:
    sock = eio_mock.net.listening_socket("tcp/80")
    assert str(eio.net.listening_addr(sock)) == "tcp:0.0.0.0:0"


class FakeDatagramSocket:
    """A datagram socket that traces sends and replays one message."""

    async def send(self, bufs: Sequence[bytes | memoryview], dst: eio.net.DatagramAddr | None, /) -> None:
        eio.traceln(f"send {b''.join(bufs)!r} to {dst}")

    async def recv(self, buf: memoryview, /) -> tuple[eio.net.DatagramAddr, int]:
        buf[:4] = b"1234"
        return eio.net.Udp(LOOPBACK, 53), 4

    async def close(self) -> None:
        eio.traceln("datagram socket closed")


def test_datagram_socket_send_recv(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        eio_mock.net.on_datagram_socket(net, [Return(FakeDatagramSocket()), Return(FakeDatagramSocket())])
        async with eio.Switch.run() as sw:
            server = await eio.net.datagram_socket(sw, net, eio.net.Udp("::", 8082), reuse_addr=True)
            client = await eio.net.datagram_socket(sw, net, "udpv4")
            await eio.net.send(client, [b"12", b"34"], dst=eio.net.Udp("::1", 8082))
            await eio.net.send(client, [b"x"])
            buf = bytearray(10)
            addr, n = await eio.net.recv(server, buf)
            eio.traceln(f"Got {bytes(buf[:n])!r} from {addr}")
            with pytest.raises(TypeError, match="^recv: the buffer is read-only$"):
                await eio.net.recv(server, memoryview(b"read-only"))

    run(main)
    assert trace.lines() == [
        "mocknet: datagram_socket udp:[::]:8082",
        "mocknet: datagram_socket UDPv4",
        "send b'1234' to udp:[::1]:8082",
        "send b'x' to None",
        "Got b'1234' from udp:127.0.0.1:53",
        "datagram socket closed",
        "datagram socket closed",
    ]


def test_mock_network_is_a_network() -> None:
    # Checked by pyright: the mocks satisfy the Protocols structurally.
    net: eio.net.Network = eio_mock.net.make("mocknet")
    sock: eio.net.ListeningSocket = eio_mock.net.listening_socket("l")
    flow: eio.net.StreamSocket = eio_mock.flow.make("f")
    assert (repr(net), repr(sock), repr(flow)) == (
        "<mock network mocknet>",
        "<mock listening socket l>",
        "<mock flow f>",
    )


def test_run_server_in_real_threads(trace: Trace) -> None:
    # Accept loops in three OS threads share the listening socket, the
    # max_connections semaphore and the stop promise. Which thread takes
    # which client varies, so only the totals are checked.
    async def main() -> int:
        sock = mock_listener(n_clients=6, n_domains=3)
        stop, set_stop = eio.Promise[None].create()
        lock = threading.Lock()
        handled: list[str] = []

        async def handler(flow: eio.net.StreamSocket, addr: eio.net.StreamAddr) -> None:
            assert await eio.flow.read_all(flow) == b"Hi"
            with lock:
                handled.append(str(addr))
                if len(handled) == 6:
                    set_stop.resolve(None)

        dm = eio_mock.domain_manager.threads()
        await eio.net.run_server(sock, handler, additional_domains=(dm, 2), max_connections=2, stop=stop)
        return len(set(handled))

    assert eio_mock.backend.run(main) == 6
    lines = trace.lines()
    assert sorted(line for line in lines if "accepted" in line) == [
        f"tcp/80: accepted connection from tcp:127.0.0.1:{30000 + i}" for i in range(6)
    ]
    assert sorted(line for line in lines if "closed" in line) == [f"flow{i}: closed" for i in range(6)] + ["tcp/80: closed"]


def test_the_mock_traces_bind_to_and_options_in_the_order_they_are_applied(run: Runner, trace: Trace) -> None:
    # Eio's network.md, "The mock backend also traces the options in the order they are applied".
    async def main() -> None:
        async with eio.Switch.run() as sw:
            net = eio_mock.net.make("mock-net")
            eio_mock.net.on_connect(net, [Return(eio_mock.flow.make("flow"))])
            await eio.net.connect(
                sw,
                net,
                eio.net.Tcp(eio.net.LOOPBACK_V4, 8081),
                bind_to=eio.net.Tcp(eio.net.LOOPBACK_V4, 0),
                options=[eio.net.SO_REUSEADDR(True), eio.net.SO_KEEPALIVE(True)],
            )

    run(main)
    assert trace.lines() == [
        "mock-net: connect to tcp:127.0.0.1:8081 (bind to tcp:127.0.0.1:0)",
        "flow: setsockopt SO_REUSEADDR = True",
        "flow: setsockopt SO_KEEPALIVE = True",
        "flow: closed",
    ]


def test_setsockopt_on_a_mock_flow_checks_the_value_then_traces(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        flow = eio_mock.flow.make("flow")
        eio.net.setsockopt(flow, eio.net.TCP_NODELAY, True)
        with pytest.raises(TypeError, match="TCP_NODELAY"):
            eio.net.setsockopt(flow, eio.net.TCP_NODELAY, cast(Any, "yes"))  # the wrong type, on purpose

    run(main)
    assert trace.lines() == ["flow: setsockopt TCP_NODELAY = True"]
