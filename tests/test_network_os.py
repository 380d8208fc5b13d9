"""Eio's tests/network.md, the parts that need a real OS network, on every OS backend.

Every test runs ``env.net`` of a fresh run of the backend under test over
loopback, and checks afterwards that the process holds no more file
descriptors than before.
"""

from __future__ import annotations

import errno
import os
import resource
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import TypeVar

import eio
import eio.net
import eio.unix.net
import pytest
from conftest import Trace, run_env
from eio import ResourceClosed, Switch, fiber
from eio.net import LOOPBACK_V4, LOOPBACK_V6, Network, StreamAddr, StreamSocket, Tcp, Udp, Unix
from eio.unix import UnixStreamSocket

if not os.path.isdir("/proc/self/fd"):
    pytest.skip("counts descriptors in /proc/self/fd", allow_module_level=True)

T = TypeVar("T")


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    """After each test the process holds exactly the descriptors it held before."""
    before = _fds()
    yield
    after = _fds()
    # listdir's own descriptor for /proc/self/fd shows up in both listings.
    assert after - before == set(), f"descriptors left open: {sorted(after - before)}"


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback here")


_backend = ""
_env: list[eio.Stdenv] = []


@pytest.fixture(autouse=True)
def _on_each_backend(env_backend: str) -> Iterator[None]:
    """Run every test of this module once per backend, the mock's in-memory network included."""
    global _backend
    _backend = env_backend
    yield
    _env.clear()


def run(fn: Callable[[Network, Switch], Awaitable[T]]) -> T:
    """Eio's ``run``: a fresh run of the backend, its network, a switch."""

    async def main(env: eio.Stdenv) -> T:
        _env[:] = [env]
        async with Switch.run() as sw:
            return await fn(env.net, sw)

    return run_env(_backend, main)


class GracefulShutdown(Exception):
    """Raised by the client to end a test server (Eio's ``Graceful_shutdown``)."""


async def read_all(flow: StreamSocket) -> bytes:
    return await eio.flow.read_all(flow)


# -- Test cases: one connection, on each kind of address -----------------------------


async def run_client(sw: Switch, net: Network, addr: StreamAddr) -> None:
    eio.traceln("Connecting to server...")
    flow = await eio.net.connect(sw, net, addr)
    await eio.flow.copy_string("Hello from client", flow)
    await eio.flow.shutdown(flow, "send")
    msg = await read_all(flow)
    eio.traceln(f"Client received: {msg.decode()!r}")


async def run_server(sw: Switch, sock: eio.net.ListeningSocket) -> None:
    async def handler(flow: StreamSocket, _addr: StreamAddr) -> None:
        eio.traceln("Server accepted connection from client")
        try:
            msg = await read_all(flow)
            eio.traceln(f"Server received: {msg.decode()!r}")
        finally:
            await eio.flow.copy_string("Bye", flow)

    def on_error(ex: Exception) -> None:
        if not isinstance(ex, GracefulShutdown):
            eio.traceln(f"Error handling connection: {ex!r}")

    while True:
        await eio.net.accept_fork(sw, sock, handler, on_error=on_error)


def check_address(addr: StreamAddr, trace: Trace) -> None:
    async def test(net: Network, sw: Switch) -> None:
        server = await eio.net.listen(sw, net, addr, reuse_addr=True, backlog=5)
        real = eio.net.listening_addr(server)

        async def client() -> None:
            await run_client(sw, net, real)
            eio.traceln("Client finished - cancelling server")
            raise GracefulShutdown()

        await fiber.both(lambda: run_server(sw, server), client)

    with pytest.raises(GracefulShutdown):
        run(test)
    assert trace.lines() == [
        "Connecting to server...",
        "Server accepted connection from client",
        "Server received: 'Hello from client'",
        "Client received: 'Bye'",
        "Client finished - cancelling server",
    ]


def test_tcp_ipv4(trace: Trace) -> None:
    check_address(Tcp(LOOPBACK_V4, 0), trace)


@needs_ipv6
def test_tcp_ipv6(trace: Trace) -> None:
    check_address(Tcp(LOOPBACK_V6, 0), trace)


def test_unix_socket(trace: Trace, tmp_path: Path) -> None:
    check_address(Unix(tmp_path / "eio-test.sock"), trace)


def test_abstract_unix_socket(trace: Trace, tmp_path: Path) -> None:
    check_address(Unix(f"\0{tmp_path}/eio-test.sock"), trace)


def test_listening_addr_has_the_real_port() -> None:
    async def test(net: Network, sw: Switch) -> StreamAddr:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0))
        return eio.net.listening_addr(server)

    real = run(test)
    assert isinstance(real, Tcp) and real.ip == LOOPBACK_V4 and real.port != 0


