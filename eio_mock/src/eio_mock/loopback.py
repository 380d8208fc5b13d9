"""An in-memory loopback network (the mock environment's ``net``): an `eio.net.Network`.

Servers ``listen`` on ``127.0.0.1``, ``::1`` (or the unspecified address,
which accepts connections to loopback) or a `eio.net.Unix` path; port 0
picks a free port (49152, 49153, ... in order). ``connect`` to an address
nobody listens on raises `eio.net.ConnectionFailure` with reason
``"refused"``. A connection is two in-memory byte pipes of 64 KiB each
(a writer waits while its pipe is full): shutting down the sending side
makes the peer's reads end with `eio.EndOfFile` once it has read what was
sent; writing to a peer that has closed raises `eio.net.ConnectionReset`
(EPIPE); `reset` breaks a connection at once, so both ends see
`eio.net.ConnectionReset`. Datagram sockets exchange whole messages on the
same addresses. ``getaddrinfo`` knows ``localhost`` and numeric addresses.
Nothing here traces: a program prints the same on this network and a real one.
"""

from __future__ import annotations

import errno
import ipaddress
import itertools
import socket
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import eio
import eio.net
from eio import Switch
from eio._io_errors import from_oserror
from eio.net import DatagramAddr, DatagramBind, IpAddr, OptionSetting, Sockaddr, SocketOption, StreamAddr, Tcp, Udp, Unix

__all__ = ["LoopbackNetwork", "MemDatagramSocket", "MemListeningSocket", "MemStreamSocket", "SocketClosed", "reset"]

PIPE_CAPACITY: Final = 65536
_FIRST_PORT: Final = 49152
_AF_UNIX: Final[int] = getattr(socket, "AF_UNIX", 1)  # Windows's socket module may lack it; only a tag here
_SERVICES: Final = {"http": 80, "https": 443, "ftp": 21, "ssh": 22, "smtp": 25, "domain": 53, "ntp": 123}
_LOCALHOST: Final = (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))

Key = tuple[str, object, int]


def _oserror(code: int, message: str, target: object = None) -> eio.Io:
    return from_oserror(OSError(code, message) if target is None else OSError(code, message, str(target)))


SocketClosed = eio.ResourceClosed
"""Using a socket of the in-memory network that was closed (or closed while it waited): `eio.ResourceClosed`, errno EBADF."""


def _closed(op: str, kind: str) -> SocketClosed:
    return SocketClosed(errno.EBADF, f"{op}: the {kind} is closed")


# What an option never set reads as, by the kind of its value (off, as on a fresh OS socket).
_OPTION_DEFAULTS: Final[dict[str, object]] = {"bool": False, "int": 0, "linger": None}
_KIND_NAMES: Final[dict[int, str]] = {socket.SOCK_STREAM: "stream socket", socket.SOCK_DGRAM: "datagram socket"}


def _family_of(addr: object, default: int) -> int:
    if isinstance(addr, Unix):
        return _AF_UNIX
    if isinstance(addr, (Tcp, Udp)):
        return socket.AF_INET if isinstance(addr.ip, ipaddress.IPv4Address) else socket.AF_INET6
    return default


class _Options:
    """The socket options of one in-memory socket: kept, checked as the OS would, never sent anywhere."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[str, object] = {}

    def set(self, sock: object, closed: bool, family: int, kind: int, option: SocketOption[Any], value: object) -> None:
        """Keep ``option``'s value; `eio.ResourceClosed` if ``closed``, `ValueError` if it doesn't apply."""
        if closed:
            raise _closed("setsockopt", _KIND_NAMES[kind])
        option.check_socket(family, kind, "eio.net.setsockopt", repr(sock))
        self._values[option.name] = value

    def get(self, sock: object, closed: bool, family: int, kind: int, option: SocketOption[Any]) -> object:
        """``option``'s value, off (False, 0, None) if never set; errors as for `set`."""
        if closed:
            raise _closed("getsockopt", _KIND_NAMES[kind])
        option.check_socket(family, kind, "eio.net.getsockopt", repr(sock))
        return self._values.get(option.name, _OPTION_DEFAULTS[option.kind])


