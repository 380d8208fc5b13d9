"""Servers keep serving: `eio.net.run_server` and `accept_fork` survive failed connections.

A handler's error, a client that resets and an accept that runs out of file
descriptors are reported (to ``on_error``, or by default to the ``"eio"``
logger) and the server goes on with the next client; only cancellation or
``stop`` ends it, and ``stop`` closes the listening socket at once, so that
new clients are refused while the connections in progress finish.

The tests with a scripted listening socket run on every backend; those with
real sockets on the io_uring backend.
"""

from __future__ import annotations

import errno
import logging
import os
import resource
import socket
import struct
from collections.abc import Iterator

import eio
import eio.net
import pytest
from conftest import Runner, Trace
from eio.net import LOOPBACK_V4, StreamAddr, StreamSocket, Tcp

import eio_mock

PEER = Tcp(LOOPBACK_V4, 4321)


class SimulatedError(Exception):
    """An error the test raises on purpose."""


def notes(ex: BaseException | None) -> list[str]:
    return list(getattr(ex, "__notes__", []))


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, BaseException | None]]:
    """``(message, exception)`` of each record the ``"eio"`` logger wrote."""
    return [(r.getMessage(), r.exc_info[1] if r.exc_info else None) for r in caplog.records if r.name == "eio"]


# -- a scripted listening socket (every backend) ------------------------------------------


class ScriptedListener:
    """A `ListeningSocket` whose accepts raise the given errors, then give one connection, then wait forever."""

    def __init__(self, errors: list[OSError]) -> None:
        self.errors = errors
        self.accepts = 0
        self.closed = False
        self.flow = eio_mock.flow.make("conn")
        eio_mock.flow.on_read(self.flow, [eio_mock.Return(b"hello"), eio_mock.Raise(eio.EndOfFile())])
        self._given = False

    async def accept(self, sw: eio.Switch, /) -> tuple[StreamSocket, StreamAddr]:
        self.accepts += 1
        if self.errors:
            raise self.errors.pop(0)
        if not self._given:
            self._given = True
            eio_mock.flow.attach_to_switch(self.flow, sw)
            return self.flow, PEER
        never, _ = eio.Promise[None].create()
        await never
        raise AssertionError("unreachable")

    def listening_addr(self) -> StreamAddr:
        return Tcp(LOOPBACK_V4, 80)

    async def close(self) -> None:
        self.closed = True
        eio.traceln("listener: closed")


def test_out_of_descriptors_is_logged_and_accepting_goes_on(
    run: Runner, trace: Trace, caplog: pytest.LogCaptureFixture
) -> None:
    listener = ScriptedListener([OSError(errno.EMFILE, "Too many open files")] * 3 + [OSError(errno.ECONNABORTED, "aborted")])

    async def main() -> str:
        stop, stopper = eio.Promise[str].create()

        async def handler(flow: StreamSocket, peer: StreamAddr) -> None:
            data = await eio.flow.read_all(flow)
            eio.traceln(f"handled {data!r} from {peer}")
            stopper.resolve("done")

        return await eio.net.run_server(listener, handler, stop=stop)

    with caplog.at_level(logging.ERROR, logger="eio"):
        assert run(main) == "done"
    assert listener.accepts == 6  # 4 failures, the connection, the accept cancelled by stop
    logged = errors_logged(caplog)
    assert [m for m, _ in logged] == 3 * [
        "eio.net.run_server: accepting a connection failed: Io: [Errno 24] Too many open files"
    ] + ["eio.net.run_server: accepting a connection failed: ConnectionReset: [Errno 103] aborted"]
    for _, ex in logged:
        assert isinstance(ex, eio.Io) and notes(ex) == ["accepting a connection"]
    assert trace.lines() == [
        "conn: read b'hello'",
        "handled b'hello' from tcp:127.0.0.1:4321",
        "conn: closed",
        "listener: closed",
    ]


def test_accept_errors_go_to_on_error_when_given(run: Runner, caplog: pytest.LogCaptureFixture) -> None:
    listener = ScriptedListener([OSError(errno.ENFILE, "Too many open files in system")])
    reported: list[str] = []

    async def main() -> None:
        async with eio.Switch.run() as sw:

            async def handler(flow: StreamSocket, peer: StreamAddr) -> None:
                await eio.flow.read_all(flow)

            async def on_error(ex: Exception) -> None:
                reported.append(f"{type(ex).__name__} {ex.errno if isinstance(ex, OSError) else None} {notes(ex)}")

            # accept_fork itself retries after a transient accept error.
            await eio.net.accept_fork(sw, listener, handler, on_error=on_error)

    with caplog.at_level(logging.ERROR, logger="eio"):
        run(main)
    assert reported == [f"Io {errno.ENFILE} ['accepting a connection']"]
    assert errors_logged(caplog) == []
    assert listener.accepts == 2


