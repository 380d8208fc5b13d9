"""Networking (Eio's ``Net``): errors, addresses, socket Protocols and the network functions."""

from __future__ import annotations

# -- errors ----------------------------------------------------------------------
# Every network error is an `eio.net.NetError` (an `eio.Io`); see eio/_io_errors.py.
from ._io_errors import (
    AddressInUse,
    AddressLookupFailed,
    ConnectionFailure,
    ConnectionFailureReason,
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimeout,
    NetError,
)

__all__ = [
    "AddressInUse",
    "AddressLookupFailed",
    "ConnectionFailure",
    "ConnectionFailureReason",
    "ConnectionRefused",
    "ConnectionReset",
    "ConnectionTimeout",
    "NetError",
]
# (later sections extend it with `__all__ += [...]`)
# -- end of errors -----------------------------------------------------------------

# -- addresses, Protocols and functions (eio/_net) --------------------------------
# Owned by the network layer; defined in eio/_net/{addr,protocols,ops}.py.

from ._net.addr import (
    ANY_V4,
    ANY_V6,
    LOOPBACK_V4,
    LOOPBACK_V6,
    DatagramAddr,
    DatagramBind,
    IpAddr,
    Sockaddr,
    SocketAddress,
    StreamAddr,
    Tcp,
    Udp,
    Unix,
    datagram_of_socket,
    format_ip,
    parse_sockaddr,
    stream_of_socket,
    to_socket,
)
from ._net.ops import (
    ConnectionHandler,
    ErrorHandler,
    accept,
    accept_fork,
    connect,
    datagram_socket,
    getaddrinfo,
    getaddrinfo_datagram,
    getaddrinfo_stream,
    getnameinfo,
    listen,
    listening_addr,
    recv,
    run_server,
    send,
    with_tcp_connect,
)
from ._net.options import (
    IPV6_V6ONLY,
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
    OptionSetting,
    OptionTarget,
    SocketOption,
    getsockopt,
    setsockopt,
)
from ._net.protocols import DatagramSocket, ListeningSocket, Network, StreamSocket

__all__ += [
    "ANY_V4",
    "ANY_V6",
    "LOOPBACK_V4",
    "LOOPBACK_V6",
    "ConnectionHandler",
    "DatagramAddr",
    "DatagramBind",
    "DatagramSocket",
    "ErrorHandler",
    "IpAddr",
    "ListeningSocket",
    "Network",
    "Sockaddr",
    "SocketAddress",
    "StreamAddr",
    "StreamSocket",
    "Tcp",
    "Udp",
    "Unix",
    "accept",
    "accept_fork",
    "connect",
    "datagram_of_socket",
    "datagram_socket",
    "format_ip",
    "getaddrinfo",
    "getaddrinfo_datagram",
    "getaddrinfo_stream",
    "getnameinfo",
    "listen",
    "listening_addr",
    "parse_sockaddr",
    "recv",
    "run_server",
    "send",
    "stream_of_socket",
    "to_socket",
    "with_tcp_connect",
]
# -- end of addresses, Protocols and functions ---------------------------------------

# -- socket options (eio/_net/options.py) -------------------------------------------
__all__ += [
    "IPV6_V6ONLY",
    "SO_BROADCAST",
    "SO_KEEPALIVE",
    "SO_LINGER",
    "SO_RCVBUF",
    "SO_REUSEADDR",
    "SO_REUSEPORT",
    "SO_SNDBUF",
    "TCP_KEEPCNT",
    "TCP_KEEPIDLE",
    "TCP_KEEPINTVL",
    "TCP_NODELAY",
    "OptionSetting",
    "OptionTarget",
    "SocketOption",
    "getsockopt",
    "setsockopt",
]
# -- end of socket options ---------------------------------------------------------
