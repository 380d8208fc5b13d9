"""`eio_main.serve_processes`: one TCP port served by several worker processes, for real.

The parent runs on each backend under test; the workers run on the best
backend here (they need a network). Clients are plain blocking sockets run
on a thread pool through `eio.run_in_executor`, so the parent's loop keeps running.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
from multiprocessing import resource_tracker

import eio
import eio.net
import pytest
from conftest import Runner

import eio_main

uring = pytest.importorskip("eio_backend_uring")
if uring.unavailable_reason() is not None:
    pytest.skip(f"the workers need a backend with a network: {uring.unavailable_reason()}", allow_module_level=True)

TIMEOUT = 30.0


async def pid_echo(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
    """Answer each line with ``<pid> <line>``."""
    r = eio.BufRead.of_flow(flow, max_size=1024)
    while not await r.at_end_of_input():
        line = await r.line()
        await eio.flow.write(flow, [f"{os.getpid()} ".encode(), line, b"\n"])


async def picky_echo(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
    """Like `pid_echo`, but fails on the line ``fail``."""
    r = eio.BufRead.of_flow(flow, max_size=1024)
    line = await r.line()
    if line == b"fail":
        raise ValueError("bad request")
    await eio.flow.write(flow, [f"{os.getpid()} ".encode(), line, b"\n"])


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) - 1  # minus listdir's own


def reaped(pid: int) -> bool:
    """True once ``pid`` is gone entirely (a zombie still answers signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Client:
    """A blocking client connection, used from a pool thread."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.file = self.sock.makefile("rb")

    def ask(self, line: str) -> tuple[int, str]:
        self.sock.sendall(line.encode() + b"\n")
        pid, _, echoed = self.file.readline().decode().rstrip("\n").partition(" ")
        return int(pid), echoed

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def talk(port: int, n: int) -> tuple[int, str]:
    c = Client(port)
    try:
        return c.ask(f"hello {n}")
    finally:
        c.close()


def test_two_workers_both_serve_then_stop_cleanly(run: Runner) -> None:
    # Spawning starts multiprocessing's resource tracker once per process (and keeps its pipe): not a leak.
    resource_tracker.ensure_running()

    async def main() -> tuple[list[int], list[tuple[int, str]], int, int]:
        fds_before = open_fds()
        with concurrent.futures.ThreadPoolExecutor(8) as clients:
            async with eio.Switch.run() as sw:
                server = await eio_main.serve_processes(sw, eio.net.Tcp("127.0.0.1", 0), pid_echo, workers=2)
                port = server.addr.port
                # The kernel spreads connections by a hash of their addresses: with
                # 40 connections, the chance that one worker gets them all is 2**-39.
                replies = await eio.fiber.map(lambda n: eio.run_in_executor(clients, talk, port, n), range(40))
                pids = server.pids
            fds_after = open_fds()
            refused = await eio.run_in_executor(clients, refused_now, port)
        return pids, replies, fds_before - fds_after, refused

    pids, replies, fd_change, refused = run(main)
    assert len(pids) == 2 and os.getpid() not in pids
    assert [echoed for _, echoed in replies] == [f"hello {n}" for n in range(40)]
    assert {pid for pid, _ in replies} == set(pids)  # both workers served
    assert all(reaped(pid) for pid in pids)  # stopped, and no zombies
    assert fd_change == 0
    assert refused == 1


def refused_now(port: int) -> int:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
    except ConnectionRefusedError:
        return 1
    return 0


def test_stop_lets_open_connections_finish(run: Runner) -> None:
    async def main() -> list[str]:
        log: list[str] = []
        with concurrent.futures.ThreadPoolExecutor(2) as clients:
            async with eio.Switch.run() as sw:
                server = await eio_main.serve_processes(sw, eio.net.Tcp("127.0.0.1", 0), pid_echo, workers=1)
                c = await eio.run_in_executor(clients, Client, server.addr.port)
                try:
                    pid, echoed = await eio.run_in_executor(clients, c.ask, "before stop")
                    log.append(echoed)
                    async with eio.Switch.run() as inner:
                        stopped = eio.fiber.fork_promise(inner, server.stop)
                        # The worker has been told to stop, but the open connection is still served.
                        _, echoed = await eio.run_in_executor(clients, c.ask, "after stop")
                        log.append(echoed)
                        log.append(f"stopped before the client closed: {stopped.is_resolved()}")
                        await eio.run_in_executor(clients, c.close)
                        await stopped
                    log.append(f"worker reaped: {reaped(pid)}")
                finally:
                    c.close()
        return log

    assert run(main) == ["before stop", "after stop", "stopped before the client closed: False", "worker reaped: True"]


def test_a_worker_that_dies_fails_the_switch(run: Runner) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            server = await eio_main.serve_processes(sw, eio.net.Tcp("127.0.0.1", 0), pid_echo, workers=2)
            os.kill(server.pids[0], signal.SIGKILL)
            await eio.fiber.await_cancel()

    with pytest.raises(eio_main.WorkerExited, match=r"worker process \d+ exited with code -9 while serving tcp:127.0.0.1:\d+"):
        run(main)


def test_bad_arguments(run: Runner) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:

            async def local(flow: eio.net.StreamSocket, peer: eio.net.StreamAddr) -> None:
                pass

            with pytest.raises(TypeError, match="serve_processes: handler must be picklable .* but <function .*local"):
                await eio_main.serve_processes(sw, eio.net.Tcp("127.0.0.1", 0), local, workers=1)
            with pytest.raises(ValueError, match=r"serve_processes: workers must be at least 1 \(got 0\)"):
                await eio_main.serve_processes(sw, eio.net.Tcp("127.0.0.1", 0), pid_echo, workers=0)
            with pytest.raises(TypeError, match="addr must be an eio.net.Tcp address, not tuple"):
                await eio_main.serve_processes(sw, ("127.0.0.1", 0), pid_echo)  # type: ignore[arg-type]  # the error is the test

    run(main)


def test_a_handler_error_is_printed_and_the_worker_goes_on(run: Runner, capfd: pytest.CaptureFixture[str]) -> None:
    async def main() -> tuple[int, str]:
        with concurrent.futures.ThreadPoolExecutor(1) as clients:
            async with eio.Switch.run() as sw:
                server = await eio_main.serve_processes(sw, eio.net.Tcp("127.0.0.1", 0), picky_echo, workers=1)
                port = server.addr.port
                await eio.run_in_executor(clients, fail_once, port)
                return await eio.run_in_executor(clients, talk, port, 1)

    assert run(main)[1] == "hello 1"
    err = capfd.readouterr().err
    assert "ValueError: bad request" in err and "handling connection from tcp:127.0.0.1:" in err, err


def fail_once(port: int) -> None:
    c = Client(port)
    try:
        c.sock.sendall(b"fail\n")
        assert c.file.read() == b""  # the worker closed the connection
    finally:
        c.close()


def test_a_worker_that_cannot_listen_fails_the_start(run: Runner) -> None:
    async def main() -> None:
        with socket.socket() as taken:  # listening without SO_REUSEPORT: no one else may bind the port
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            async with eio.Switch.run() as sw:
                await eio_main.serve_processes(sw, eio.net.Tcp("127.0.0.1", port), pid_echo, workers=2)

    with pytest.raises(RuntimeError, match=r"serve_processes: worker process \d+ failed to start: .*Address already in use"):
        run(main)
