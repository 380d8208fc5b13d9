"""A mock network and mock listening sockets (Eio's ``Eio_mock.Net``).

``net = make("mocknet")`` satisfies ``eio.net.Network``. Each operation traces
one line and then performs the next action configured for it, so a test
decides what every call returns or raises::

    mocknet: listen on tcp:127.0.0.1:80
    mocknet: connect to tcp:127.0.0.1:8080
    mocknet: datagram_socket udp:0.0.0.0:53        (or: datagram_socket UDPv4)
    mocknet: getaddrinfo www.example.com service=http
    mocknet: getnameinfo tcp:127.0.0.1:80
    tcp/80: accepted connection from tcp:127.0.0.1:37568
    tcp/80: closed

Names in ``getaddrinfo`` lines are quoted only when needed (``service=''``).
An operation with no action configured raises
`eio_mock.NotConfigured`, naming the mock and the operation.
Sockets that an operation returns are closed when the caller's switch ends.

`reset` breaks a connection of the mock environment's in-memory network
(`eio_mock.loopback`), which is what ``env.net`` of `eio_mock.backend.run_full` is.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from typing import Any

import eio
import eio.net
from eio import Switch
from eio.net import ANY_V4, DatagramBind, ListeningSocket, OptionSetting, Sockaddr, StreamAddr, StreamSocket, Tcp

from ._action import Action
from ._handler import Handler
from .flow import MockFlow, attach_to_switch
from .loopback import reset

__all__ = [
    "MockListeningSocket",
    "MockNetwork",
    "listening_socket",
    "make",
    "on_accept",
    "on_connect",
    "on_datagram_socket",
    "on_getaddrinfo",
    "on_getnameinfo",
    "on_listen",
    "reset",
]


def _close_with(sw: Switch, sock: eio.flow.Closable) -> None:
    if isinstance(sock, MockFlow):
        attach_to_switch(sock, sw)  # removable: closing the flow early doesn't close it twice
    else:
        sw.on_release(sock.close)


class MockNetwork:
    """A traced network for tests; create one with `make`."""

    __slots__ = ("label", "listens", "connects", "datagram_sockets", "addr_lookups", "name_lookups")

    def __init__(self, label: str) -> None:
        self.label = label
        self.listens: Handler[ListeningSocket] = Handler(f"{label}: listen")
        self.connects: Handler[StreamSocket] = Handler(f"{label}: connect")
        self.datagram_sockets: Handler[eio.net.DatagramSocket] = Handler(f"{label}: datagram_socket")
        self.addr_lookups: Handler[list[Sockaddr]] = Handler(f"{label}: getaddrinfo")
        self.name_lookups: Handler[tuple[str, str]] = Handler(f"{label}: getnameinfo")

    def __repr__(self) -> str:
        return f"<mock network {self.label}>"

    async def listen(
        self, sw: Switch, addr: StreamAddr, backlog: int, reuse_addr: bool, reuse_port: bool, /
    ) -> ListeningSocket:
        """Trace ``listen on <addr>``; return the next `on_listen` result."""
        eio.traceln(f"{self.label}: listen on {addr}")
        sock = await self.listens.run()
        sw.on_release(sock.close)
        return sock

    async def connect(self, sw: Switch, addr: StreamAddr, /) -> StreamSocket:
        """Trace ``connect to <addr>``; return the next `on_connect` result."""
        eio.traceln(f"{self.label}: connect to {addr}")
        sock = await self.connects.run()
        _close_with(sw, sock)
        return sock

    async def connect_with(
        self, sw: Switch, addr: StreamAddr, bind_to: StreamAddr | None, settings: Sequence[OptionSetting[Any]], /
    ) -> StreamSocket:
        """Trace ``connect to <addr> (bind to <bind_to>)``; return the next `on_connect` result with ``settings`` applied.

        `eio.net.connect` calls this for ``bind_to=`` and ``options=``. Each
        option is set with `eio.net.setsockopt`, in order: a mock flow traces
        ``setsockopt <NAME> = <value>``.
        """
        shown = "" if bind_to is None else f" (bind to {bind_to})"
        eio.traceln(f"{self.label}: connect to {addr}{shown}")
        sock = await self.connects.run()
        _close_with(sw, sock)
        for s in settings:
            eio.net.setsockopt(sock, s.option, s.value)
        return sock

    async def datagram_socket(
        self, sw: Switch, addr: DatagramBind, reuse_addr: bool, reuse_port: bool, /
    ) -> eio.net.DatagramSocket:
        """Trace ``datagram_socket <addr>``; return the next `on_datagram_socket` result."""
        shown = {"udpv4": "UDPv4", "udpv6": "UDPv6"}.get(addr, addr) if isinstance(addr, str) else addr
        eio.traceln(f"{self.label}: datagram_socket {shown}")
        sock = await self.datagram_sockets.run()
        sw.on_release(sock.close)
        return sock

    async def getaddrinfo(self, host: str, service: str, /) -> list[Sockaddr]:
        """Trace ``getaddrinfo <host> service=<service>``; return the next `on_getaddrinfo` result."""
        eio.traceln(f"{self.label}: getaddrinfo {shlex.quote(host)} service={shlex.quote(service)}")
        return await self.addr_lookups.run()

    async def getnameinfo(self, addr: Sockaddr, /) -> tuple[str, str]:
        """Trace ``getnameinfo <addr>``; return the next `on_getnameinfo` result."""
        eio.traceln(f"{self.label}: getnameinfo {addr}")
        return await self.name_lookups.run()


class MockListeningSocket:
    """A traced listening socket for tests; create one with `listening_socket`."""

    __slots__ = ("label", "addr", "accepts")

    def __init__(self, label: str, addr: StreamAddr) -> None:
        self.label = label
        self.addr = addr
        self.accepts: Handler[tuple[StreamSocket, StreamAddr]] = Handler(f"{label}: accept")

    def __repr__(self) -> str:
        return f"<mock listening socket {self.label}>"

    async def accept(self, sw: Switch, /) -> tuple[StreamSocket, StreamAddr]:
        """Take the next `on_accept` result; trace ``accepted connection from <addr>``."""
        sock, addr = await self.accepts.run()
        _close_with(sw, sock)
        eio.traceln(f"{self.label}: accepted connection from {addr}")
        return sock, addr

    def listening_addr(self) -> StreamAddr:
        """The address given to `listening_socket` (default ``tcp:0.0.0.0:0``)."""
        return self.addr

    async def close(self) -> None:
        """Trace ``closed``."""
        eio.traceln(f"{self.label}: closed")


def make(label: str) -> MockNetwork:
    """A new mock network that traces its operations as ``<label>: ...``."""
    return MockNetwork(label)


def listening_socket(label: str, listening_addr: StreamAddr | None = None) -> MockListeningSocket:
    """A new mock listening socket that traces as ``<label>: ...``; see `on_accept`."""
    return MockListeningSocket(label, listening_addr if listening_addr is not None else Tcp(ANY_V4, 0))


def on_listen(net: MockNetwork, actions: Iterable[Action[ListeningSocket]]) -> None:
    """What the next ``listen`` calls return, one action per call."""
    net.listens.seq(actions)


def on_connect(net: MockNetwork, actions: Iterable[Action[StreamSocket]]) -> None:
    """What the next ``connect`` calls return, one action per call."""
    net.connects.seq(actions)


def on_datagram_socket(net: MockNetwork, actions: Iterable[Action[eio.net.DatagramSocket]]) -> None:
    """What the next ``datagram_socket`` calls return, one action per call."""
    net.datagram_sockets.seq(actions)


def on_getaddrinfo(net: MockNetwork, actions: Iterable[Action[list[Sockaddr]]]) -> None:
    """What the next ``getaddrinfo`` calls return, one action per call."""
    net.addr_lookups.seq(actions)


def on_getnameinfo(net: MockNetwork, actions: Iterable[Action[tuple[str, str]]]) -> None:
    """What the next ``getnameinfo`` calls return, one action per call."""
    net.name_lookups.seq(actions)


def on_accept(sock: MockListeningSocket, actions: Iterable[Action[tuple[StreamSocket, StreamAddr]]]) -> None:
    """What the next ``accept`` calls return (a connection and its peer's address), one action per call."""
    sock.accepts.seq(actions)
