"""Network addresses (Eio's ``Net.Ipaddr`` and ``Net.Sockaddr``).

`Tcp`, `Udp` and `Unix` are frozen, hashable values. An IP address is an
`ipaddress.IPv4Address` or `ipaddress.IPv6Address`; the constructors also
take the address as a string (``Tcp("127.0.0.1", 80)``) and convert it, so
the ``ip`` attribute always holds the `ipaddress` type. ``str()`` gives Eio's
notation (``tcp:127.0.0.1:80``, ``tcp:[::1]:80``, ``unix:/path``), which
`parse_sockaddr` reads back.

`to_socket` / `tcp_of_socket` and friends convert to and from the address
values of the `socket` module, for backends.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Literal, TypeAlias

__all__ = [
    "ANY_V4",
    "ANY_V6",
    "LOOPBACK_V4",
    "LOOPBACK_V6",
    "DatagramAddr",
    "DatagramBind",
    "IpAddr",
    "Sockaddr",
    "SocketAddress",
    "StreamAddr",
    "Tcp",
    "Udp",
    "Unix",
    "datagram_of_socket",
    "format_ip",
    "parse_sockaddr",
    "stream_of_socket",
    "to_socket",
]

IpAddr: TypeAlias = IPv4Address | IPv6Address
"""An IP address: version 4 or 6."""

ANY_V4 = IPv4Address("0.0.0.0")
"""All the host's IPv4 addresses, for `listen` only (Eio's ``Ipaddr.V4.any``)."""
LOOPBACK_V4 = IPv4Address("127.0.0.1")
"""The host itself over IPv4 (Eio's ``Ipaddr.V4.loopback``)."""
ANY_V6 = IPv6Address("::")
"""All the host's IPv6 addresses, for `listen` only (Eio's ``Ipaddr.V6.any``)."""
LOOPBACK_V6 = IPv6Address("::1")
"""The host itself over IPv6 (Eio's ``Ipaddr.V6.loopback``)."""


def _ip(value: object, who: str) -> IpAddr:
    if isinstance(value, (IPv4Address, IPv6Address)):
        return value
    if isinstance(value, str):
        try:
            return ip_address(str.__str__(value))
        except ValueError:
            raise ValueError(f"{who}: {value!r} is not an IPv4 or IPv6 address") from None
    raise TypeError(f"{who}: the IP address must be an ipaddress.IPv4Address, IPv6Address or str, not {type(value).__name__}")


def _port(value: object, who: str) -> int:
    # bool is an int subclass, but Tcp(ip, True) is certainly a mistake.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{who}: the port must be an int, not {type(value).__name__}")
    value = int.__index__(value)  # a plain int: no subclass's comparison decides the check
    if not 0 <= value <= 65535:
        raise ValueError(f"{who}: port {value} is out of range (0 to 65535)")
    return value


def format_ip(ip: IpAddr) -> str:
    """``ip`` as text, as Eio prints it (IPv4-mapped IPv6 in dotted form on every Python)."""
    if isinstance(ip, IPv6Address):
        mapped = ip.ipv4_mapped
        if mapped is not None:
            # Python < 3.13 prints "::ffff:102:304"; RFC 5952 and Eio say "::ffff:1.2.3.4".
            scope = f"%{ip.scope_id}" if ip.scope_id else ""
            return f"::ffff:{mapped}{scope}"
    return str(ip)


def _ip_for_uri(ip: IpAddr) -> str:
    if isinstance(ip, IPv6Address):
        return f"[{format_ip(ip)}]"
    return str(ip)


def _init_ip_port(self: Tcp | Udp, ip: IpAddr | str, port: int) -> None:
    # The dataclasses are frozen: fields are set once, here, after conversion.
    who = type(self).__name__
    object.__setattr__(self, "ip", _ip(ip, who))
    object.__setattr__(self, "port", _port(port, who))


def _ip_family(ip: IpAddr) -> socket.AddressFamily:
    return socket.AF_INET if ip.version == 4 else socket.AF_INET6


@dataclass(frozen=True, slots=True, init=False)
class Tcp:
    """A TCP address: ``Tcp(ip, port)``; ``str()`` is ``tcp:127.0.0.1:80``, or ``tcp:[::1]:80``.

    ``ip`` may be given as a string and is converted; a bad address or port
    raises `ValueError`, a value of the wrong kind `TypeError`.
    """

    ip: IpAddr
    port: int

    def __init__(self, ip: IpAddr | str, port: int) -> None:
        _init_ip_port(self, ip, port)

    def __str__(self) -> str:
        return f"tcp:{_ip_for_uri(self.ip)}:{self.port}"

    @property
    def family(self) -> socket.AddressFamily:
        """``AF_INET`` or ``AF_INET6``, by the IP version."""
        return _ip_family(self.ip)


@dataclass(frozen=True, slots=True, init=False)
class Udp:
    """A UDP address: ``Udp(ip, port)``; ``str()`` is ``udp:127.0.0.1:53``. Converts as `Tcp` does."""

    ip: IpAddr
    port: int

    def __init__(self, ip: IpAddr | str, port: int) -> None:
        _init_ip_port(self, ip, port)

    def __str__(self) -> str:
        return f"udp:{_ip_for_uri(self.ip)}:{self.port}"

    @property
    def family(self) -> socket.AddressFamily:
        """``AF_INET`` or ``AF_INET6``, by the IP version."""
        return _ip_family(self.ip)


@dataclass(frozen=True, slots=True, init=False)
class Unix:
    """A Unix-domain socket address: ``Unix(path)``; ``str()`` is ``unix:/path``.

    ``path`` may be any `os.PathLike`; it is stored as a str. A path starting
    with a NUL character is an abstract socket (Linux).
    """

    path: str

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, (str, os.PathLike)):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
            raise TypeError(f"Unix: the path must be a str or os.PathLike, not {type(path).__name__}")
        text = os.fspath(path)
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance] - a PathLike may give bytes
            raise TypeError(f"Unix: the path must be a str (bytes paths are not supported), not {type(text).__name__}")
        # Stored as a plain str, so that no subclass's methods run on it later.
        object.__setattr__(self, "path", str.__str__(text))

    def __str__(self) -> str:
        return f"unix:{self.path}"

    @property
    def family(self) -> socket.AddressFamily:
        """``AF_UNIX`` (`OSError` where the platform has no Unix-domain sockets)."""
        family: socket.AddressFamily | None = getattr(socket, "AF_UNIX", None)
        if family is None:
            raise OSError("Unix-domain sockets are not supported on this platform")
        return family


