"""The trio backend's whole environment, with trio networking in the same process."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from pathlib import Path

import eio
import eio.net
import pytest
import trio

import eio_main
from eio_backend_trio import run, run_eio, run_main, run_trio


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if sys.platform == "linux" else set()


async def serve_one_upper(listener: trio.SocketListener) -> None:
    """trio code: accept one connection, read to end of input, send it back in upper case."""
    stream = await listener.accept()
    async with stream:
        data = b""
        async for chunk in stream:
            data += chunk
        await stream.send_all(data.upper())


def test_a_trio_tcp_server_from_a_fiber_with_an_eio_client() -> None:
    before = open_fds()

    async def main(env: eio.Stdenv) -> bytes:
        listeners = await run_trio(functools.partial(trio.open_tcp_listeners, 0, host="127.0.0.1"))
        listener = listeners[0]
        try:
            port = listener.socket.getsockname()[1]
            async with eio.Switch.run() as sw:
                eio.fiber.fork(sw, run_trio, serve_one_upper, listener)
                conn = await eio.net.connect(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, port))
                await eio.flow.copy_string(b"hello from eio", conn)
                await eio.flow.shutdown(conn, "send")
                return await eio.flow.read_all(conn)
        finally:
            await run_trio(listener.aclose)

    assert run(main) == b"HELLO FROM EIO"
    assert open_fds() == before


def test_one_tcp_conversation_trio_client_eio_server() -> None:
    before = open_fds()
    port_promise, port_resolver = eio.Promise[int].create()

    async def handler(flow: eio.net.StreamSocket, peer: eio.net.StreamAddr) -> None:
        data = await eio.flow.read_all(flow)
        await eio.flow.copy_string(b"eio got " + data, flow)

    async def server(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            sock = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=5)
            addr = eio.net.listening_addr(sock)
            assert isinstance(addr, eio.net.Tcp)
            port_resolver.resolve(addr.port)
            conn, peer = await eio.net.accept(sw, sock)
            await handler(conn, peer)

    async def main() -> bytes:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_main, server)
            port = await run_eio(lambda: port_promise)
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                await stream.send_all(b"a trio request")
                await stream.send_eof()
                reply = b""
                async for chunk in stream:
                    reply += chunk
        return reply

    assert trio.run(main) == b"eio got a trio request"
    assert open_fds() == before


def test_run_main_from_trio_code_gets_the_whole_environment(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("on disk")

    async def main(env: eio.Stdenv) -> tuple[str, str]:
        text = await (env.fs / str(tmp_path / "note.txt")).load()
        return env.backend_id, text.decode()

    async def trio_main() -> tuple[str, str]:
        return await run_main(main)

    assert trio.run(trio_main) == ("trio", "on disk")


def test_each_domain_is_a_trio_run_of_its_own() -> None:
    async def in_domain() -> tuple[str, bool, str]:
        await run_trio(trio.sleep, 0)
        token = await run_trio(_token)
        return eio.lowlevel.current_loop().backend_id, threading.current_thread() is threading.main_thread(), token

    async def main(env: eio.Stdenv) -> tuple[tuple[str, bool, str], str]:
        return await env.domain_mgr.run(in_domain), await run_trio(_token)

    (backend_id, on_main_thread, domain_token), main_token = run(main)
    assert (backend_id, on_main_thread) == ("trio", False)
    assert domain_token != main_token


async def _token() -> str:
    return repr(trio.lowlevel.current_trio_token())


@pytest.mark.skipif(sys.platform != "linux", reason="io_uring is Linux-only: elsewhere trio is the default anyway")
def test_eio_main_falls_back_to_trio_without_io_uring() -> None:
    # A fresh process in which the io_uring backend reports itself unavailable.
    program = """
import eio_backend_uring._plugin as uring
uring.unavailable_reason = lambda: "io_uring disabled for this test"
import eio_main

async def main(env):
    return env.backend_id

print(eio_main.choose().name, eio_main.run(main))
"""
    env = {k: v for k, v in os.environ.items() if k != "EIO_BACKEND"}
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True, timeout=120)
    assert out.stdout == "trio trio\n"


def test_eio_main_runs_on_trio_when_asked_by_name() -> None:
    async def main(env: eio.Stdenv) -> str:
        return env.backend_id

    assert eio_main.run(main, backend="trio") == "trio"


def test_a_deadlock_is_reported_and_closes_what_the_fibers_held() -> None:
    before = open_fds()
    closed: list[str] = []

    async def main(env: eio.Stdenv) -> None:
        never, _ = eio.Promise[None].create()
        async with eio.Switch.run() as sw:
            await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=5)
            sw.on_release(lambda: closed.append("switch released"))
            await never

    # A daemon thread left by an earlier test (a library's worker) adds a note line before the fibers.
    with pytest.raises(eio.Deadlock, match=r"^Deadlock detected: .*\n(  \(no wake-up came .*\)\n)?  main fiber is waiting"):
        run(main)
    assert closed == ["switch released"]
    assert open_fds() == before