@pytest.mark.real_os
def test_listen_reuse_addr_replaces_a_stale_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as old:
        old.bind(str(path))  # left behind, as by a crashed server

    async def test(net: Network, sw: Switch) -> str:
        with pytest.raises(eio.Io) as info:
            await eio.net.listen(sw, net, Unix(path))
        assert info.value.errno == errno.EADDRINUSE
        assert info.value.__notes__ == [f"listening on unix:{path}"]
        server = await eio.net.listen(sw, net, Unix(path), reuse_addr=True)
        return str(eio.net.listening_addr(server))

    assert run(test) == f"unix:{path}"


def test_cancelling_the_read(trace: Trace) -> None:
    async def test(net: Network, sw: Switch) -> None:
        shutdown, set_shutdown = eio.Promise[BaseException].create()
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), reuse_addr=True, backlog=5)
        addr = eio.net.listening_addr(server)

        async def serve() -> None:
            async def handler(flow: StreamSocket, _addr: StreamAddr) -> None:
                async def stop() -> None:
                    raise await shutdown

                async def read() -> None:
                    msg = await read_all(flow)
                    eio.traceln(f"Server received: {msg!r}")

                try:
                    await fiber.both(stop, read)
                except GracefulShutdown:
                    await eio.flow.copy_string("Request cancelled", flow)

            def reraise(ex: Exception) -> None:
                raise ex

            await eio.net.accept_fork(sw, server, handler, on_error=reraise)

        async def client() -> None:
            eio.traceln("Connecting to server...")
            flow = await eio.net.connect(sw, net, addr)
            eio.traceln("Connection opened - cancelling server's read")
            await fiber.yield_()
            set_shutdown.resolve(GracefulShutdown())
            msg = await read_all(flow)
            eio.traceln(f"Client received: {msg.decode()!r}")

        await fiber.both(serve, client)

    run(test)
    assert trace.lines() == [
        "Connecting to server...",
        "Connection opened - cancelling server's read",
        "Client received: 'Request cancelled'",
    ]


def test_accept_when_the_switch_is_already_off() -> None:
    async def test(net: Network, sw: Switch) -> None:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), reuse_addr=True, backlog=5)
        sw.fail(RuntimeError("Simulated error"))

        async def handler(flow: StreamSocket, addr: StreamAddr) -> None:
            raise AssertionError("not reached")

        await eio.net.accept_fork(sw, server, handler)

    with pytest.raises(RuntimeError, match="^Simulated error$"):
        run(test)


def test_closing_before_the_handler_returns(trace: Trace) -> None:
    async def test(net: Network, sw: Switch) -> None:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), reuse_addr=True, backlog=5)
        addr = eio.net.listening_addr(server)

        async def serve() -> None:
            async def handler(flow: StreamSocket, _addr: StreamAddr) -> None:
                eio.traceln("Server got connection")
                await eio.flow.copy_string("Hi", flow)
                await flow.close()

            await eio.net.accept_fork(sw, server, handler)

        async def client() -> None:
            eio.traceln("Connecting to server...")
            flow = await eio.net.connect(sw, net, addr)
            msg = await eio.buf_read.parse(lambda r: r.take_all(), flow, max_size=100)
            eio.traceln(f"Client got {msg.decode()!r}")

        await fiber.both(serve, client)

    run(test)
    assert trace.lines() == ["Connecting to server...", "Server got connection", "Client got 'Hi'"]


@pytest.mark.real_os
def test_sockets_have_file_descriptors(trace: Trace) -> None:
    async def test(net: Network, sw: Switch) -> None:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), reuse_addr=True, backlog=5)
        eio.traceln(f"Listening socket has Unix FD: {getattr(server, 'fileno')() >= 0}")

        async def client() -> bool:
            flow = await eio.net.connect(sw, net, eio.net.listening_addr(server))
            return isinstance(flow, UnixStreamSocket) and flow.fileno() >= 0

        async def accept() -> bool:
            flow, _ = await eio.net.accept(sw, server)
            return isinstance(flow, UnixStreamSocket) and flow.fileno() >= 0

        have_client, have_server = await fiber.pair(client, accept)
        eio.traceln(f"Client-side socket has Unix FD: {have_client}")
        eio.traceln(f"Server-side socket has Unix FD: {have_server}")

    run(test)
    assert trace.lines() == [
        "Listening socket has Unix FD: True",
        "Client-side socket has Unix FD: True",
        "Server-side socket has Unix FD: True",
    ]


