"""Parts of `eio.unix` that the conformance tests don't reach through ``env``, on every OS backend.

`eio.unix.FdFlow` in each of its three modes (non-blocking, readiness then a
blocking call, worker thread), reaping a child with the waiter thread used
where there are no pidfds, and `eio.unix.Fd`'s closing rules.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path as OsPath

import eio
import pytest
from conftest import run_env
from eio.process import Exited, Signaled
from eio.unix import Fd, FdFlow, UnixProcess

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix descriptors")


@pytest.mark.parametrize("nonblocking", [True, False])
def test_fd_flow_over_a_pipe(os_backend: str, nonblocking: bool) -> None:
    """A writer and a reader fiber over a pipe bigger than the pipe's buffer: every byte arrives, in order."""
    data = bytes(range(256)) * 1024  # 256 KiB: the writer must wait for the reader

    async def main(_env: eio.Stdenv) -> bytes:
        r, w = os.pipe()
        reader = FdFlow(r, owned=True, label="pipe reader", nonblocking=nonblocking)
        writer = FdFlow(w, owned=True, label="pipe writer", nonblocking=nonblocking)

        async def write() -> None:
            await eio.flow.copy(eio.flow.string_source(data), writer)
            await writer.close()

        async def read() -> bytes:
            try:
                return await eio.flow.read_all(reader)
            finally:
                await reader.close()

        _, got = await eio.fiber.pair(write, read)
        return got

    assert run_env(os_backend, main) == data


def test_fd_flow_over_a_regular_file_uses_a_worker_thread(os_backend: str, tmp_path: OsPath) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"hello\n")

    async def main(_env: eio.Stdenv) -> bytes:
        flow = FdFlow(os.open(path, os.O_RDWR | os.O_APPEND), owned=True, label="file")
        try:
            await eio.flow.copy_string("world\n", flow)
            os.lseek(flow.fileno(), 0, os.SEEK_SET)
            return await eio.flow.read_all(flow)
        finally:
            await flow.close()

    assert run_env(os_backend, main) == b"hello\nworld\n"


def test_a_closed_fd_flow_raises_resource_closed(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> list[str]:
        r, w = os.pipe()
        os.close(w)
        flow = FdFlow(r, owned=True, label="pipe")
        await flow.close()
        await flow.close()  # harmless
        out: list[str] = []
        for attempt in (lambda: eio.flow.single_read(flow, bytearray(1)), lambda: eio.flow.copy_string("x", flow)):
            try:
                await attempt()
            except ValueError as ex:  # eio.ResourceClosed is a ValueError, as Python's closed files' error
                assert isinstance(ex, eio.ResourceClosed)
                out.append(str(ex))
        return out

    assert run_env(os_backend, main) == [
        "[Errno 9] read: the pipe is closed",
        "[Errno 9] write: the pipe is closed",
    ]


def test_closing_wakes_a_reader_waiting_on_a_pipe(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> str:
        r, w = os.pipe()
        reader = FdFlow(r, owned=True, label="pipe", nonblocking=True)
        try:

            async def read() -> str:
                try:
                    await eio.flow.single_read(reader, bytearray(1))
                except eio.ResourceClosed as ex:
                    return str(ex)
                return "read?"

            async def close() -> str:
                await reader.close()
                return "closed"

            got, _ = await eio.fiber.pair(read, close)
            return got
        finally:
            os.close(w)

    assert run_env(os_backend, main) == "[Errno 9] read: the pipe is closed"


@pytest.mark.parametrize("kill", [False, True])
def test_reaping_with_a_waiter_thread(os_backend: str, kill: bool) -> None:
    """Where there are no pidfds, a worker thread waits for the child; a finished switch kills it first."""

    pids: list[int] = []

    async def main(_env: eio.Stdenv) -> eio.process.ExitStatus:
        popen = subprocess.Popen(["sleep", "30" if kill else "0"])
        pids.append(popen.pid)
        proc = UnixProcess(popen, -1, "sleep")  # no pidfd: the waiter-thread path
        async with eio.Switch.run() as sw:
            eio.fiber.fork_daemon(sw, proc.watch)
            if kill:
                sw.fail(RuntimeError("stop"))  # the switch ends: the daemon kills and reaps
            else:
                return await proc.await_()
        raise AssertionError("unreachable")

    if kill:
        with pytest.raises(RuntimeError, match="stop"):
            run_env(os_backend, main)
    else:
        assert run_env(os_backend, main) == Exited(0)
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # the child was reaped (other tests' children may still run)


def test_signal_then_waiter_thread_reports_it(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> eio.process.ExitStatus:
        proc = UnixProcess(subprocess.Popen(["sleep", "30"]), -1, "sleep")
        async with eio.Switch.run() as sw:
            eio.fiber.fork_daemon(sw, proc.watch)
            proc.signal(signal.SIGTERM)
            return await proc.await_()

    assert run_env(os_backend, main) == Signaled(signal.SIGTERM)


def test_fd_is_closed_once_and_only_when_unused() -> None:
    closed: list[int] = []
    fd = Fd(42, "thing", closer=lambda: closed.append(42))
    assert fd.use() == 42
    fd.close()
    assert fd.closed and closed == []  # still in use
    with pytest.raises(eio.ResourceClosed, match=r"^I/O operation on closed thing$"):
        fd.use()
    fd.unuse()
    assert closed == [42]
    fd.close()
    del fd
    assert closed == [42]


def test_closing_a_stream_socket_wakes_a_reader_in_another_domain(os_backend: str) -> None:
    """The read waits in the other domain's loop (a ring receive on io_uring, a selector elsewhere)."""

    async def main(env: eio.Stdenv) -> str:
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0))
            client = await eio.net.connect(sw, env.net, eio.net.listening_addr(server))
            _served, _ = await eio.net.accept(sw, server)
            reading, reading_r = eio.Promise[None].create()

            async def read_in_domain() -> str:
                reading_r.resolve(None)
                try:
                    await eio.flow.single_read(client, bytearray(10))
                except eio.ResourceClosed as ex:
                    return str(ex)
                return "read?"

            async def close_it() -> None:
                await reading
                await eio.time.sleep(env.mono_clock, 0.01)  # most likely the read waits by now
                await client.close()

            got, _ = await eio.fiber.pair(lambda: eio.domain_manager.run(env.domain_mgr, read_in_domain), close_it)
            return got

    assert run_env(os_backend, main) == "[Errno 9] read: the stream socket is closed"
