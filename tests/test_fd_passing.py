"""Eio's tests/fd_passing.md: open files passed over a Unix-domain socket (``send_msg`` with ``fds``), on every OS backend.

Each test runs in a fresh temporary current directory (``env.cwd``) and
checks that no descriptor was left open.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import eio
import eio.unix.net
import pytest
from conftest import Trace, run_checked
from eio.net import Unix
from eio.unix import UnixSocket

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

T = TypeVar("T")
go = run_checked  # main(env) on a backend, checking nothing is left open or unreaped


def unix_socket(sock: object) -> UnixSocket:
    assert isinstance(sock, UnixSocket)
    return sock


async def send_and_read(to_send: list[int], r: UnixSocket, w: UnixSocket) -> None:
    """fd_passing.md's ``test``: send ``to_send`` to ``w`` and get them from ``r``, then read each file."""
    async with eio.Switch.run() as sw:

        async def send() -> None:
            await eio.unix.net.send_msg(w, [b"x"], fds=to_send)

        async def receive() -> None:
            buf = bytearray(b"?")
            got, fds = await eio.unix.net.recv_msg_with_fds(sw, r, buf, max_fds=2)
            eio.traceln(f"Got: {buf[:got].decode()!r} plus {len(fds)} FDs")
            for fd in fds:
                number = fd.use("read")
                try:
                    # The copy shares the file's offset: it is where the writer left it.
                    length = os.lseek(number, 0, os.SEEK_CUR)
                    os.lseek(number, 0, os.SEEK_SET)
                    eio.traceln(f"Read: {os.read(number, length).decode()!r}")
                finally:
                    fd.unuse()

        await eio.fiber.both(send, receive)


async def with_tmp_file(directory: eio.Path, name: str, fn: Callable[[int], Awaitable[None]]) -> None:
    """Create ``tmp-<name>.txt`` holding ``name``, call ``fn`` with its open descriptor, then remove it."""
    path = directory / f"tmp-{name}.txt"
    async with path.open_out(create="exclusive", perm=0o600) as file:
        try:
            await eio.flow.copy_string(name, file)
            await fn(eio.unix.fd_of(file))
        finally:
            await path.unlink()


def test_using_a_socket_pair(os_backend: str, trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def with_foo(fd1: int) -> None:
            async def with_bar(fd2: int) -> None:
                async with eio.Switch.run() as sw:
                    r, w = eio.unix.net.socketpair_stream(sw)
                    await send_and_read([fd1, fd2], r, w)

            await with_tmp_file(env.cwd, "bar", with_bar)

        await with_tmp_file(env.cwd, "foo", with_foo)

    go(os_backend, main)
    assert trace.lines() == ["Got: 'x' plus 2 FDs", "Read: 'foo'", "Read: 'bar'"]


def test_using_named_sockets(os_backend: str, trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        net = env.net

        async def with_foo(fd: int) -> None:
            async with eio.Switch.run() as sw:
                addr = Unix("test.socket")
                server = await eio.net.listen(sw, net, addr, reuse_addr=True, backlog=1)

                async def accept() -> eio.net.StreamSocket:
                    return (await eio.net.accept(sw, server))[0]

                r, w = await eio.fiber.pair(lambda: eio.net.connect(sw, net, addr), accept)
                await send_and_read([fd], unix_socket(r), unix_socket(w))

        await with_tmp_file(env.cwd, "foo", with_foo)

    go(os_backend, main)
    assert trace.lines() == ["Got: 'x' plus 1 FDs", "Read: 'foo'"]
