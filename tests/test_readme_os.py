"""Eio's README examples that start with ``Eio_main.run``, run for real through `eio_main.run`.

Each example runs through `eio_main.run` on every OS backend installed here
(io_uring, trio, windows...; every run checks ``env.backend_id``), with the
environment it gives, and checks that the
process holds the same file descriptors afterwards as before. Sections
covered elsewhere (test_readme_main, test_readme_fs, test_readme_process,
test_readme_sync's signals) are not repeated. Where the README's program was
already written in Python for a mock run, the same function is imported from
that test module and given the real thing here: the point of the README's
"Networking" section is that the code tested with mocks is the code that runs.

Sections here: "Cancellation", "Racing", "Switches", "Networking" (real
loopback, with the ``port 0`` the README's fixed 8080 becomes), "Design Note:
Capabilities", "Buffered Reading and Parsing" (real stdout, and real stdin
through examples/cli.py), "Buffered Writing" (also to a real socket), "Error
Handling" (real refused connections and resets), "Promises", "Example:
Concurrent Cache", "Streams", "Example: Worker Pool" (``env.domain_mgr``:
real threads), "Mutexes and Semaphores" (a real file under ``env.cwd``),
"Provider Interfaces", and the "Domainslib" and "kcas" integrations (as a
thread pool and a foreign thread resolving an `eio.Promise`).

OCaml prints strings with ``%S``; these print bytes with ``repr``, as the
mock tests of the same code do.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import os
import socket
import stat
import struct
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path as StdPath
from types import ModuleType
from typing import Protocol, TypeVar

import eio
import eio.net
import pytest
from conftest import Trace
from eio.unix import UnixStreamSocket
from test_readme_bufread import Zero, message
from test_readme_bufwrite import send_response, send_response_unbuffered
from test_readme_core import CONCURRENT_CACHE_TRACE, PROMISES_TRACE, Failure, concurrent_cache_demo, counter, promises_demo
from test_readme_mocks import handle_client, run_client, run_server
from test_readme_sync import ocaml_string, worker_pool_main

import eio_main
import eio_mock

if not os.path.isdir("/proc/self/fd"):
    pytest.skip("counts descriptors in /proc/self/fd", allow_module_level=True)

T = TypeVar("T")

EXAMPLES = StdPath(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    """``examples/<name>`` as a module (its ``__main__`` part not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{name.removesuffix('.py')}", EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fds() -> list[str]:
    """The process's open descriptors (listdir's own one is in every listing)."""
    return sorted(os.listdir("/proc/self/fd"))


_backend = ""


@pytest.fixture(autouse=True)
def _on_each_backend(env_backend: str) -> None:
    """Run every test of this module once per OS backend (as ``_backend``)."""
    global _backend
    _backend = env_backend


def run(main: Callable[[eio.Stdenv], Awaitable[T]]) -> T:
    """``Eio_main.run main``, on the backend under test, checking that no descriptor was left open."""

    async def checked(env: eio.Stdenv) -> T:
        assert env.backend_id == _backend
        return await main(env)

    before = fds()
    try:
        return eio_main.run(checked, backend=_backend)
    finally:
        assert fds() == before, "descriptors left open"


@pytest.fixture
def tmp_cwd(tmp_path: StdPath, monkeypatch: pytest.MonkeyPatch) -> Iterator[StdPath]:
    """A fresh current directory (what ``env.cwd`` is)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback TCP port that refuses connections: bound, not listening, for the whole test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def error_lines(ex: BaseException) -> list[str]:
    """Eio's way of showing an IO error without its backend part: the class, then the context notes."""
    return [f"{type(ex).__module__}.{type(ex).__qualname__}", *getattr(ex, "__notes__", [])]


# -- Cancellation, Racing, Switches -----------------------------------------------------------


def test_cancellation(trace: Trace) -> None:
    async def fails() -> None:
        raise Failure("Simulated error")

    async def main(_env: eio.Stdenv) -> None:
        await eio.fiber.both(counter("x"), fails)

    with pytest.raises(Failure, match="^Simulated error$"):
        run(main)
    assert trace.lines() == ["x = 1"]


def test_racing(trace: Trace) -> None:
    async def delayed() -> str:
        eio.traceln("first fiber delayed...")
        await eio.fiber.yield_()
        eio.traceln("delay over")
        return "a"

    async def quick() -> str:
        return "b"

    async def main(_env: eio.Stdenv) -> None:
        x = await eio.fiber.first(delayed, quick)
        eio.traceln(f"x = {ocaml_string(x)}")

    run(main)
    assert trace.lines() == ["first fiber delayed...", 'x = "b"']


def test_switches(trace: Trace) -> None:
    async def job(i: int) -> None:
        eio.traceln(f"Job {i} starting")
        await eio.fiber.yield_()
        eio.traceln(f"{i} done")

    async def main(_env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            for i in range(1, 4):
                eio.fiber.fork(sw, job, i)
            eio.traceln("All child fibers forked")
        eio.traceln("Switch is finished")

    run(main)
    assert trace.lines() == [
        "Job 1 starting",
        "Job 2 starting",
        "Job 3 starting",
        "All child fibers forked",
        "1 done",
        "2 done",
        "3 done",
        "Switch is finished",
    ]


# -- Networking ------------------------------------------------------------------------------

README_NET_TRACE = [
    "Client: connecting to server",
    "Server: got connection from client",
    "Client: received b'Hello from server'",
]


async def net_main(net: eio.net.Network, addr: eio.net.StreamAddr) -> eio.net.StreamAddr:
    """The README's ``main``; it connects to the address the server really got, and returns it.

    The README listens on port 8080; port 0 lets the kernel pick a free one,
    so the client is given `eio.net.listening_addr` of the server.
    """
    async with eio.Switch.run(name="main") as sw:
        server = await eio.net.listen(sw, net, addr, reuse_addr=True, backlog=5)
        eio.fiber.fork_daemon(sw, run_server, server)
        real = eio.net.listening_addr(server)
        await run_client(net, real)
        return real


def test_client_and_server_over_the_real_network(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> eio.net.StreamAddr:
        return await net_main(env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0))

    addr = run(main)
    assert isinstance(addr, eio.net.Tcp)
    assert addr.ip == eio.net.LOOPBACK_V4 and addr.port != 0
    # The order is forced: the server only hears of the client once it connects,
    # and the client only reads the reply once the server has sent it.
    assert trace.lines() == README_NET_TRACE


def test_accept_fork_serves_one_client_the_same_way(trace: Trace) -> None:
    """`run_server` is a loop over `eio.net.accept_fork`; one accept gives the same exchange."""

    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run(name="main") as sw:
            server = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=5)

            async def serve_one() -> None:
                await eio.net.accept_fork(sw, server, handle_client)

            eio.fiber.fork(sw, serve_one)
            await run_client(env.net, eio.net.listening_addr(server))

    run(main)
    assert trace.lines() == README_NET_TRACE


# -- Design Note: Capabilities -----------------------------------------------------------------


class HasNet(Protocol):
    """All the authority the networking example needs."""

    @property
    def net(self) -> eio.net.Network:
        """The network."""
        ...


@dataclass(frozen=True)
class OnlyNet:
    """An environment holding nothing but a network."""

    net: eio.net.Network


Connect = Callable[[eio.Switch], Awaitable[eio.net.StreamSocket]]


async def run_client_with(connect: Connect) -> None:
    """``run_client`` given only a way to connect to one address, not the whole network."""
    async with eio.Switch.run(name="client") as sw:
        eio.traceln("Client: connecting to server")
        flow = await connect(sw)
        eio.traceln(f"Client: received {await eio.flow.read_all(flow)!r}")


async def audited_main(env: HasNet) -> None:
    """The networking example, taking from ``env`` only its network and giving the client one address."""
    net = env.net
    async with eio.Switch.run(name="main") as sw:
        server = await eio.net.listen(sw, net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), reuse_addr=True, backlog=5)
        eio.fiber.fork_daemon(sw, run_server, server)
        addr = eio.net.listening_addr(server)

        async def connect(sw: eio.Switch) -> eio.net.StreamSocket:
            return await eio.net.connect(sw, net, addr)

        await run_client_with(connect)