@pytest.mark.real_os
def test_peer_addresses() -> None:
    async def test(net: Network, sw: Switch) -> None:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0))

        async def client() -> UnixStreamSocket:
            flow = await eio.net.connect(sw, net, eio.net.listening_addr(server))
            assert isinstance(flow, UnixStreamSocket)
            return flow

        async def accept() -> tuple[StreamSocket, StreamAddr]:
            return await eio.net.accept(sw, server)

        flow, (_accepted, peer) = await fiber.pair(client, accept)
        assert peer == flow.local_addr()
        assert flow.peer_addr() == eio.net.listening_addr(server)

    run(test)


# -- Datagrams --------------------------------------------------------------------


def check_dgram(ip: eio.net.IpAddr, trace: Trace) -> None:
    async def test(net: Network, sw: Switch) -> tuple[str, str]:
        listening = await eio.net.datagram_socket(sw, net, Udp(ip, 0))
        e2 = getattr(listening, "local_addr")()
        sender = await eio.net.datagram_socket(sw, net, Udp(ip, 0))
        e1 = getattr(sender, "local_addr")()

        async def receive() -> None:
            buf = bytearray(20)
            eio.traceln(f"Waiting to receive data on {e2}")
            addr, n = await eio.net.recv(listening, buf)
            eio.traceln(f"Received message from {addr}: {buf[:n].decode()}")

        async def send() -> None:
            eio.traceln(f"Sending data from {e1} to {e2}")
            await eio.net.send(sender, [b"UDP Message"], dst=e2)

        await fiber.both(receive, send)
        return str(e1), str(e2)

    e1, e2 = run(test)
    assert trace.lines() == [
        f"Waiting to receive data on {e2}",
        f"Sending data from {e1} to {e2}",
        f"Received message from {e1}: UDP Message",
    ]


def test_udp_ipv4(trace: Trace) -> None:
    check_dgram(LOOPBACK_V4, trace)


@needs_ipv6
def test_udp_ipv6(trace: Trace) -> None:
    check_dgram(LOOPBACK_V6, trace)


@pytest.mark.parametrize(("kind", "ip"), [("udpv4", LOOPBACK_V4), pytest.param("udpv6", LOOPBACK_V6, marks=needs_ipv6)])
def test_udp_host_assigned_sender(kind: eio.net.DatagramBind, ip: eio.net.IpAddr, trace: Trace) -> None:
    async def test(net: Network, sw: Switch) -> str:
        listening = await eio.net.datagram_socket(sw, net, Udp(ip, 0))
        server_addr = getattr(listening, "local_addr")()

        async def receive() -> None:
            buf = bytearray(20)
            eio.traceln(f"Waiting to receive data on {server_addr}")
            _addr, n = await eio.net.recv(listening, buf)
            eio.traceln(f"Received message {buf[:n].decode()}")

        async def send() -> None:
            e = await eio.net.datagram_socket(sw, net, kind)
            eio.traceln(f"Sending data to {server_addr}")
            await eio.net.send(e, [b"UDP Message"], dst=server_addr)

        await fiber.both(receive, send)
        return str(server_addr)

    server_addr = run(test)
    assert trace.lines() == [
        f"Waiting to receive data on {server_addr}",
        f"Sending data to {server_addr}",
        "Received message UDP Message",
    ]


def test_unix_datagrams(trace: Trace, tmp_path: Path) -> None:
    """Eio's "read/write on SOCK_DGRAM", with bound Unix datagram sockets."""

    async def test(net: Network, sw: Switch) -> None:
        a_addr, b_addr = Unix(tmp_path / "a.sock"), Unix(tmp_path / "b.sock")
        a = await eio.net.datagram_socket(sw, net, a_addr)
        b = await eio.net.datagram_socket(sw, net, b_addr)
        buf = bytearray(32)

        async def write(bufs: list[bytes]) -> None:
            await eio.net.send(a, bufs, dst=b_addr)

        async def read() -> None:
            addr, n = await eio.net.recv(b, buf)
            eio.traceln(f"Got: {n} bytes: {bytes(buf[:n])!r} from {addr}")

        messages = [b"foo", b"bar", b"foobar", b"cellar door", b""]
        for m in messages:
            await write([m])
        for _ in messages:
            await read()
        await write([b"abaca", b"bb"])
        await read()
        await a.close()
        await b.close()
        await b.close()  # closing twice is harmless

    run(test)
    a = f"unix:{tmp_path / 'a.sock'}"
    assert trace.lines() == [
        f"Got: 3 bytes: b'foo' from {a}",
        f"Got: 3 bytes: b'bar' from {a}",
        f"Got: 6 bytes: b'foobar' from {a}",
        f"Got: 11 bytes: b'cellar door' from {a}",
        f"Got: 0 bytes: b'' from {a}",
        f"Got: 7 bytes: b'abacabb' from {a}",
    ]