class _Pipe:
    """One direction of a connection: bytes in flight, and what each side has done."""

    __slots__ = ("buf", "send_done", "recv_done", "broken", "changed", "reader_closed", "writer_closed")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.send_done = False  # the writer shut down (or closed) its side: EOF after the data
        self.recv_done = False  # the reader closed (or shut down) its side: writes fail, reads end
        self.broken = False  # reset: every operation fails
        self.changed = eio.Condition()
        self.reader_closed = False  # the reading socket was closed: its waiting reads fail
        self.writer_closed = False  # the writing socket was closed: its waiting writes fail

    async def read(self, buf: memoryview) -> int:
        while True:
            eio.fiber.check()
            if self.reader_closed:
                raise _closed("read", "stream socket")
            if self.broken:
                raise _oserror(errno.ECONNRESET, "Connection reset by peer")
            data = self.buf
            if data and not self.recv_done:
                n = min(len(buf), len(data))
                buf[:n] = data[:n]
                del data[:n]
                self.changed.broadcast()
                return n
            if self.send_done or self.recv_done:
                raise eio.EndOfFile()
            await self.changed.await_no_mutex()

    async def write(self, bufs: Sequence[bytes | memoryview]) -> int:
        total = sum(len(b) for b in bufs)
        if total == 0:
            eio.fiber.check()
            return 0
        while True:
            eio.fiber.check()
            if self.writer_closed:
                raise _closed("write", "stream socket")
            if self.broken:
                raise _oserror(errno.ECONNRESET, "Connection reset by peer")
            if self.send_done or self.recv_done:
                raise _oserror(errno.EPIPE, "Broken pipe")
            space = PIPE_CAPACITY - len(self.buf)
            if space > 0:
                data = b"".join(bufs)[:space]
                self.buf += data
                self.changed.broadcast()
                return len(data)
            await self.changed.await_no_mutex()


class MemStreamSocket:
    """One end of an in-memory connection: an `eio.net.StreamSocket`."""

    __slots__ = ("_inbound", "_outbound", "peer", "local", "_closed", "_hook", "_options")

    def __init__(self, inbound: _Pipe, outbound: _Pipe, local: StreamAddr, peer: StreamAddr) -> None:
        self._inbound = inbound
        self._outbound = outbound
        self.local = local
        self.peer = peer
        self._closed = False
        self._hook: eio.ReleaseHook | None = None
        self._options = _Options()

    def set_socket_option(self, option: SocketOption[Any], value: object, /) -> None:
        """Keep ``option`` (`eio.net.setsockopt`); `ValueError` if it doesn't apply to this socket."""
        self._options.set(self, self._closed, _family_of(self.local, socket.AF_INET), socket.SOCK_STREAM, option, value)

    def get_socket_option(self, option: SocketOption[Any], /) -> object:
        """The value set for ``option``, or off (False, 0, None) if never set (`eio.net.getsockopt`)."""
        return self._options.get(self, self._closed, _family_of(self.local, socket.AF_INET), socket.SOCK_STREAM, option)

    def __repr__(self) -> str:
        return f"<mock connection {self.local} <-> {self.peer}{' closed' if self._closed else ''}>"

    def _attach(self, sw: Switch) -> MemStreamSocket:
        self._hook = sw.on_release(self._close_now)
        return self

    def local_addr(self) -> StreamAddr:
        """This end's address."""
        return self.local

    def peer_addr(self) -> StreamAddr:
        """The other end's address."""
        return self.peer

    async def single_read(self, buf: memoryview, /) -> int:
        """Read what the peer sent; `eio.EndOfFile` once it has shut down its sending side."""
        if self._closed:
            raise _closed("read", "stream socket")
        return await self._inbound.read(buf)

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Send (as much as fits of) ``bufs``."""
        if self._closed:
            raise _closed("write", "stream socket")
        return await self._outbound.write(bufs)

    async def shutdown(self, how: eio.flow.ShutdownCommand, /) -> None:
        """Stop sending (the peer reads the end), receiving, or both."""
        if self._closed:
            raise _closed("shutdown", "stream socket")
        if how in ("send", "all"):
            self._outbound.send_done = True
            self._outbound.changed.broadcast()
        if how in ("receive", "all"):
            self._inbound.recv_done = True
            self._inbound.changed.broadcast()

    def _close_now(self) -> None:
        if self._closed:
            return
        self._closed = True
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.remove()
        out, inb = self._outbound, self._inbound
        out.send_done = out.writer_closed = True
        inb.recv_done = inb.reader_closed = True
        out.changed.broadcast()
        inb.changed.broadcast()

    async def close(self) -> None:
        """Close this end (idempotent): the peer reads the end of the data, and its writes fail."""
        self._close_now()

    def reset(self) -> None:
        """Break the connection: every operation at either end raises `eio.net.ConnectionReset`."""
        for pipe in (self._inbound, self._outbound):
            pipe.broken = True
            pipe.changed.broadcast()


def reset(sock: object) -> None:
    """Reset an in-memory connection (either end): both ends' operations raise `eio.net.ConnectionReset`."""
    if not isinstance(sock, MemStreamSocket):
        raise TypeError(f"reset expects a connection of the mock environment's network, not {type(sock).__name__}")
    sock.reset()