def test_the_example_needs_only_the_network(trace: Trace) -> None:
    """Given an environment that has nothing but ``net``, the program runs just the same."""

    async def main(env: eio.Stdenv) -> None:
        await audited_main(OnlyNet(env.net))

    run(main)
    assert trace.lines() == README_NET_TRACE


def test_the_full_environment_is_also_enough(trace: Trace) -> None:
    run(audited_main)
    assert trace.lines() == README_NET_TRACE


# -- Buffered Reading and Parsing --------------------------------------------------------------

CLI_INPUT = "help\nexit\nquit\nbye\nstop\n"

# The README's output: trace lines (+) and stdout lines, in the order they were written.
CLI_OUTPUT = [
    "+> help",
    "It's just an example",
    "+> exit",
    'Unknown command "exit"',
    "+> quit",
    'Unknown command "quit"',
    "+> bye",
    'Unknown command "bye"',
    "+> stop",
    'Unknown command "stop"',
]


def test_cli_with_test_data_writes_to_the_real_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    cli = load_example("cli.py").cli

    async def main(env: eio.Stdenv) -> None:
        await cli(eio.flow.string_source(CLI_INPUT), env.stdout)

    with pytest.raises(eio.EndOfFile):
        run(main)
    out, err = capfd.readouterr()
    assert out.splitlines() == [line for line in CLI_OUTPUT if not line.startswith("+")]
    assert err.splitlines() == [line for line in CLI_OUTPUT if line.startswith("+")]