def test_datagram_too_long_for_the_buffer_is_cut() -> None:
    async def test(net: Network, sw: Switch) -> bytes:
        rx = await eio.net.datagram_socket(sw, net, Udp(LOOPBACK_V4, 0))
        tx = await eio.net.datagram_socket(sw, net, "udpv4")
        await eio.net.send(tx, [b"0123456789"], dst=getattr(rx, "local_addr")())
        buf = bytearray(4)
        _addr, n = await eio.net.recv(rx, buf)
        return bytes(buf[:n])

    assert run(test) == b"0123"


# -- Errors -------------------------------------------------------------------------


async def connected_pair(net: Network, sw: Switch) -> tuple[StreamSocket, StreamSocket]:
    """A client flow and the server's flow for it, over TCP loopback."""
    server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), backlog=5)

    async def connect() -> StreamSocket:
        return await eio.net.connect(sw, net, eio.net.listening_addr(server))

    async def accept() -> StreamSocket:
        flow, _ = await eio.net.accept(sw, server)
        return flow

    client, served = await fiber.pair(connect, accept)
    await server.close()
    return client, served


@pytest.mark.real_os
def test_peer_reset_mid_stream() -> None:
    async def test(net: Network, sw: Switch) -> None:
        client, served = await connected_pair(net, sw)
        await eio.flow.copy_string("first part", client)
        buf = bytearray(10)
        await eio.flow.read_exact(served, buf)
        assert bytes(buf) == b"first part"
        assert isinstance(client, UnixStreamSocket)
        # SO_LINGER with a zero timeout: closing sends RST instead of FIN.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await client.close()
        with pytest.raises(eio.net.ConnectionReset) as info:
            await eio.flow.single_read(served, buf)
        assert info.value.errno == errno.ECONNRESET
        assert isinstance(info.value, ConnectionResetError)

    run(test)


def test_econnreset_peer_closed_without_reading() -> None:
    """Eio's ECONNRESET case: the peer closes with our data unread; reading fails."""

    async def test(net: Network, sw: Switch) -> None:
        a, b = await connected_pair(net, sw)
        await eio.flow.copy_string("foo", a)
        await fiber.yield_()
        await b.close()  # close without reading: the kernel answers with RST
        with pytest.raises((eio.net.ConnectionReset, eio.EndOfFile)):
            await eio.flow.read_exact(a, bytearray(1))
        eio.traceln("Connection failed (good)")

    run(test)


def test_epipe_writing_to_a_closed_peer() -> None:
    async def test(net: Network, sw: Switch) -> None:
        a, b = await connected_pair(net, sw)
        await b.close()
        with pytest.raises(eio.net.ConnectionReset):
            # The first write may still be accepted by the kernel; the RST it
            # provokes makes a later one fail.
            for _ in range(100):
                await eio.flow.copy_string("foo", a)
                await eio.time.sleep(eio.time.MonoClock(), 0.001)

    run(test)


def test_using_a_closed_flow_is_a_clear_error() -> None:
    async def test(net: Network, sw: Switch) -> None:
        client, _served = await connected_pair(net, sw)
        await client.close()
        await client.close()  # harmless
        with pytest.raises(ResourceClosed, match=r"^\[Errno 9\] write: the stream socket is closed$"):
            await eio.flow.copy_string("late", client)
        with pytest.raises(ResourceClosed, match="^\\[Errno 9\\] read: the stream socket is closed$"):
            await eio.flow.single_read(client, bytearray(4))
        with pytest.raises(ResourceClosed, match="shutdown: the stream socket is closed"):
            await eio.flow.shutdown(client, "send")
        if _backend != "mock":
            assert isinstance(client, UnixStreamSocket)
            assert repr(client) == "<stream socket (closed)>"

    run(test)


def test_closing_wakes_a_blocked_reader() -> None:
    async def test(net: Network, sw: Switch) -> None:
        client, _served = await connected_pair(net, sw)

        async def reader() -> None:
            with pytest.raises(ResourceClosed, match="read: the stream socket is closed"):
                await eio.flow.single_read(client, bytearray(4))
            eio.traceln("reader woken")

        async def closer() -> None:
            await client.close()

        await fiber.both(reader, closer)

    run(test)


