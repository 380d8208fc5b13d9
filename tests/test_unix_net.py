"""`eio.unix.net` (socket pairs, adopting OS sockets, passing descriptors) and `eio.unix.fd_of` / `import_flow`.

Every test runs on every backend (the mock's in-memory loop gives its clear
error) and checks that the run left no descriptor open.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

import eio
import eio.unix
import pytest
from conftest import run_checked
from eio.unix.net import (
    import_socket_datagram,
    import_socket_listening,
    import_socket_stream,
    recv_msg_with_fds,
    send_msg,
    socketpair_datagram,
    socketpair_stream,
)

import eio_mock

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

T = TypeVar("T")
go = run_checked  # main(env) on a backend, checking nothing is left open or unreaped


# -- socket pairs ---------------------------------------------------------------------------------------


def test_a_stream_socket_pair(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> list[bytes]:
        async with eio.Switch.run() as sw:
            a, b = socketpair_stream(sw)
            await eio.flow.copy_string("ping", a)
            buf = bytearray(10)
            n = await eio.flow.single_read(b, buf)
            await eio.flow.copy_string("pong", b)
            await eio.flow.shutdown(b, "send")
            got = [bytes(buf[:n]), await eio.flow.read_all(a)]
            assert eio.unix.fd_of(a) != eio.unix.fd_of(b)
            return got

    assert go(os_backend, main) == [b"ping", b"pong"]


def test_a_datagram_socket_pair_keeps_message_boundaries(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> list[bytes]:
        async with eio.Switch.run() as sw:
            a, b = socketpair_datagram(sw)
            await eio.net.send(a, [b"one"])
            await eio.net.send(a, [b"two", b"+three"])
            out: list[bytes] = []
            for _ in range(2):
                buf = bytearray(100)
                _addr, n = await eio.net.recv(b, buf)
                out.append(bytes(buf[:n]))
            return out

    assert go(os_backend, main) == [b"one", b"two+three"]


def test_a_closed_socket_pair(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> list[str]:
        async with eio.Switch.run() as sw:
            a, b = socketpair_stream(sw)
            await a.close()
            errors: list[str] = []
            with pytest.raises(eio.ResourceClosed) as info:
                eio.unix.fd_of(a)
            errors.append(str(info.value))
            with pytest.raises(eio.EndOfFile):
                await eio.flow.single_read(b, bytearray(1))
            with pytest.raises(eio.ResourceClosed) as info:
                await eio.flow.write(a, [b"x"])
            errors.append(str(info.value))
            return errors

    assert go(os_backend, main) == [
        "[Errno 9] fileno: the stream socket is closed",
        "[Errno 9] write: the stream socket is closed",
    ]


def test_socket_pairs_need_os_descriptors() -> None:
    async def main(_env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            socketpair_stream(sw)

    with pytest.raises(RuntimeError, match="socketpair_stream needs a backend with OS descriptors"):
        go("mock", main)


# -- adopting OS sockets --------------------------------------------------------------------------------


def test_importing_a_stream_socket(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> bytes:
        mine, theirs = socket.socketpair()
        try:
            async with eio.Switch.run() as sw:
                flow = import_socket_stream(sw, mine)  # eio owns it now
                theirs.sendall(b"from a plain socket")
                theirs.shutdown(socket.SHUT_WR)
                data = await eio.flow.read_all(flow)
                await eio.flow.copy_string("back", flow)
            assert mine.fileno() == -1  # closed with the switch
            assert theirs.recv(10) == b"back"
            return data
        finally:
            theirs.close()

    assert go(os_backend, main) == b"from a plain socket"


def test_importing_a_descriptor_without_taking_it_over(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> bytes:
        mine, theirs = socket.socketpair()
        try:
            async with eio.Switch.run() as sw:
                flow = import_socket_stream(sw, mine.fileno(), close_unix=False)
                await eio.flow.copy_string("dup", flow)
            assert mine.fileno() >= 0  # still ours
            return theirs.recv(10)
        finally:
            mine.close()
            theirs.close()

    assert go(os_backend, main) == b"dup"


def test_importing_a_listening_socket(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        plain = socket.socket()
        plain.bind(("127.0.0.1", 0))
        plain.listen(1)
        async with eio.Switch.run() as sw:
            server = import_socket_listening(sw, plain)
            addr = eio.net.listening_addr(server)
            client = await eio.net.connect(sw, env.net, addr)
            conn, _peer = await eio.net.accept(sw, server)
            await eio.flow.copy_string("accepted", client)
            await eio.flow.shutdown(client, "send")
            return await eio.flow.read_all(conn)

    assert go(os_backend, main) == b"accepted"


def test_importing_a_datagram_socket(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> bytes:
        plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        plain.bind(("127.0.0.1", 0))
        port = plain.getsockname()[1]
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            async with eio.Switch.run() as sw:
                dg = import_socket_datagram(sw, plain)
                sender.sendto(b"datagram", ("127.0.0.1", port))
                buf = bytearray(20)
                _addr, n = await eio.net.recv(dg, buf)
                return bytes(buf[:n])
        finally:
            sender.close()

    assert go(os_backend, main) == b"datagram"


def test_importing_bad_descriptors(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> list[str]:
        msgs: list[str] = []
        r, w = os.pipe()
        dgram = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        unbound = socket.socket()
        closed = socket.socket()
        closed.close()
        try:
            async with eio.Switch.run() as sw:
                cases: list[tuple[Callable[..., object], object]] = [
                    (import_socket_stream, r),
                    (import_socket_stream, 999_999),
                    (import_socket_stream, dgram),
                    (import_socket_listening, unbound),
                    (import_socket_datagram, closed),
                    (import_socket_stream, "3"),
                ]
                for fn, arg in cases:
                    with pytest.raises((TypeError, ValueError)) as info:
                        fn(sw, arg, close_unix=False)
                    text = str(info.value).replace(repr(dgram), "<dgram>").replace(repr(unbound), "<unbound>")
                    msgs.append(f"{type(info.value).__name__}: {text}".replace(f" {r} ", " R "))
                with pytest.raises(TypeError, match="close_unix must be a bool"):
                    import_socket_stream(sw, r, close_unix=1)  # pyright: ignore[reportArgumentType] - wrong on purpose
        finally:
            for s in (dgram, unbound):
                s.close()
            os.close(r)
            os.close(w)
        return msgs

    assert go(os_backend, main) == [
        "ValueError: eio.unix.net.import_socket_stream: descriptor R is not a socket (Socket operation on non-socket)",
        "ValueError: eio.unix.net.import_socket_stream: descriptor 999999 is not open",
        "ValueError: eio.unix.net.import_socket_stream: <dgram> is not a stream socket",
        "ValueError: eio.unix.net.import_socket_listening: <unbound> is not listening (call listen() first)",
        "ValueError: eio.unix.net.import_socket_datagram: the socket <socket.socket [closed] fd=-1, family=2, type=1, proto=0> is closed",
        "TypeError: eio.unix.net.import_socket_stream: expected a socket.socket, a descriptor (int) or an eio.unix.Fd, got '3'",
    ]


# -- the descriptor of a resource, a descriptor as a flow -------------------------------------------------


def test_fd_of_resources(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[object]:
        async with eio.Switch.run() as sw:
            r, _w = eio.process.pipe(sw, env.process_mgr)
            listening = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0))
            return [
                eio.unix.fd_of(env.stdout),
                eio.unix.fd_of(r) == eio.unix.fd_opt(r),
                eio.unix.fd_of(listening) > 2,
                eio.unix.fd_opt(eio.flow.string_source("x")),
            ]

    assert go(os_backend, main) == [1, True, True, None]


def test_fd_of_something_without_one() -> None:
    async def main(env: eio.Stdenv) -> None:
        eio.unix.fd_of(env.stdout)

    with pytest.raises(TypeError, match="has no OS file descriptor"):
        go("mock", main)
    with pytest.raises(
        TypeError, match=r"^<mock flow f> has no OS file descriptor \(it is not a resource of the operating system\)$"
    ):
        eio.unix.fd_of(eio_mock.flow.make("f"))


def test_import_flow(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> bytes:
        r, w = os.pipe()
        async with eio.Switch.run() as sw:
            src = eio.unix.import_flow(sw, r)
            sink = eio.unix.import_flow(sw, w, close_unix=False)
            await eio.flow.copy_string("imported", sink)
        os.close(w)  # ours: close_unix=False worked on a duplicate
        with pytest.raises(OSError):
            os.fstat(r)  # taken over, closed with the switch
        async with eio.Switch.run() as sw:
            with pytest.raises(ValueError, match=f"descriptor {r} is not open"):
                eio.unix.import_flow(sw, r)
        return b"imported" if src else b""

    assert go(os_backend, main) == b"imported"


# -- passing descriptors -----------------------------------------------------------------------------


def test_passing_a_descriptor_within_one_process(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> tuple[bytes, int, int]:
        async with eio.Switch.run() as sw:
            a, b = socketpair_stream(sw)
            r, w = eio.process.pipe(sw, env.process_mgr)
            await send_msg(a, [b"take this"], fds=[w])
            await w.close()  # the receiver has its own copy
            buf = bytearray(64)
            n, fds = await recv_msg_with_fds(sw, b, buf, max_fds=4)
            async with eio.Switch.run() as inner:
                sink = eio.unix.import_flow(inner, fds[0])
                await eio.flow.copy_string("written through a passed descriptor", sink)
            fds[0].close()
            return bytes(buf[:n]) + b": " + await eio.flow.read_all(r), len(fds), n

    assert go(os_backend, main) == (b"take this: written through a passed descriptor", 1, 9)


def test_a_child_receives_a_descriptor_and_writes_through_it(os_backend: str) -> None:
    child = (
        "import socket, os\n"
        "s = socket.socket(fileno=int(os.environ['SOCK']))\n"
        "msg, fds, _flags, _addr = socket.recv_fds(s, 100, 2)\n"
        "os.write(fds[0], b'child got ' + msg + b' and %d fd' % len(fds))\n"
    )

    async def main(env: eio.Stdenv) -> bytes:
        async with eio.Switch.run() as sw:
            mine, theirs = socketpair_stream(sw)
            r, w = eio.process.pipe(sw, env.process_mgr)
            n = eio.unix.fd_of(theirs)
            child_env = dict(os.environ, SOCK=str(n))
            proc = await eio.process.spawn(
                sw, env.process_mgr, [sys.executable, "-c", child], pass_fds=[theirs], env=child_env
            )
            await theirs.close()
            await send_msg(mine, [b"hello"], fds=[w])
            await w.close()
            await eio.process.await_exn(proc)
            return await eio.flow.read_all(r)

    assert go(os_backend, main) == b"child got hello and 1 fd"


def test_more_descriptors_than_max_fds(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> tuple[int, int]:
        async with eio.Switch.run() as sw:
            a, b = socketpair_stream(sw)
            r, w = eio.process.pipe(sw, env.process_mgr)
            await send_msg(a, [b"xy"], fds=[r, w, eio.unix.fd_of(r)])
            n, fds = await recv_msg_with_fds(sw, b, bytearray(8), max_fds=1)
            # The kernel closed the ones that did not fit; `go` checks no descriptor is left.
            return n, len(fds)

    assert go(os_backend, main) == (2, 1)


def test_end_of_file_when_receiving(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            a, b = socketpair_stream(sw)
            await eio.flow.shutdown(a, "send")
            await recv_msg_with_fds(sw, b, bytearray(8), max_fds=1)

    with pytest.raises(eio.EndOfFile):
        go(os_backend, main)


def test_passing_descriptors_bad_input(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        msgs: list[str] = []
        async with eio.Switch.run() as sw:
            a, b = socketpair_stream(sw)
            r, w = eio.process.pipe(sw, env.process_mgr)
            server = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0))
            tcp_a = cast(eio.unix.UnixSocket, await eio.net.connect(sw, env.net, eio.net.listening_addr(server)))
            closed_r, closed_w = os.pipe()
            os.close(closed_r)
            os.close(closed_w)
            await r.close()

            async def attempt(coro: Awaitable[object]) -> None:
                with pytest.raises((TypeError, ValueError)) as info:
                    await coro
                msgs.append(f"{type(info.value).__name__}: {info.value}".replace(repr(tcp_a), "<tcp>"))

            await attempt(send_msg(a, [b"x"], fds=[closed_r]))
            await attempt(send_msg(a, [b"x"], fds=[r]))
            await attempt(send_msg(a, [b"x"], fds=[True]))
            await attempt(send_msg(a, [b"x"], fds=[eio.flow.string_source("")]))  # pyright: ignore[reportArgumentType]
            await attempt(send_msg(a, [], fds=[w]))
            await attempt(send_msg(tcp_a, [b"x"], fds=[w]))
            await attempt(send_msg(eio.flow.string_source("x"), [b"x"]))  # pyright: ignore[reportArgumentType]
            await attempt(recv_msg_with_fds(sw, b, bytearray(1), max_fds=-1))
            await attempt(recv_msg_with_fds(sw, b, b"ro", max_fds=1))  # pyright: ignore[reportArgumentType]
        return [m.replace(str(closed_r), "N") for m in msgs]

    msgs = go(os_backend, main)
    assert msgs[0] == "ValueError: eio.unix.net.send_msg: descriptor N is not open"
    assert msgs[1] == "ResourceClosed: [Errno 9] fileno: the pipe (read end) is closed"
    assert msgs[2:] == [
        "TypeError: eio.unix.net.send_msg: fds must hold descriptors, got True",
        "TypeError: <string_source at 0 of 0> has no OS file descriptor (it is not a resource of the operating system)",
        "ValueError: eio.unix.net.send_msg: descriptors travel with data: bufs must not be empty",
        "ValueError: eio.unix.net.send_msg: descriptors can only be passed over a Unix-domain socket, not <tcp>",
        "TypeError: eio.unix.net.send_msg: <string_source at 0 of 1> is not an OS socket of eio (from env.net, socketpair_stream or import_socket_*)",
        "ValueError: eio.unix.net.recv_msg_with_fds: max_fds must be an int >= 0, got -1",
        "TypeError: eio.unix.net.recv_msg_with_fds: buf must be writable (a bytearray or a writable memoryview)",
    ]