class MemListeningSocket:
    """A listening socket of the in-memory network: an `eio.net.ListeningSocket`."""

    __slots__ = ("_net", "_key", "_addr", "_queue", "_arrived", "_closed", "_hook", "_backlog", "_options")

    def __init__(self, net: LoopbackNetwork, key: Key, addr: StreamAddr, backlog: int) -> None:
        self._net = net
        # As Linux: backlog + 1 connections wait to be accepted; more wait to connect.
        self._backlog = max(backlog, 0) + 1
        self._key = key
        self._addr = addr
        self._queue: deque[tuple[MemStreamSocket, StreamAddr]] = deque()
        self._arrived = eio.Condition()
        self._closed = False
        self._hook: eio.ReleaseHook | None = None
        self._options = _Options()

    def __repr__(self) -> str:
        return f"<mock listening socket {self._addr}{' closed' if self._closed else ''}>"

    def set_socket_option(self, option: SocketOption[Any], value: object, /) -> None:
        """Keep ``option`` (`eio.net.setsockopt`); `ValueError` if it doesn't apply to this socket."""
        self._options.set(self, self._closed, _family_of(self._addr, socket.AF_INET), socket.SOCK_STREAM, option, value)

    def get_socket_option(self, option: SocketOption[Any], /) -> object:
        """The value set for ``option``, or off (False, 0, None) if never set (`eio.net.getsockopt`)."""
        return self._options.get(self, self._closed, _family_of(self._addr, socket.AF_INET), socket.SOCK_STREAM, option)

    def _attach(self, sw: Switch) -> MemListeningSocket:
        self._hook = sw.on_release(self._close_now)
        return self

    async def _deliver(self, conn: MemStreamSocket, peer: StreamAddr) -> None:
        while len(self._queue) >= self._backlog:
            if self._closed:
                raise _oserror(errno.ECONNREFUSED, "Connection refused")
            await self._arrived.await_no_mutex()
        if self._closed:
            raise _oserror(errno.ECONNREFUSED, "Connection refused")
        self._queue.append((conn, peer))
        self._arrived.broadcast()

    async def accept(self, sw: Switch, /) -> tuple[eio.net.StreamSocket, StreamAddr]:
        """Wait for a connection; it is closed when ``sw`` finishes."""
        while True:
            if self._closed:
                raise _closed("accept", "listening socket")
            eio.fiber.check()
            if self._queue:
                conn, peer = self._queue.popleft()
                self._arrived.broadcast()  # room for a waiting connect
                return conn._attach(sw), peer  # pyright: ignore[reportPrivateUsage] - one unit with the socket
            await self._arrived.await_no_mutex()

    def listening_addr(self) -> StreamAddr:
        """The address listened on (with the port picked, if 0 was asked for)."""
        return self._addr

    def _close_now(self) -> None:
        if self._closed:
            return
        self._closed = True
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.remove()
        self._net._unbind(self._key)  # pyright: ignore[reportPrivateUsage] - one unit with the network
        # Connections never accepted are refused now, as the OS resets them.
        while self._queue:
            conn, _ = self._queue.popleft()
            conn.reset()
        self._arrived.broadcast()

    async def close(self) -> None:
        """Stop listening (idempotent)."""
        self._close_now()