def test_connection_refused() -> None:
    async def test(net: Network, sw: Switch) -> str:
        # A port nothing listens on: bind one, and close it without listening.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        addr = Tcp(LOOPBACK_V4, port)
        with pytest.raises(eio.net.ConnectionFailure) as info:
            await eio.net.connect(sw, net, addr)
        assert info.value.reason == "refused"
        assert isinstance(info.value, ConnectionRefusedError)
        assert info.value.__notes__ == [f"connecting to {addr}"]
        return str(addr)

    run(test)


def test_connecting_to_a_missing_unix_socket(tmp_path: Path) -> None:
    async def test(net: Network, sw: Switch) -> None:
        addr = Unix(tmp_path / "idontexist.sock")
        with pytest.raises(eio.fs.NotFound) as info:
            await eio.net.connect(sw, net, addr)
        assert info.value.__notes__ == [f"connecting to unix:{tmp_path}/idontexist.sock"]

    run(test)


def test_connect_timeout_on_a_full_backlog() -> None:
    """A client whose SYN is dropped (the accept queue is full) times out."""

    async def test(net: Network, sw: Switch) -> None:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), backlog=0)
        addr = eio.net.listening_addr(server)
        assert isinstance(addr, Tcp)
        clock = eio.time.MonoClock()
        connected = 0
        # Linux accepts backlog + 1 connections into the queue, then drops SYNs.
        for _ in range(10):

            async def attempt() -> StreamSocket:
                return await eio.net.connect(sw, net, addr)

            try:
                await eio.time.with_timeout(clock, 0.3, attempt)
                connected += 1
            except eio.time.Timeout:
                break
        else:
            raise AssertionError("the backlog never filled")
        assert connected >= 1

        async def unused(flow: StreamSocket) -> None:
            raise AssertionError("not reached")

        with pytest.raises(eio.net.ConnectionFailure) as info:
            await eio.net.with_tcp_connect(net, "127.0.0.1", str(addr.port), unused, timeout=(clock, 0.3))
        assert info.value.reason == "timeout"
        assert info.value.__notes__ == [f"connecting to {addr}", f"connecting to '127.0.0.1':{addr.port}"]

    run(test)


# -- Shutdown and cancellation -------------------------------------------------------


def test_shutdown_receive_ends_a_blocked_read() -> None:
    async def test(net: Network, sw: Switch) -> None:
        a, _b = await connected_pair(net, sw)

        async def read() -> None:
            with pytest.raises(eio.EndOfFile):
                await eio.flow.read_exact(a, bytearray(1))

        await fiber.both(read, lambda: eio.flow.shutdown(a, "receive"))

    run(test)


def test_shutdown_send_gives_the_peer_end_of_file() -> None:
    async def test(net: Network, sw: Switch) -> bytes:
        a, b = await connected_pair(net, sw)
        await eio.flow.copy_string("last words", a)
        await eio.flow.shutdown(a, "send")
        got = await read_all(b)
        # The other direction still works.
        await eio.flow.copy_string("reply", b)
        buf = bytearray(5)
        await eio.flow.read_exact(a, buf)
        return got + b"/" + bytes(buf)

    assert run(test) == b"last words/reply"


def test_cancelled_recv_leaves_the_socket_usable_and_loses_nothing() -> None:
    async def test(net: Network, sw: Switch) -> list[bytes]:
        a, b = await connected_pair(net, sw)
        buf = bytearray(16)
        got: list[bytes] = []

        # 1. Blocked in recv (nothing to read), then cancelled.
        async def read_once() -> str:
            n = await eio.flow.single_read(b, buf)
            got.append(bytes(buf[:n]))
            return "read"

        async def give_up() -> str:
            await fiber.yield_()
            return "gave up"

        assert await fiber.first(read_once, give_up) == "gave up"

        # 2. The data arrives in the same turn as the cancellation: whichever
        # the kernel sees first, the bytes stay in the socket or reach `got`.
        async def send_then_cancel() -> str:
            await fiber.yield_()
            await eio.flow.copy_string("abc", a)
            return "cancelled"

        await fiber.first(read_once, send_then_cancel)

        # 3. The socket still works and nothing was lost.
        await eio.flow.copy_string("def", a)
        await eio.flow.shutdown(a, "send")
        rest = await read_all(b)
        return [b"".join(got) + rest]

    assert run(test) == [b"abcdef"]


# -- Socket options --------------------------------------------------------------------


@pytest.mark.real_os
def test_socket_options_on_tcp(trace: Trace) -> None:
    async def test(net: Network, sw: Switch) -> None:
        client, _ = await connected_pair(net, sw)
        assert isinstance(client, UnixStreamSocket)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, True)
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
        sndbuf = client.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        eio.traceln(f"SO_SNDBUF: {'positive' if sndbuf > 0 else 'error'}")
        with pytest.raises(eio.Io) as info:
            client.setsockopt(socket.SOL_SOCKET, 12345, 1)
        assert info.value.errno == errno.ENOPROTOOPT
        assert info.value.__notes__ == [f"setting socket option {socket.SOL_SOCKET}/12345"]

    run(test)
    assert trace.lines() == ["SO_SNDBUF: positive"]