def test_cli_program_on_the_real_stdin() -> None:
    """examples/cli.py reads its real stdin; stdout and stderr share one pipe, so the order shows."""
    env = {**os.environ, "EIO_BACKEND": _backend}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "cli.py")],
        input=CLI_INPUT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert lines[: len(CLI_OUTPUT)] == CLI_OUTPUT
    # "Exception: End_of_file." in the README; Python's traceback ends with the exception.
    assert lines[len(CLI_OUTPUT)] == "Traceback (most recent call last):"
    assert lines[-1] == "eio.EndOfFile"


def test_parsers_combine(trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        flow = eio.flow.string_source("FROM:Alice\nHello!\n")
        try:
            m = await eio.buf_read.parse(message, flow, max_size=1024)
        except eio.buf_read.ParseError as err:
            eio.traceln(f"Parse failed: {err}")
        else:
            eio.traceln(f"{m.src} sent {m.body!r}")

    run(main)
    assert trace.lines() == ["Alice sent 'Hello!\\n'"]


# -- Buffered Writing --------------------------------------------------------------------------


def test_three_unbuffered_writes(trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        await send_response_unbuffered(eio_mock.flow.make("socket"))

    run(main)
    assert trace.lines() == [
        "socket: wrote b'HTTP/1.1 200 OK\\r\\n'",
        "socket: wrote b'\\r\\n'",
        "socket: wrote b'Body data'",
    ]


def test_buffered_writes_combined(trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        await send_response(eio_mock.flow.make("socket"))

    run(main)
    assert trace.lines() == [
        "socket: wrote b'HTTP/1.1 200 OK\\r\\n\\r\\n'",
        "socket: wrote b'Body data'",
    ]


class TracedSink:
    """A real socket's sending side that traces what each ``single_write`` is given."""

    def __init__(self, inner: eio.net.StreamSocket) -> None:
        self.inner = inner

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Trace the buffers, then write them to the socket."""
        eio.traceln(f"socket: wrote {b''.join(bufs)!r}")
        return await self.inner.single_write(bufs)


@pytest.mark.parametrize(
    ("send", "writes"),
    [
        (send_response_unbuffered, [b"HTTP/1.1 200 OK\r\n", b"\r\n", b"Body data"]),
        (send_response, [b"HTTP/1.1 200 OK\r\n\r\n", b"Body data"]),
    ],
    ids=["unbuffered", "buffered"],
)
def test_writes_to_a_real_socket(send: Callable[[eio.flow.Sink], Awaitable[None]], writes: list[bytes], trace: Trace) -> None:
    """On a real socket the buffered response is two writes (the first two strings in one), not three."""

    async def main(env: eio.Stdenv) -> bytes:
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=1)
            client = await eio.net.connect(sw, env.net, eio.net.listening_addr(server))
            served, _peer = await eio.net.accept(sw, server)
            await send(TracedSink(served))
            await served.close()
            return await eio.flow.read_all(client)

    assert run(main) == b"HTTP/1.1 200 OK\r\n\r\nBody data"
    assert trace.lines() == [f"socket: wrote {w!r}" for w in writes]


# -- Error Handling ----------------------------------------------------------------------------


async def connect_to(env: eio.Stdenv, port: int) -> None:
    """The README's failing block: connect to a loopback port."""
    net = env.net
    async with eio.Switch.run() as sw:
        await eio.net.connect(sw, net, eio.net.Tcp(eio.net.LOOPBACK_V4, port))


def test_connection_refused_in_full(refusing_port: int) -> None:
    """With the backend part: the OS error is the cause; the context is a note."""

    async def main(env: eio.Stdenv) -> None:
        await connect_to(env, refusing_port)

    with pytest.raises(eio.net.ConnectionFailure) as info:
        run(main)
    ex = info.value
    assert type(ex) is eio.net.ConnectionRefused
    assert ex.reason == "refused"
    assert isinstance(ex, ConnectionRefusedError)
    cause = ex.__cause__
    assert type(cause) is ConnectionRefusedError
    assert (cause.errno, cause.strerror) == (111, "Connection refused")
    assert info.exconly().splitlines() == [
        "eio.net.ConnectionRefused: [Errno 111] Connection refused",
        f"connecting to tcp:127.0.0.1:{refusing_port}",
    ]


def test_connection_refused_without_the_backend_part(refusing_port: int) -> None:
    async def main(env: eio.Stdenv) -> None:
        await connect_to(env, refusing_port)

    with pytest.raises(eio.net.ConnectionFailure) as info:
        run(main)
    normalised = [line.replace(f":{refusing_port}", ":1234") for line in error_lines(info.value)]
    assert normalised == ["eio.net.ConnectionRefused", "connecting to tcp:127.0.0.1:1234"]


async def get(net: eio.net.Network, host: str, path: str, service: str = "http") -> str:
    """The README's ``get``, with the service as a parameter (nothing here serves ``http``)."""

    async def fetch_page(_flow: eio.net.StreamSocket) -> str:
        return "..."

    try:
        return await eio.net.with_tcp_connect(net, host, service, fetch_page)
    except eio.Io as ex:
        ex.add_note(f"fetching http://{host}/{path}")
        raise


def test_get_adds_the_url_to_a_real_error(refusing_port: int) -> None:
    async def main(env: eio.Stdenv) -> str:
        return await get(env.net, "127.0.0.1", "index.html", service=str(refusing_port))

    with pytest.raises(eio.net.ConnectionFailure) as info:
        run(main)
    assert error_lines(info.value) == [
        "eio.net.ConnectionRefused",
        f"connecting to tcp:127.0.0.1:{refusing_port}",
        f"connecting to '127.0.0.1':{refusing_port}",
        "fetching http://127.0.0.1/index.html",
    ]


async def classify(r: eio.BufRead) -> str:
    """The README's ``test``: the first case matches the backend's own error (the cause)."""
    try:
        return (await r.line()).decode()
    except eio.net.ConnectionReset as ex:
        if isinstance(ex.__cause__, ConnectionResetError):
            return "Unix connection reset"
        return "Connection reset"
    except eio.net.NetError:
        return "Some network error"
    except eio.Io:
        return "Some I/O error"


@pytest.mark.real_os
def test_a_real_connection_reset_is_a_unix_connection_reset() -> None:
    async def main(env: eio.Stdenv) -> str:
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=1)
            client = await eio.net.connect(sw, env.net, eio.net.listening_addr(server))
            served, _peer = await eio.net.accept(sw, server)
            assert isinstance(served, UnixStreamSocket)
            # SO_LINGER with a zero timeout: closing sends RST instead of FIN.
            served.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            await served.close()
            return await classify(eio.BufRead.of_flow(client, max_size=100))

    assert run(main) == "Unix connection reset"


# -- Promises, Concurrent Cache, Streams -------------------------------------------------------


def test_promises(trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        await promises_demo()

    run(main)
    assert trace.lines() == PROMISES_TRACE


def test_concurrent_cache(trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        await concurrent_cache_demo()

    run(main)
    assert trace.lines() == CONCURRENT_CACHE_TRACE


def test_streams(trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        stream = eio.Stream[int](2)

        async def adder() -> None:
            for i in range(1, 6):
                eio.traceln(f"Adding {i}...")
                await stream.add(i)

        async def taker() -> None:
            for _ in range(1, 6):
                eio.traceln(f"Got {await stream.take()}")
                await eio.fiber.yield_()

        await eio.fiber.both(adder, taker)

    run(main)
    assert trace.lines() == [
        "Adding 1...",
        "Adding 2...",
        "Adding 3...",
        "Got 1",
        "Adding 4...",
        "Got 2",
        "Adding 5...",
        "Got 3",
        "Got 4",
        "Got 5",
    ]


# -- Example: Worker Pool ----------------------------------------------------------------------


def test_worker_pool_on_the_environments_domains(trace: Trace) -> None:
    """``env.domain_mgr`` runs the workers on threads: the order varies, what must happen does."""

    async def main(env: eio.Stdenv) -> None:
        await worker_pool_main(env.domain_mgr)

    run(main)
    lines = trace.lines()
    processing = [line for line in lines if " processing request " in line]
    assert sorted(line for line in lines if line not in processing) == sorted(
        ["Worker A ready", "Worker B ready"]
        + [f"Client {i} submitting job..." for i in (1, 2, 3)]
        + [f"Client {i} got Processed:{i}" for i in (1, 2, 3)]
    )
    assert sorted(int(line.rsplit(" ", 1)[1]) for line in processing) == [1, 2, 3]
    for line in processing:
        worker, request = line.split()[1], line.rsplit(" ", 1)[1]
        assert lines.index(f"Worker {worker} ready") < lines.index(line)
        assert lines.index(f"Client {request} submitting job...") < lines.index(line)
        assert lines.index(line) < lines.index(f"Client {request} got Processed:{request}")


# -- Mutexes and Semaphores ---------------------------------------------------------------------


class AtomicFile:
    """The README's ``Atomic_file``: loads never see a save half done."""

    def __init__(self, path: eio.Path) -> None:
        self.path = path
        self.mutex = eio.Mutex()

    async def save(self, data: str) -> None:
        """Replace the file's contents; a cancel waits until the data is written."""
        async with self.mutex.use_rw(protect=True):
            await self.path.save(data, create="or_truncate", perm=0o644)

    async def load(self) -> bytes:
        """The file's contents, once no save is in progress."""
        async with self.mutex.use_ro():
            return await self.path.load()


@pytest.mark.real_os
def test_mutex_protected_file(trace: Trace, tmp_cwd: StdPath) -> None:
    (tmp_cwd / "data").write_text("the old contents, longer than the new")

    async def main(env: eio.Stdenv) -> None:
        t = AtomicFile(env.cwd / "data")

        async def loader() -> None:
            data = await t.load()
            eio.traceln(f"Loaded: {ocaml_string(data.decode())}")

        await eio.fiber.both(lambda: t.save("some data"), loader)

    run(main)
    assert trace.lines() == ['Loaded: "some data"']
    assert (tmp_cwd / "data").read_text() == "some data"


@pytest.mark.real_os
def test_mutex_file_is_created_with_mode_644(tmp_cwd: StdPath) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        t = AtomicFile(env.cwd / "data")
        await t.save("some data")
        return await t.load()

    umask = os.umask(0)
    os.umask(umask)
    assert run(main) == b"some data"
    assert stat.S_IMODE((tmp_cwd / "data").stat().st_mode) == 0o644 & ~umask


@pytest.mark.real_os
def test_a_cancelled_save_still_writes_all_the_data(tmp_cwd: StdPath) -> None:
    """``protect=True``: the save finishes even though its fiber is cancelled during it."""

    async def main(env: eio.Stdenv) -> None:
        t = AtomicFile(env.cwd / "data")

        async def fails() -> None:
            raise Failure("cancel the save")

        await eio.fiber.both(lambda: t.save("some data"), fails)

    with pytest.raises(Failure, match="^cancel the save$"):
        run(main)
    assert (tmp_cwd / "data").read_text() == "some data"


# -- Provider Interfaces -----------------------------------------------------------------------


def test_provider_interface_zero(trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        r = eio.BufRead.of_flow(Zero(), max_size=100)
        eio.traceln(f"Got: {await r.take(4)!r}")

    run(main)
    assert trace.lines() == ["Got: b'\\x00\\x00\\x00\\x00'"]


# -- Integrations: Domainslib, kcas ------------------------------------------------------------


def fib(n: int) -> int:
    """The ``n``-th Fibonacci number (the README's compute-intensive function)."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def test_results_from_a_foreign_pool_resolve_eio_promises(trace: Trace) -> None:
    """ "Domainslib": work runs on a pool the loop doesn't own; a promise brings the result back."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:

        async def run_in_pool(fn: Callable[[int], int], x: int) -> int:
            result, set_result = eio.Promise[int].create()

            def job() -> None:
                try:
                    r = fn(x)
                except Exception as ex:
                    set_result.resolve_error(ex)
                else:
                    set_result.resolve(r)

            pool.submit(job)
            return await result

        async def main(_env: eio.Stdenv) -> None:
            async def fib30() -> None:
                eio.traceln(f"fib 30 = {await run_in_pool(fib, 30)}")

            async def fib10() -> None:
                eio.traceln(f"fib 10 = {await run_in_pool(fib, 10)}")

            await eio.fiber.both(fib30, fib10)

        run(main)
    # The pool's threads finish in either order.
    assert sorted(trace.lines()) == ["fib 10 = 55", "fib 30 = 832040"]


def test_a_foreign_thread_and_an_eio_program_wait_for_each_other() -> None:
    """ "kcas": a raw thread waits for x, then sets y; the eio program sets x, then waits for y."""
    x = 0
    x_set = threading.Event()
    y, set_y = eio.Promise[int].create()
    joined: list[int] = []

    def foreign_domain() -> None:
        x_set.wait()
        set_y.resolve(22)
        joined.append(x)

    thread = threading.Thread(target=foreign_domain)
    thread.start()

    async def main(_env: eio.Stdenv) -> int:
        nonlocal x
        x = 20
        x_set.set()
        return await y

    got = run(main)
    thread.join()
    assert got + joined[0] == 42