class MemDatagramSocket:
    """A datagram socket of the in-memory network: an `eio.net.DatagramSocket`."""

    __slots__ = ("_net", "_family", "_addr", "_key", "_queue", "_arrived", "_closed", "_hook", "_options")

    def __init__(self, net: LoopbackNetwork, family: int) -> None:
        self._net = net
        self._family = family
        self._addr: Udp | None = None
        self._key: Key | None = None
        self._queue: deque[tuple[DatagramAddr, bytes]] = deque()
        self._arrived = eio.Condition()
        self._closed = False
        self._hook: eio.ReleaseHook | None = None
        self._options = _Options()

    def __repr__(self) -> str:
        return f"<mock datagram socket {self._addr or 'unbound'}>"

    def set_socket_option(self, option: SocketOption[Any], value: object, /) -> None:
        """Keep ``option`` (`eio.net.setsockopt`); `ValueError` if it doesn't apply to this socket."""
        self._options.set(self, self._closed, self._family, socket.SOCK_DGRAM, option, value)

    def get_socket_option(self, option: SocketOption[Any], /) -> object:
        """The value set for ``option``, or off (False, 0, None) if never set (`eio.net.getsockopt`)."""
        return self._options.get(self, self._closed, self._family, socket.SOCK_DGRAM, option)

    @property
    def addr(self) -> Udp | None:
        """The bound address (None until bound)."""
        return self._addr

    def _attach(self, sw: Switch) -> MemDatagramSocket:
        self._hook = sw.on_release(self._close_now)
        return self

    def _check(self, op: str) -> None:
        if self._closed:
            raise _closed(op, "datagram socket")
        eio.fiber.check()

    def local_addr(self) -> DatagramAddr:
        """The bound address (binding to a free port first, if not yet bound)."""
        if isinstance(self._key, tuple) and self._key[0] == "unix-dgram":
            return Unix(str(self._key[1]))
        return self._ensure_bound()

    def _ensure_bound(self) -> Udp:
        if self._addr is None:
            ip = _LOCALHOST[0] if self._family == socket.AF_INET else _LOCALHOST[1]
            self._net._bind_datagram(self, Udp(ip, 0))  # pyright: ignore[reportPrivateUsage] - one unit
        assert self._addr is not None
        return self._addr

    async def send(self, bufs: Sequence[bytes | memoryview], dst: DatagramAddr | None, /) -> None:
        """Send one message to ``dst``; a message to an address nobody has bound is lost, as UDP's would be."""
        self._check("send")
        if dst is None:
            raise _oserror(errno.EDESTADDRREQ, "Destination address required")
        src = self.local_addr()
        target = self._net._datagram_target(dst)  # pyright: ignore[reportPrivateUsage] - one unit
        if target is not None and not target._closed:
            shown: DatagramAddr = src
            if isinstance(src, Udp) and src.ip.is_unspecified:
                shown = Udp(_LOCALHOST[0] if isinstance(src.ip, ipaddress.IPv4Address) else _LOCALHOST[1], src.port)
            target._queue.append((shown, b"".join(bufs)))
            target._arrived.broadcast()

    async def recv(self, buf: memoryview, /) -> tuple[DatagramAddr, int]:
        """Wait for one message; copy what fits of it into ``buf``; return its sender and length copied."""
        while True:
            self._check("recv")
            if self._queue:
                src, data = self._queue.popleft()
                n = min(len(buf), len(data))
                buf[:n] = data[:n]
                return src, n
            await self._arrived.await_no_mutex()

    def _close_now(self) -> None:
        if self._closed:
            return
        self._closed = True
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.remove()
        if self._key is not None:
            self._net._unbind(self._key)  # pyright: ignore[reportPrivateUsage] - one unit
        self._arrived.broadcast()

    async def close(self) -> None:
        """Close the socket (idempotent)."""
        self._close_now()


def _family_key(ip: IpAddr) -> int:
    return socket.AF_INET if isinstance(ip, ipaddress.IPv4Address) else socket.AF_INET6


def _check_local(ip: IpAddr, addr: object) -> None:
    if not (ip.is_loopback or ip.is_unspecified):
        raise _oserror(errno.EADDRNOTAVAIL, "Cannot assign requested address", addr)