@pytest.mark.real_os
def test_socket_options_on_listening_and_datagram_sockets() -> None:
    async def test(net: Network, sw: Switch) -> tuple[int, int]:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), reuse_addr=True)
        udp = await eio.net.datagram_socket(sw, net, "udpv4")
        getattr(udp, "setsockopt")(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        return (
            getattr(server, "getsockopt")(socket.SOL_SOCKET, socket.SO_REUSEADDR),
            getattr(udp, "getsockopt")(socket.SOL_SOCKET, socket.SO_BROADCAST),
        )

    assert run(test) == (1, 1)


# -- Name lookup -------------------------------------------------------------------------


def test_getaddrinfo() -> None:
    async def test(net: Network, sw: Switch) -> None:
        assert await eio.net.getaddrinfo_stream(net, "127.0.0.1") == [Tcp("127.0.0.1", 0)]
        assert await eio.net.getaddrinfo_stream(net, "127.0.0.1", "80") == [Tcp("127.0.0.1", 80)]
        assert await eio.net.getaddrinfo_datagram(net, "127.0.0.1") == [Udp("127.0.0.1", 0)]
        assert await eio.net.getaddrinfo_datagram(net, "127.0.0.1", "80") == [Udp("127.0.0.1", 80)]
        assert Tcp("127.0.0.1", 80) in await eio.net.getaddrinfo(net, "127.0.0.1", "http")
        assert Tcp("127.0.0.1", 21) in await eio.net.getaddrinfo(net, "127.0.0.1", "ftp")
        local = await eio.net.getaddrinfo_stream(net, "localhost")
        assert Tcp("127.0.0.1", 0) in local or Tcp("::1", 0) in local

    run(test)


def test_getaddrinfo_failure() -> None:
    async def test(net: Network, sw: Switch) -> None:
        with pytest.raises(eio.net.AddressLookupFailed) as info:
            await eio.net.getaddrinfo(net, "name.invalid.")
        assert isinstance(info.value, socket.gaierror)
        assert info.value.__notes__ == ["looking up 'name.invalid.'"]

    run(test)


def test_getnameinfo() -> None:
    async def test(net: Network, sw: Switch) -> tuple[str, str]:
        return await eio.net.getnameinfo(net, Tcp(LOOPBACK_V4, 80))

    assert run(test) == ("localhost", "http")


# -- run_server on a real socket ------------------------------------------------------


def test_run_server_max_connections(trace: Trace) -> None:
    """With max_connections=1 the second client is served only once the first is done."""

    async def test(net: Network, sw: Switch) -> None:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), backlog=5)
        addr = eio.net.listening_addr(server)
        stop, stopper = eio.Promise[str].create()
        b_sent, b_sent_r = eio.Promise[None].create()

        async def handler(flow: StreamSocket, _peer: StreamAddr) -> None:
            r = eio.BufRead.of_flow(flow, max_size=100)
            name = (await r.line()).decode()
            eio.traceln(f"server: handling {name}")
            await eio.flow.copy_string(f"hello {name}\n", flow)
            await r.end_of_input()
            eio.traceln(f"server: {name} done")

        async def client(name: str) -> None:
            async with Switch.run() as csw:
                flow = await eio.net.connect(csw, net, addr)
                await eio.flow.copy_string(f"{name}\n", flow)
                if name == "B":
                    b_sent_r.resolve(None)
                else:
                    await b_sent
                    await eio.time.sleep(eio.time.MonoClock(), 0.05)  # B waits meanwhile
                r = eio.BufRead.of_flow(flow, max_size=100)
                eio.traceln(f"{name} got {(await r.line()).decode()!r}")
                if name == "A":
                    eio.traceln("A closing")

        async def clients() -> None:
            async def a() -> None:
                await client("A")

            async def b() -> None:
                await fiber.yield_()
                await client("B")

            await fiber.both(a, b)
            stopper.resolve("stopped")

        async def serve() -> None:
            result = await eio.net.run_server(server, handler, max_connections=1, stop=stop)
            eio.traceln(f"run_server returned {result!r}")

        await fiber.both(serve, clients)

    run(test)
    lines = trace.lines()
    assert lines[lines.index("A closing") :] == [
        "A closing",
        "server: A done",
        "server: handling B",
        "B got 'hello B'",
        "server: B done",
        "run_server returned 'stopped'",
    ]
    assert lines[: lines.index("A closing")] == ["server: handling A", "A got 'hello A'"]


