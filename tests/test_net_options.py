"""Typed socket options (`eio.net.setsockopt` / `getsockopt`, ``eio.net.TCP_NODELAY(True)``) and
``eio.net.connect(..., bind_to=..., options=...)`` on every backend, read back with `getsockopt`.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any, TypeVar

import eio
import eio.unix.net
import pytest
from conftest import run_checked
from eio.net import (
    IPV6_V6ONLY,
    LOOPBACK_V4,
    LOOPBACK_V6,
    SO_BROADCAST,
    SO_KEEPALIVE,
    SO_LINGER,
    SO_RCVBUF,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SO_SNDBUF,
    TCP_KEEPCNT,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_NODELAY,
    Tcp,
    Udp,
    getsockopt,
    setsockopt,
)

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

T = TypeVar("T")
go = run_checked  # main(env) on a backend, checking nothing is left open or unreaped


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_connect_with_options_read_back(env_backend: str) -> None:
    async def main(env: eio.Stdenv) -> dict[str, object]:
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0))
            flow = await eio.net.connect(
                sw,
                env.net,
                eio.net.listening_addr(server),
                options=[
                    TCP_NODELAY(True),
                    SO_KEEPALIVE(True),
                    TCP_KEEPIDLE(30),
                    TCP_KEEPINTVL(5),
                    TCP_KEEPCNT(3),
                    SO_RCVBUF(65536),
                    SO_SNDBUF(32768),
                    SO_LINGER(7),
                ],
            )
            return {
                "nodelay": getsockopt(flow, TCP_NODELAY),
                "keepalive": getsockopt(flow, SO_KEEPALIVE),
                "idle": getsockopt(flow, TCP_KEEPIDLE),
                "interval": getsockopt(flow, TCP_KEEPINTVL),
                "count": getsockopt(flow, TCP_KEEPCNT),
                "rcvbuf": getsockopt(flow, SO_RCVBUF) >= 65536,  # Linux reports twice what was set
                "sndbuf": getsockopt(flow, SO_SNDBUF) >= 32768,
                "linger": getsockopt(flow, SO_LINGER),
            }

    assert go(env_backend, main) == {
        "nodelay": True,
        "keepalive": True,
        "idle": 30,
        "interval": 5,
        "count": 3,
        "rcvbuf": True,
        "sndbuf": True,
        "linger": 7,
    }


def test_connect_bind_to(env_backend: str) -> None:
    async def main(env: eio.Stdenv) -> tuple[str, str]:
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0))
            # Any 127.x.y.z is loopback on Linux: the server sees where we bound.
            flow = await eio.net.connect(
                sw,
                env.net,
                eio.net.listening_addr(server),
                bind_to=Tcp(IPv4Address("127.0.0.2"), 0),
                options=[SO_REUSEADDR(True)],
            )
            _conn, peer = await eio.net.accept(sw, server)
            assert getsockopt(flow, SO_REUSEADDR) is True
            assert isinstance(peer, Tcp)
            return str(peer.ip), str(peer.port == cast_tcp(flow).port)

    assert go(env_backend, main) == ("127.0.0.2", "True")


def cast_tcp(flow: object) -> Tcp:
    addr = getattr(flow, "local_addr")()  # an OS stream socket, or one of the mock's network
    assert isinstance(addr, Tcp)
    return addr


def test_connect_bind_to_an_address_in_use(env_backend: str) -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0))
            addr = eio.net.listening_addr(server)
            await eio.net.connect(sw, env.net, addr, bind_to=addr)

    with pytest.raises(eio.net.AddressInUse) as info:
        go(env_backend, main)
    notes = info.value.__notes__
    assert len(notes) == 2 and notes[0].startswith("binding to tcp:127.0.0.1:") and notes[1].startswith("connecting to tcp:")


def test_setting_and_clearing_options_on_existing_sockets(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[object]:
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0))
            flow = await eio.net.connect(sw, env.net, eio.net.listening_addr(server))
            out: list[object] = [getsockopt(flow, TCP_NODELAY)]
            setsockopt(flow, TCP_NODELAY, True)
            out.append(getsockopt(flow, TCP_NODELAY))
            setsockopt(flow, TCP_NODELAY, False)
            out.append(getsockopt(flow, TCP_NODELAY))
            out.append(getsockopt(flow, SO_LINGER))
            setsockopt(flow, SO_LINGER, 0)
            out.append(getsockopt(flow, SO_LINGER))
            setsockopt(flow, SO_LINGER, None)
            out.append(getsockopt(flow, SO_LINGER))
            setsockopt(server, SO_REUSEADDR, True)
            out.append(getsockopt(server, SO_REUSEADDR))
            if SO_REUSEPORT.available:
                setsockopt(server, SO_REUSEPORT, True)
                out.append(getsockopt(server, SO_REUSEPORT))
            udp = await eio.net.datagram_socket(sw, env.net, Udp(LOOPBACK_V4, 0))
            setsockopt(udp, SO_BROADCAST, True)
            out.append(getsockopt(udp, SO_BROADCAST))
            a, _b = eio.unix.net.socketpair_stream(sw)
            setsockopt(a, SO_SNDBUF, 4096)
            out.append(getsockopt(a, SO_SNDBUF) >= 4096)
            return out

    expected: list[object] = [False, True, False, None, 0, None, True]
    if SO_REUSEPORT.available:
        expected.append(True)
    assert go(os_backend, main) == [*expected, True, True]


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback here")
def test_ipv6_only(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[bool]:
        async with eio.Switch.run() as sw:
            v6 = await eio.net.datagram_socket(sw, env.net, "udpv6")
            setsockopt(v6, IPV6_V6ONLY, True)
            on = getsockopt(v6, IPV6_V6ONLY)
            setsockopt(v6, IPV6_V6ONLY, False)
            server = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V6, 0))
            flow = await eio.net.connect(sw, env.net, eio.net.listening_addr(server), options=[IPV6_V6ONLY(True)])
            return [on, getsockopt(v6, IPV6_V6ONLY), getsockopt(flow, IPV6_V6ONLY)]

    assert go(os_backend, main) == [True, False, True]


def test_bad_options_and_values(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        out: list[str] = []
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0))
            addr = eio.net.listening_addr(server)
            flow = await eio.net.connect(sw, env.net, addr)
            udp = await eio.net.datagram_socket(sw, env.net, Udp(LOOPBACK_V4, 0))
            unix_a, _unix_b = eio.unix.net.socketpair_stream(sw)
            names = {repr(flow): "<tcp>", repr(udp): "<udp>", repr(unix_a): "<unix>"}

            def record(fn: Callable[[], object]) -> None:
                with pytest.raises((TypeError, ValueError)) as info:
                    fn()
                text = str(info.value)
                for k, v in names.items():
                    text = text.replace(k, v)
                out.append(f"{type(info.value).__name__}: {text}")

            bad: Any = 1
            record(lambda: setsockopt(flow, TCP_NODELAY, bad))
            record(lambda: setsockopt(flow, SO_RCVBUF, True))
            record(lambda: SO_RCVBUF(0))
            record(lambda: SO_LINGER(-1))
            record(lambda: SO_LINGER("5"))  # pyright: ignore[reportArgumentType] - wrong on purpose
            record(lambda: setsockopt(flow, "TCP_NODELAY", True))  # pyright: ignore[reportArgumentType] - wrong on purpose
            record(lambda: setsockopt(udp, TCP_NODELAY, True))
            record(lambda: getsockopt(unix_a, TCP_NODELAY))
            record(lambda: setsockopt(udp, IPV6_V6ONLY, True))
            record(lambda: setsockopt(eio.flow.string_source("x"), TCP_NODELAY, True))

            async def connect_with(**kwargs: Any) -> None:
                with pytest.raises((TypeError, ValueError)) as info:
                    await eio.net.connect(sw, env.net, addr, **kwargs)
                out.append(f"{type(info.value).__name__}: {info.value}".replace(str(addr), "ADDR"))

            await connect_with(options=[TCP_NODELAY])
            await connect_with(options=TCP_NODELAY(True))
            await connect_with(options=[SO_BROADCAST(True)])
            await connect_with(bind_to=eio.net.Unix("/tmp/x"))
            await flow.close()
            with pytest.raises(eio.ResourceClosed):
                setsockopt(flow, TCP_NODELAY, True)
        return out

    assert go(os_backend, main) == [
        "TypeError: eio.net.setsockopt: TCP_NODELAY takes True or False, got 1",
        "TypeError: eio.net.setsockopt: SO_RCVBUF takes an int, got True",
        "ValueError: SO_RCVBUF(...): SO_RCVBUF must be in 1..2147483647, got 0",
        "ValueError: SO_LINGER(...): SO_LINGER must be in 0..2147483647, got -1",
        "TypeError: SO_LINGER(...): SO_LINGER takes an int number of seconds or None (off), got '5'",
        "TypeError: eio.net.setsockopt: option must be an eio.net socket option such as eio.net.TCP_NODELAY, got 'TCP_NODELAY'",
        "ValueError: eio.net.setsockopt: TCP_NODELAY applies to TCP stream sockets, not to <udp>",
        "ValueError: eio.net.getsockopt: TCP_NODELAY applies to TCP stream sockets, not to <unix>",
        "ValueError: eio.net.setsockopt: IPV6_V6ONLY applies to IPv6 sockets, not to <udp>",
        "TypeError: eio.net.setsockopt: <string_source at 0 of 1> has no socket options (it is not an operating-system socket)",
        "TypeError: eio.net.connect: give the option a value, e.g. eio.net.TCP_NODELAY(True), not eio.net.TCP_NODELAY",
        "TypeError: eio.net.connect: options must be a list of settings such as eio.net.TCP_NODELAY(True), got eio.net.TCP_NODELAY(True)",
        "ValueError: eio.net.connect: SO_BROADCAST applies to UDP sockets, not to a stream socket to ADDR",
        "ValueError: eio.net.connect: bind_to unix:/tmp/x is not of the same family as the address ADDR",
    ]


def test_options_on_the_mock_network() -> None:
    # The in-memory network keeps each socket's options: off until set, checked as the OS checks them.
    async def main(env: eio.Stdenv) -> list[object]:
        out: list[object] = []
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0))
            addr = eio.net.listening_addr(server)
            flow = await eio.net.connect(sw, env.net, addr)
            udp = await eio.net.datagram_socket(sw, env.net, Udp(LOOPBACK_V4, 0))
            out += [getsockopt(flow, TCP_NODELAY), getsockopt(flow, SO_RCVBUF), getsockopt(flow, SO_LINGER)]
            setsockopt(flow, TCP_NODELAY, True)
            setsockopt(server, SO_REUSEADDR, True)
            setsockopt(udp, SO_BROADCAST, True)
            out += [getsockopt(flow, TCP_NODELAY), getsockopt(server, SO_REUSEADDR), getsockopt(udp, SO_BROADCAST)]
            for fn in (lambda: setsockopt(udp, TCP_NODELAY, True), lambda: setsockopt(flow, SO_BROADCAST, True)):
                with pytest.raises(ValueError) as info:
                    fn()
                out.append(str(info.value).split(", not to", 1)[0])
            with pytest.raises(eio.net.AddressInUse) as in_use:
                await eio.net.connect(sw, env.net, addr, bind_to=addr)
            out.append(in_use.value.__notes__[0] == f"binding to {addr}")
            with pytest.raises(eio.Io) as not_local:
                await eio.net.connect(sw, env.net, addr, bind_to=Tcp(IPv4Address("1.2.3.4"), 0))
            out.append(not_local.value.errno)
            await flow.close()
            with pytest.raises(eio.ResourceClosed):
                setsockopt(flow, TCP_NODELAY, False)
        return out

    assert go("mock", main) == [
        False,
        0,
        None,
        True,
        True,
        True,
        "eio.net.setsockopt: TCP_NODELAY applies to TCP stream sockets",
        "eio.net.setsockopt: SO_BROADCAST applies to UDP sockets",
        True,
        errno.EADDRNOTAVAIL,
    ]