def test_an_error_about_the_socket_itself_ends_the_server(run: Runner) -> None:
    listener = ScriptedListener([OSError(errno.EBADF, "Bad file descriptor")])

    async def main() -> None:
        async def handler(flow: StreamSocket, peer: StreamAddr) -> None:
            raise AssertionError("no connection is accepted")

        await eio.net.run_server(listener, handler)

    with pytest.raises(eio.Io, match=r"Bad file descriptor") as info:
        run(main)
    assert info.value.errno == errno.EBADF
    assert listener.accepts == 1


def test_handler_errors_are_logged_and_the_next_client_is_served(
    run: Runner, trace: Trace, caplog: pytest.LogCaptureFixture
) -> None:
    sock = eio_mock.net.listening_socket("tcp/80")
    flows = [eio_mock.flow.make(f"flow{i}") for i in range(3)]
    for f in flows:
        eio_mock.flow.on_read(f, [eio_mock.Return(b"Hi"), eio_mock.Raise(eio.EndOfFile())])
    never, _ = eio.Promise[tuple[StreamSocket, StreamAddr]].create()
    actions: list[eio_mock.Action[tuple[StreamSocket, StreamAddr]]] = [
        eio_mock.Return((f, Tcp(LOOPBACK_V4, 30000 + i))) for i, f in enumerate(flows)
    ]
    eio_mock.net.on_accept(sock, [*actions, eio_mock.Await(never)])

    async def main() -> None:
        stop, stopper = eio.Promise[None].create()
        served = 0

        async def handler(flow: StreamSocket, peer: StreamAddr) -> None:
            nonlocal served
            served += 1
            if served == 1:
                raise SimulatedError(f"bad client {peer}")
            if served == 2:
                raise eio.net.ConnectionReset(errno.ECONNRESET, "Connection reset by peer")
            await eio.flow.read_all(flow)
            eio.traceln(f"served {peer}")
            stopper.resolve(None)

        await eio.net.run_server(sock, handler, max_connections=1, stop=stop)

    with caplog.at_level(logging.ERROR, logger="eio"):
        run(main)
    logged = errors_logged(caplog)
    assert [m for m, _ in logged] == [
        "eio.net.run_server: connection from tcp:127.0.0.1:30000 failed: SimulatedError: bad client tcp:127.0.0.1:30000",
        "eio.net.run_server: connection from tcp:127.0.0.1:30001 failed: ConnectionReset: "
        "[Errno 104] Connection reset by peer",
    ]
    assert [notes(ex) for _, ex in logged] == [
        ["handling connection from tcp:127.0.0.1:30000"],
        ["handling connection from tcp:127.0.0.1:30001"],
    ]
    assert trace.lines()[-3:] == ["served tcp:127.0.0.1:30002", "flow2: closed", "tcp/80: closed"]


def test_run_server_checks_its_arguments_first(run: Runner) -> None:
    listener = ScriptedListener([])

    async def handler(flow: StreamSocket, peer: StreamAddr) -> None:
        pass

    async def main() -> None:
        with pytest.raises(TypeError, match=r"^eio.net.run_server: on_error must be a function or None, got str$"):
            await eio.net.run_server(listener, handler, on_error="log")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.net.run_server: stop must be an eio.Promise or None, got bool$"):
            await eio.net.run_server(listener, handler, stop=True)  # pyright: ignore[reportCallIssue, reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.net.run_server: max_connections must be an int or None, got '5'$"):
            await eio.net.run_server(listener, handler, max_connections="5")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.net.run_server: handler must be an async function, got NoneType$"):
            await eio.net.run_server(listener, None)  # pyright: ignore[reportArgumentType] - the error tested

    run(main)
    assert listener.accepts == 0 and not listener.closed


# -- real sockets (io_uring) -----------------------------------------------------------------

uring_only = pytest.mark.skipif(
    not any(name == "uring" for name, _ in __import__("conftest").BACKENDS), reason="io_uring is unavailable"
)


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    before = _fds()
    yield
    assert _fds() - before == set()


class ClosingWatcher:
    """A `ListeningSocket` wrapper that says when `run_server` closes the real socket."""

    def __init__(self, sock: eio.net.ListeningSocket) -> None:
        self.sock = sock
        self.closed, self._closed = eio.Promise[None].create()

    async def accept(self, sw: eio.Switch, /) -> tuple[StreamSocket, StreamAddr]:
        return await self.sock.accept(sw)

    def listening_addr(self) -> StreamAddr:
        return self.sock.listening_addr()

    async def close(self) -> None:
        await self.sock.close()
        self._closed.try_resolve(None)