@pytest.mark.real_os
def test_run_server_reports_emfile_and_goes_on(trace: Trace) -> None:
    async def test(net: Network, sw: Switch) -> None:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), backlog=5)
        addr = eio.net.listening_addr(server)
        stop, stopper = eio.Promise[None].create()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        errors: list[BaseException] = []
        lowered, lowered_r = eio.Promise[None].create()

        def on_error(ex: Exception) -> None:
            errors.append(ex)
            if len(errors) == 1 and isinstance(ex, OSError):
                eio.traceln(f"on_error: {type(ex).__name__} errno={errno.errorcode[ex.errno or 0]} notes={ex.__notes__}")
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

        async def handler(flow: StreamSocket, _peer: StreamAddr) -> None:
            await eio.flow.copy_string("served\n", flow)

        async def client() -> None:
            async with Switch.run() as csw:
                flow = await eio.net.connect(csw, net, addr)
                # No descriptor left below the limit: the server's accept gets EMFILE.
                lowest_free = os.dup(0)  # the kernel hands out the lowest free number
                os.close(lowest_free)
                resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
                lowered_r.resolve(None)
                try:
                    r = eio.BufRead.of_flow(flow, max_size=100)
                    eio.traceln(f"client got {(await r.line()).decode()!r}")
                finally:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            stopper.resolve(None)

        async def serve() -> None:
            await lowered  # the client is in the backlog, and no descriptor is left
            await eio.net.run_server(server, handler, on_error=on_error, stop=stop)

        await fiber.both(serve, client)
        assert all(isinstance(e, eio.Io) and e.errno == errno.EMFILE for e in errors)

    run(test)
    assert trace.lines() == [
        "on_error: Io errno=EMFILE notes=['accepting a connection']",
        "client got 'served'",
    ]


def test_copy_between_sockets_moves_every_byte() -> None:
    """``eio.flow.copy`` from one socket to another (the sockets' own ``copy``), with partial writes."""
    data = bytes(range(256)) * 4096  # 1 MiB: more than the socket buffers hold

    async def test(net: Network, sw: Switch) -> bytes:
        src_w, src_r = await connected_pair(net, sw)
        dst_w, dst_r = await connected_pair(net, sw)

        async def produce() -> None:
            await eio.flow.copy_string(data, src_w)
            await eio.flow.shutdown(src_w, "send")

        async def relay() -> None:
            await eio.flow.copy(src_r, dst_w)
            await eio.flow.shutdown(dst_w, "send")

        async def consume() -> bytes:
            return await read_all(dst_r)

        results = await fiber.pair(lambda: fiber.both(produce, relay), consume)
        return results[1]

    assert run(test) == data


@pytest.mark.real_os
def test_closing_a_listening_socket_wakes_an_accept_in_another_domain() -> None:
    async def test(net: Network, sw: Switch) -> str:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0))
        domains = _env[0].domain_mgr
        waiting, waiting_r = eio.Promise[None].create()

        async def accept_in_domain() -> str:
            async with Switch.run() as dsw:
                waiting_r.resolve(None)
                try:
                    await eio.net.accept(dsw, server)
                except ResourceClosed as ex:
                    return str(ex)
                return "accepted?"

        async def close_it() -> None:
            await waiting
            await eio.time.sleep(eio.time.MonoClock(), 0.01)  # most likely the accept is waiting by now
            await server.close()

        result, _ = await fiber.pair(lambda: eio.domain_manager.run(domains, accept_in_domain), close_it)
        return result

    assert run(test) == "[Errno 9] accept: the listening socket is closed"
    # A domain's thread closes its ring just after handing back its result:
    # let it finish before the descriptors are counted.
    for thread in threading.enumerate():
        if thread.name.startswith("eio-domain-"):
            thread.join(10)


# -- Eio_unix.Net: adopting OS sockets, socket pairs, connecting with bind_to and options --------------


@pytest.mark.real_os
def test_wrapping_a_unix_fd_as_a_listening_socket(trace: Trace) -> None:
    """network.md: an OS listening socket made outside eio, adopted with ``import_socket_listening``."""

    async def test(net: Network, sw: Switch) -> None:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.bind(("127.0.0.1", 0))  # Eio uses port 8082; any free port will do
        raw.listen(40)
        port = raw.getsockname()[1]
        listening = eio.unix.net.import_socket_listening(sw, raw, close_unix=True)

        async def client() -> None:
            await run_client(sw, net, Tcp(LOOPBACK_V4, port))
            eio.traceln("Client finished - cancelling server")
            raise GracefulShutdown()

        await fiber.both(lambda: run_server(sw, listening), client)

    with pytest.raises(GracefulShutdown):
        run(test)
    assert trace.lines() == [
        "Connecting to server...",
        "Server accepted connection from client",
        "Server received: 'Hello from client'",
        "Client received: 'Bye'",
        "Client finished - cancelling server",
    ]


