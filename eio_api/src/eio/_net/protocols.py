"""What a backend implements for networking: small structural Protocols.

A network (``env.net``) makes sockets; a listening socket accepts stream
sockets; a stream socket is a two-way flow that can be closed; a datagram
socket sends and receives whole messages. Provider methods take positional
parameters only; the functions of `eio.net` give callers keywords, defaults,
and error context.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .._core._switch import Switch
from ..flow import Closable, TwoWay
from .addr import DatagramAddr, DatagramBind, Sockaddr, StreamAddr

__all__ = ["DatagramSocket", "ListeningSocket", "Network", "StreamSocket"]


class StreamSocket(TwoWay, Closable, Protocol):
    """A connected stream socket: a two-way flow (read, write, shutdown) that can be closed."""


class ListeningSocket(Closable, Protocol):
    """A socket that accepts incoming stream connections."""

    async def accept(self, sw: Switch, /) -> tuple[StreamSocket, StreamAddr]:
        """Wait for a connection; return it (closed when ``sw`` finishes) and the peer's address."""
        ...

    def listening_addr(self) -> StreamAddr:
        """The address the socket is bound to (with the real port, if 0 was asked for)."""
        ...


class DatagramSocket(Closable, Protocol):
    """A socket that sends and receives whole messages."""

    async def send(self, bufs: Sequence[bytes | memoryview], dst: DatagramAddr | None, /) -> None:
        """Send ``bufs`` as one message, to ``dst`` (or to the connected peer when None)."""
        ...

    async def recv(self, buf: memoryview, /) -> tuple[DatagramAddr, int]:
        """Receive one message into ``buf``; return the sender and the message's length.

        Bytes that don't fit in ``buf`` may be discarded.
        """
        ...


class Network(Protocol):
    """The capability to make network connections and look up names (``env.net``)."""

    async def listen(
        self, sw: Switch, addr: StreamAddr, backlog: int, reuse_addr: bool, reuse_port: bool, /
    ) -> ListeningSocket:
        """A new socket listening on ``addr``, closed when ``sw`` finishes."""
        ...

    async def connect(self, sw: Switch, addr: StreamAddr, /) -> StreamSocket:
        """A new socket connected to ``addr``, closed when ``sw`` finishes."""
        ...

    async def datagram_socket(self, sw: Switch, addr: DatagramBind, reuse_addr: bool, reuse_port: bool, /) -> DatagramSocket:
        """A new datagram socket bound to ``addr`` (or to a port the OS picks), closed when ``sw`` finishes."""
        ...

    async def getaddrinfo(self, host: str, service: str, /) -> list[Sockaddr]:
        """The addresses for ``host`` and ``service`` ("" for none); may be empty."""
        ...

    async def getnameinfo(self, addr: Sockaddr, /) -> tuple[str, str]:
        """The host name and service name for ``addr``."""
        ...