def _reset_client(port: int) -> None:
    """Connect, then close with SO_LINGER 0: the server's side gets a reset."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


@uring_only
@pytest.mark.usefixtures("no_fd_leak")
def test_real_server_survives_a_failing_handler_and_a_reset_then_refuses_after_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from eio_backend_uring._net import UringNetwork
    from eio_backend_uring._run import run_plain

    async def main() -> list[str]:
        net = UringNetwork()
        out: list[str] = []
        async with eio.Switch.run() as sw:
            real = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0), backlog=16)
            sock = ClosingWatcher(real)
            addr = eio.net.listening_addr(sock)
            assert isinstance(addr, Tcp)
            stop, stopper = eio.Promise[str].create()
            release, releaser = eio.Promise[None].create()
            count = 0

            async def handler(flow: StreamSocket, peer: StreamAddr) -> None:
                nonlocal count
                count += 1
                first = (await eio.BufRead.of_flow(flow, max_size=100).line()).decode()
                if first == "fail":
                    raise SimulatedError("the handler failed")
                if first == "slow":
                    await eio.flow.copy_string(b"waiting\n", flow)
                    await release
                await eio.flow.copy_string(f"served {first}\n".encode(), flow)

            async def server() -> None:
                out.append(await eio.net.run_server(sock, handler, stop=stop))

            async def clients() -> None:
                async with eio.Switch.run() as csw:

                    async def ask(line: str) -> str:
                        conn = await eio.net.connect(csw, net, addr)
                        await eio.flow.copy_string(f"{line}\n", conn)
                        await eio.flow.shutdown(conn, "send")
                        try:
                            return (await eio.flow.read_all(conn)).decode()
                        except eio.net.ConnectionReset:
                            return "<reset>"
                        finally:
                            await conn.close()

                    assert await ask("fail") == ""
                    await eio.lowlevel.run_in_systhread(lambda: _reset_client(addr.port))
                    assert await ask("one") == "served one\n"
                    # A connection in progress when the server is stopped...
                    slow = await eio.net.connect(csw, net, addr)
                    await eio.flow.copy_string(b"slow\n", slow)
                    r = eio.BufRead.of_flow(slow, max_size=100)
                    assert await r.line() == b"waiting"
                    stopper.resolve("stopped")
                    await sock.closed
                    # ...new clients are refused at once...
                    with pytest.raises(eio.net.ConnectionFailure) as info:
                        await eio.net.connect(csw, net, addr)
                    out.append(f"new client: {info.value.reason}")
                    # ...while the one in progress finishes.
                    releaser.resolve(None)
                    out.append((await r.line()).decode())
                    await slow.close()

            await eio.fiber.both(server, clients)
        return out

    with caplog.at_level(logging.ERROR, logger="eio"):
        out = run_plain(main)
    assert out[0] == "new client: refused"
    assert sorted(out[1:]) == ["served slow", "stopped"]
    logged = errors_logged(caplog)
    # (In the order the handlers failed: the reset may be noticed first.)
    assert sorted(type(ex).__name__ for _, ex in logged) == ["ConnectionReset", "SimulatedError"]
    reset, failed = sorted(m.partition(" failed: ")[2] for m, _ in logged)
    assert failed == "SimulatedError: the handler failed"
    # (The backend may say which call was reset: "[Errno 104] read: Connection reset by peer".)
    assert reset.startswith("ConnectionReset: [Errno 104] ") and reset.endswith("Connection reset by peer")
    assert all(m.startswith("eio.net.run_server: connection from tcp:127.0.0.1:") for m, _ in logged)


@uring_only
@pytest.mark.usefixtures("no_fd_leak")
def test_a_port_in_use_is_address_in_use() -> None:
    from eio_backend_uring._net import UringNetwork
    from eio_backend_uring._run import run_plain

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def main() -> None:
            async with eio.Switch.run() as sw:
                with pytest.raises(eio.net.AddressInUse) as info:
                    await eio.net.listen(sw, UringNetwork(), Tcp(LOOPBACK_V4, port))
                ex = info.value
                assert isinstance(ex, eio.net.NetError) and isinstance(ex, OSError)
                assert ex.errno == errno.EADDRINUSE
                assert notes(ex) == [f"listening on tcp:127.0.0.1:{port}"]

        run_plain(main)


def test_eaddrinuse_maps_to_address_in_use() -> None:
    from eio._io_errors import from_oserror

    err = from_oserror(OSError(errno.EADDRINUSE, "Address already in use"))
    assert type(err) is eio.net.AddressInUse
    exported: list[str] = getattr(eio.net, "__all__")
    assert type(err).__module__ == "eio.net" and "AddressInUse" in exported
    assert err.errno == errno.EADDRINUSE and str(err) == "[Errno 98] Address already in use"


class PromiseOnLog(logging.Handler):
    """Resolves a promise with the first record's error (the loop's own thread emits it)."""

    def __init__(self, resolver: eio.Resolver[BaseException | None]) -> None:
        super().__init__(logging.ERROR)
        self.resolver = resolver

    def emit(self, record: logging.LogRecord) -> None:
        self.resolver.try_resolve(record.exc_info[1] if record.exc_info else None)


@uring_only
@pytest.mark.usefixtures("no_fd_leak")
def test_a_real_emfile_is_logged_and_the_client_is_served_once_descriptors_are_free(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from eio_backend_uring._net import UringNetwork
    from eio_backend_uring._run import run_plain

    async def main() -> bytes:
        net = UringNetwork()
        logged, log_resolver = eio.Promise[BaseException | None].create()
        catcher = PromiseOnLog(log_resolver)
        logging.getLogger("eio").addHandler(catcher)
        filler: list[int] = []
        try:
            async with eio.Switch.run() as sw:
                sock = await eio.net.listen(sw, net, Tcp(LOOPBACK_V4, 0))
                addr = eio.net.listening_addr(sock)
                assert isinstance(addr, Tcp)
                stop, stopper = eio.Promise[None].create()

                async def handler(flow: StreamSocket, peer: StreamAddr) -> None:
                    await eio.flow.copy_string(b"served", flow)
                    stopper.resolve(None)

                async def server() -> None:
                    await eio.net.run_server(sock, handler, stop=stop)

                async def client() -> bytes:
                    # Use up every descriptor but one, which the client's socket takes:
                    # the server's accept then has none.
                    try:
                        while True:
                            filler.append(os.dup(0))
                    except OSError as ex:
                        assert ex.errno == errno.EMFILE
                    os.close(filler.pop())

                    def connect() -> socket.socket:
                        return socket.create_connection(("127.0.0.1", addr.port))

                    conn = await eio.lowlevel.run_in_systhread(connect)
                    try:
                        error = await logged
                        # The accept failed for want of a descriptor; free them and the server goes on.
                        assert isinstance(error, eio.Io) and error.errno == errno.EMFILE
                        for fd in filler:
                            os.close(fd)
                        filler.clear()
                        return await eio.lowlevel.run_in_systhread(lambda: conn.recv(100))
                    finally:
                        conn.close()

                _, reply = await eio.fiber.pair(server, client)
                return reply
        finally:
            logging.getLogger("eio").removeHandler(catcher)
            for fd in filler:
                os.close(fd)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # A small limit, so that using up the descriptors is quick.
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, len(_fds()) + 64), hard))
    try:
        with caplog.at_level(logging.ERROR, logger="eio"):
            assert run_plain(main) == b"served"
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    [(message, error)] = errors_logged(caplog)
    assert message == "eio.net.run_server: accepting a connection failed: Io: [Errno 24] Too many open files"
    assert notes(error) == ["accepting a connection"]


class FailingCloseFlow:
    """A connection whose ``close`` fails."""

    async def single_read(self, buf: memoryview, /) -> int:
        raise eio.EndOfFile

    async def single_write(self, bufs: object, /) -> int:
        raise AssertionError("not used")

    async def shutdown(self, how: object, /) -> None:
        pass

    async def close(self) -> None:
        raise eio.Io("close failed")


class TwoFailingCloses(ScriptedListener):
    def __init__(self) -> None:
        super().__init__([])
        self.flows = [FailingCloseFlow(), FailingCloseFlow()]

    async def accept(self, sw: eio.Switch, /) -> tuple[StreamSocket, StreamAddr]:
        self.accepts += 1
        if self.flows:
            return self.flows.pop(0), Tcp(LOOPBACK_V4, 30000 + self.accepts)
        never, _ = eio.Promise[None].create()
        await never
        raise AssertionError("unreachable")


def test_a_failing_close_is_one_more_failed_connection(run: Runner, caplog: pytest.LogCaptureFixture) -> None:
    listener = TwoFailingCloses()

    async def main() -> str:
        stop, stopper = eio.Promise[str].create()

        async def handler(flow: StreamSocket, peer: StreamAddr) -> None:
            if listener.accepts == 1:
                raise SimulatedError("handler failed")
            stopper.resolve("done")

        return await eio.net.run_server(listener, handler, stop=stop)

    with caplog.at_level(logging.ERROR, logger="eio"):
        assert run(main) == "done"
    [(m1, e1), (m2, e2)] = errors_logged(caplog)
    assert m1 == "eio.net.run_server: connection from tcp:127.0.0.1:30001 failed: SimulatedError: handler failed"
    assert notes(e1) == [
        "closing the connection then failed: Io: close failed",
        "handling connection from tcp:127.0.0.1:30001",
    ]
    assert m2 == "eio.net.run_server: connection from tcp:127.0.0.1:30002 failed: Io: close failed"
    assert notes(e2) == ["closing connection from tcp:127.0.0.1:30002"]