StreamAddr: TypeAlias = Tcp | Unix
"""An address for stream sockets (Eio's ``Sockaddr.stream``)."""
DatagramAddr: TypeAlias = Udp | Unix
"""An address for datagram sockets (Eio's ``Sockaddr.datagram``)."""
Sockaddr: TypeAlias = Tcp | Udp | Unix
"""Any socket address (Eio's ``Sockaddr.t``)."""
DatagramBind: TypeAlias = Udp | Unix | Literal["udpv4", "udpv6"]
"""Where to bind a datagram socket: an address, or ``"udpv4"`` / ``"udpv6"`` for a
client socket on a port the OS picks (Eio's ```UdpV4`` / ```UdpV6``)."""

SocketAddress: TypeAlias = tuple[str, int] | tuple[str, int, int, int] | str | bytes
"""An address as the `socket` module takes and returns it."""


def to_socket(addr: Sockaddr) -> SocketAddress:
    """``addr`` as the `socket` module takes it: ``(host, port)``, ``(host, port, 0, scope)`` or a path."""
    if isinstance(addr, Unix):
        return addr.path
    ip = addr.ip
    if isinstance(ip, IPv6Address):
        scope = ip.scope_id
        host = str(ip)
        if scope:
            host = host.rpartition("%")[0]
            scope_num = int(scope) if scope.isdigit() else socket.if_nametoindex(scope)
            return (host, addr.port, 0, scope_num)
        return (host, addr.port, 0, 0)
    return (str(ip), addr.port)


def _ip_of_socket(host: str, scope_id: int) -> IpAddr:
    ip = ip_address(host)
    if scope_id and isinstance(ip, IPv6Address) and not ip.scope_id:
        ip = IPv6Address(f"{host}%{scope_id}")
    return ip


def _of_socket(kind: Literal["tcp", "udp"], sockaddr: object) -> Sockaddr:
    if sockaddr is None:
        return Unix("")  # an unnamed Unix-domain socket (one of a socket pair)
    if isinstance(sockaddr, (str, bytes)):
        return Unix(os.fsdecode(sockaddr))
    if isinstance(sockaddr, tuple) and len(sockaddr) in (2, 4):  # pyright: ignore[reportUnknownArgumentType] - checked below
        parts: tuple[object, ...] = sockaddr  # pyright: ignore[reportUnknownVariableType] - checked below
        host, port = parts[0], parts[1]
        scope = parts[3] if len(parts) == 4 else 0
        if isinstance(host, str) and isinstance(port, int) and isinstance(scope, int):
            ip = _ip_of_socket(host, scope)
            return Tcp(ip, port) if kind == "tcp" else Udp(ip, port)
    raise ValueError(f"not a socket address: {sockaddr!r}")


def stream_of_socket(sockaddr: object) -> StreamAddr:
    """The `Tcp` or `Unix` address for a `socket` module address (from ``accept``, ``getsockname``...)."""
    addr = _of_socket("tcp", sockaddr)
    assert not isinstance(addr, Udp)
    return addr


def datagram_of_socket(sockaddr: object) -> DatagramAddr:
    """The `Udp` or `Unix` address for a `socket` module address (from ``recvfrom``...)."""
    addr = _of_socket("udp", sockaddr)
    assert not isinstance(addr, Tcp)
    return addr


def parse_sockaddr(text: str) -> Sockaddr:
    """Read back what ``str()`` of an address gives: ``tcp:1.2.3.4:80``, ``udp:[::1]:53``, ``unix:/path``.

    Raises `ValueError` naming the text if it is not one of these forms,
    `TypeError` if it is not a str.
    """
    if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"eio.net.parse_sockaddr: text must be a str, got {type(text).__name__}")
    text = str.__str__(text)  # a plain str: no subclass's partition or isdigit decides
    scheme, sep, rest = text.partition(":")
    if sep and scheme == "unix":
        return Unix(rest)
    if sep and scheme in ("tcp", "udp"):
        host, sep2, port_text = rest.rpartition(":")
        if sep2 and port_text.isdigit() and port_text.isascii():
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
                valid = ":" in host
            else:
                valid = ":" not in host
            if valid:
                try:
                    ip = ip_address(host)
                    return Tcp(ip, int(port_text)) if scheme == "tcp" else Udp(ip, int(port_text))
                except ValueError:
                    pass
    raise ValueError(f"not a socket address (expected tcp:HOST:PORT, udp:HOST:PORT or unix:PATH): {text!r}")