class LoopbackNetwork:
    """The in-memory network: `eio.net.Network` over loopback addresses only."""

    def __init__(self) -> None:
        self._bound: dict[Key, MemListeningSocket | MemDatagramSocket] = {}
        self._ports = itertools.count(_FIRST_PORT)

    def __repr__(self) -> str:
        return f"<mock loopback network: {len(self._bound)} bound>"

    # -- bindings ------------------------------------------------------------------------

    def _port_used(self, proto: str, family: int, port: int) -> bool:
        for kind, ip, used in self._bound:
            if kind == proto and used == port and isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                if _family_key(ip) == family:
                    return True
        return False

    def _pick_port(self, proto: str, family: int) -> int:
        while True:
            port = next(self._ports)
            if not self._port_used(proto, family, port):
                return port

    def _claim(self, proto: str, ip: IpAddr, port: int, addr: object) -> tuple[Key, int]:
        _check_local(ip, addr)
        family = _family_key(ip)
        if port == 0:
            port = self._pick_port(proto, family)
        elif self._port_used(proto, family, port):
            raise _oserror(errno.EADDRINUSE, "Address already in use", addr)
        return (proto, ip, port), port

    def _unbind(self, key: Key) -> None:
        self._bound.pop(key, None)

    def _find(self, proto: str, ip: IpAddr, port: int) -> MemListeningSocket | MemDatagramSocket | None:
        if ip.is_unspecified:
            ip = _LOCALHOST[0] if isinstance(ip, ipaddress.IPv4Address) else _LOCALHOST[1]
        found = self._bound.get((proto, ip, port))
        if found is None and ip.is_loopback:
            anywhere = ipaddress.IPv4Address(0) if isinstance(ip, ipaddress.IPv4Address) else ipaddress.IPv6Address(0)
            found = self._bound.get((proto, anywhere, port))
        return found

    def _bind_datagram(self, sock: MemDatagramSocket, addr: Udp) -> None:
        key, port = self._claim("udp", addr.ip, addr.port, addr)
        self._bound[key] = sock
        sock._key = key  # pyright: ignore[reportPrivateUsage] - one unit with the socket
        sock._addr = Udp(addr.ip, port)  # pyright: ignore[reportPrivateUsage]

    def _datagram_target(self, dst: DatagramAddr) -> MemDatagramSocket | None:
        if isinstance(dst, Unix):
            found = self._bound.get(("unix-dgram", dst.path, 0))
        else:
            found = self._find("udp", dst.ip, dst.port)
        return found if isinstance(found, MemDatagramSocket) else None

    # -- the Network interface ---------------------------------------------------------

    async def listen(
        self, sw: Switch, addr: StreamAddr, backlog: int, reuse_addr: bool, reuse_port: bool, /
    ) -> MemListeningSocket:
        """Listen on ``addr`` (a loopback or unspecified IP, or a Unix path)."""
        eio.fiber.check()
        if isinstance(addr, Unix):
            key: Key = ("unix", addr.path, 0)
            if key in self._bound:
                raise _oserror(errno.EADDRINUSE, "Address already in use", addr)
            bound: StreamAddr = addr
        else:
            key, port = self._claim("tcp", addr.ip, addr.port, addr)
            bound = Tcp(addr.ip, port)
        sock = MemListeningSocket(self, key, bound, backlog)
        self._bound[key] = sock
        return sock._attach(sw)  # pyright: ignore[reportPrivateUsage] - one unit with the socket

    async def connect(self, sw: Switch, addr: StreamAddr, /) -> MemStreamSocket:
        """Connect to whoever listens on ``addr``; `eio.net.ConnectionFailure` ("refused") if nobody does."""
        return await self.connect_with(sw, addr, None, ())

    async def connect_with(
        self, sw: Switch, addr: StreamAddr, bind_to: StreamAddr | None, settings: Sequence[OptionSetting[Any]], /
    ) -> MemStreamSocket:
        """`connect` from ``bind_to`` (a loopback or unspecified IP; port 0 picks one), with ``settings`` set first.

        `eio.net.connect` calls this for ``bind_to=`` and ``options=``. A
        source address that is not local is ``EADDRNOTAVAIL``; a port a
        listener holds, ``EADDRINUSE``; both as `eio.Io`, as the OS reports them.
        """
        eio.fiber.check()
        options = _Options()
        for setting in settings:
            options.set(
                "a stream socket", False, _family_of(addr, socket.AF_INET), socket.SOCK_STREAM, setting.option, setting.value
            )
        local_ip: IpAddr | None = None
        local_port = 0
        if isinstance(bind_to, Tcp):
            try:
                _check_local(bind_to.ip, bind_to)
                if bind_to.port and self._port_used("tcp", _family_key(bind_to.ip), bind_to.port):
                    raise _oserror(errno.EADDRINUSE, "Address already in use", bind_to)
            except eio.Io as ex:
                ex.add_note(f"binding to {bind_to}")  # as the OS backends say it
                raise
            local_ip, local_port = bind_to.ip, bind_to.port
        if isinstance(addr, Unix):
            found = self._bound.get(("unix", addr.path, 0))
            if found is None:
                # A Unix path nobody listens on doesn't exist (no socket file is left behind).
                raise _oserror(errno.ENOENT, "No such file or directory", addr)
            local: StreamAddr = Unix("")
            target: StreamAddr = addr
        else:
            found = self._find("tcp", addr.ip, addr.port)
            ip = addr.ip
            if ip.is_unspecified:
                ip = _LOCALHOST[0] if isinstance(ip, ipaddress.IPv4Address) else _LOCALHOST[1]
            target = Tcp(ip, addr.port)
            if local_ip is not None and not local_ip.is_unspecified:
                ip = local_ip
            local = Tcp(ip, local_port or self._pick_port("tcp", _family_key(ip)))
        if not isinstance(found, MemListeningSocket) or found._closed:  # pyright: ignore[reportPrivateUsage]
            raise _oserror(errno.ECONNREFUSED, "Connection refused")
        to_server, to_client = _Pipe(), _Pipe()
        if isinstance(bind_to, Unix):
            local = bind_to
        client = MemStreamSocket(to_client, to_server, local, target)
        client._options = options  # pyright: ignore[reportPrivateUsage] - set before connecting, as the OS does
        server = MemStreamSocket(to_server, to_client, target, local)
        await found._deliver(server, local)  # pyright: ignore[reportPrivateUsage] - one unit with the socket
        return client._attach(sw)  # pyright: ignore[reportPrivateUsage]

    async def datagram_socket(
        self, sw: Switch, addr: DatagramBind, reuse_addr: bool, reuse_port: bool, /
    ) -> MemDatagramSocket:
        """A datagram socket bound to ``addr`` (``"udpv4"``/``"udpv6"``: bound on first send)."""
        eio.fiber.check()
        if isinstance(addr, str):
            if addr not in ("udpv4", "udpv6"):
                raise ValueError(f"datagram_socket: addr must be a Udp or Unix address, 'udpv4' or 'udpv6', not {addr!r}")
            return MemDatagramSocket(self, socket.AF_INET if addr == "udpv4" else socket.AF_INET6)._attach(sw)  # pyright: ignore[reportPrivateUsage]
        if isinstance(addr, Unix):
            key: Key = ("unix-dgram", addr.path, 0)
            if key in self._bound:
                raise _oserror(errno.EADDRINUSE, "Address already in use", addr)
            sock = MemDatagramSocket(self, _AF_UNIX)
            self._bound[key] = sock
            sock._key = key  # pyright: ignore[reportPrivateUsage]
            return sock._attach(sw)  # pyright: ignore[reportPrivateUsage]
        sock = MemDatagramSocket(self, _family_key(addr.ip))
        self._bind_datagram(sock, addr)
        return sock._attach(sw)  # pyright: ignore[reportPrivateUsage]

    async def getaddrinfo(self, host: str, service: str, /) -> list[Sockaddr]:
        """``localhost`` (IPv4 then IPv6) or a numeric address, TCP then UDP for each."""
        eio.fiber.check()
        if service == "":
            port = 0
        elif service.isdigit():
            port = int(service)
        elif service in _SERVICES:
            port = _SERVICES[service]
        else:
            raise from_oserror(socket.gaierror(socket.EAI_SERVICE, "Servname not supported for ai_socktype"))
        if host in ("localhost", ""):
            ips: Sequence[IpAddr] = _LOCALHOST
        else:
            try:
                ips = [ipaddress.ip_address(host)]
            except ValueError:
                raise from_oserror(socket.gaierror(socket.EAI_NONAME, "Name or service not known")) from None
        out: list[Sockaddr] = []
        for ip in ips:
            out += [Tcp(ip, port), Udp(ip, port)]
        return out

    async def getnameinfo(self, addr: Sockaddr, /) -> tuple[str, str]:
        """``("localhost", port)`` for a loopback address, else the numeric address."""
        eio.fiber.check()
        if isinstance(addr, Unix):
            return (addr.path, "")
        host = "localhost" if addr.ip.is_loopback else str(addr.ip)
        names = {v: k for k, v in _SERVICES.items()}
        return host, names.get(addr.port, str(addr.port))


if TYPE_CHECKING:
    _NET_IS: type[eio.net.Network] = LoopbackNetwork
    _STREAM_IS: type[eio.net.StreamSocket] = MemStreamSocket
    _LISTEN_IS: type[eio.net.ListeningSocket] = MemListeningSocket
    _DGRAM_IS: type[eio.net.DatagramSocket] = MemDatagramSocket