@pytest.mark.real_os
def test_wrapping_a_unix_fd_as_a_datagram_socket(trace: Trace) -> None:
    """network.md: both ends of an OS datagram socket pair adopted with ``import_socket_datagram``."""

    async def test(_net: Network, sw: Switch) -> None:
        raw_a, raw_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        a = eio.unix.net.import_socket_datagram(sw, raw_a, close_unix=True)
        b = eio.unix.net.import_socket_datagram(sw, raw_b, close_unix=True)

        async def receive() -> None:
            buf = bytearray(10)
            _addr, n = await eio.net.recv(b, buf)
            eio.traceln(f"Got: {buf[:n].decode()!r}")

        await fiber.both(lambda: eio.net.send(a, [b"12", b"34"]), receive)

    run(test)
    assert trace.lines() == ["Got: '1234'"]


@pytest.mark.real_os
def test_socketpair_stream(trace: Trace) -> None:
    """network.md: ``socketpair_stream``; both ends have descriptors; closing one ends the other's input."""

    async def test(_net: Network, sw: Switch) -> None:
        a, b = eio.unix.net.socketpair_stream(sw)
        assert isinstance(eio.unix.fd_of(a), int)
        assert isinstance(eio.unix.fd_of(b), int)
        await eio.flow.copy_string("foo", a)
        await eio.flow.close(a)
        msg = await eio.buf_read.BufRead.of_flow(b, max_size=10).take_all()
        eio.traceln(f"Got: {msg.decode()!r}")

    run(test)
    assert trace.lines() == ["Got: 'foo'"]


def test_bind_before_connect(trace: Trace) -> None:
    """network.md: ``connect`` with ``bind_to`` and options; the option reads back on the connected socket."""

    async def test(net: Network, sw: Switch) -> None:
        server = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), reuse_addr=True, backlog=5)
        client = await eio.net.connect(
            sw,
            net,
            eio.net.listening_addr(server),
            bind_to=Tcp(LOOPBACK_V4, 0),
            options=[eio.net.SO_REUSEADDR(True), eio.net.SO_KEEPALIVE(True)],
        )
        await eio.net.accept(sw, server)
        eio.traceln(f"keepalive={eio.net.getsockopt(client, eio.net.SO_KEEPALIVE)}")

    run(test)
    assert trace.lines() == ["keepalive=True"]


def test_a_failing_bind_before_connect_is_an_io_error(trace: Trace) -> None:
    """network.md: binding to a source address that is not local is reported as `eio.Io`."""

    async def test(net: Network, sw: Switch) -> None:
        try:
            await eio.net.connect(sw, net, Tcp(LOOPBACK_V4, 8081), bind_to=Tcp(IPv4Address("1.2.3.4"), 0))
        except eio.Io:
            eio.traceln("got Eio.Io")
        else:
            eio.traceln("unexpectedly connected")

    run(test)
    assert trace.lines() == ["got Eio.Io"]


@pytest.mark.real_os
def test_read_write_on_sock_dgram(trace: Trace) -> None:
    """network.md: ``socketpair_datagram``: each send is one message, an empty one included."""

    async def test(_net: Network, sw: Switch) -> None:
        a, b = eio.unix.net.socketpair_datagram(sw, family=socket.AF_UNIX)
        assert isinstance(eio.unix.fd_of(a), int)
        assert isinstance(eio.unix.fd_of(b), int)
        messages = [b"foo", b"bar", b"foobar", b"cellar door", b""]
        buf = bytearray(32)

        async def read() -> None:
            _addr, n = await eio.net.recv(b, buf)
            eio.traceln(f"Got: {n} bytes: {buf[:n].decode()!r}")

        for m in messages:
            await eio.net.send(a, [m])
        for _ in messages:
            await read()
        await eio.net.send(a, [b"abaca", b"bb"])
        await read()
        await eio.flow.close(a)
        await eio.flow.close(b)

    run(test)
    assert trace.lines() == [
        "Got: 3 bytes: 'foo'",
        "Got: 3 bytes: 'bar'",
        "Got: 6 bytes: 'foobar'",
        "Got: 11 bytes: 'cellar door'",
        "Got: 0 bytes: ''",
        "Got: 7 bytes: 'abacabb'",
    ]
