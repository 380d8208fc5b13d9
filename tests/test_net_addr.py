"""Network addresses: construction, formatting as Eio does, parsing, socket-module conversion, bad input."""

from __future__ import annotations

import dataclasses
import pickle
import socket
from ipaddress import IPv4Address, IPv6Address
from pathlib import PurePosixPath

import eio.net
import pytest
from eio.net import Tcp, Udp, Unix


def test_str_is_eio_notation() -> None:
    assert str(Tcp(eio.net.LOOPBACK_V4, 8080)) == "tcp:127.0.0.1:8080"
    assert str(Tcp(eio.net.LOOPBACK_V6, 8080)) == "tcp:[::1]:8080"
    assert str(Udp(eio.net.ANY_V4, 53)) == "udp:0.0.0.0:53"
    assert str(Udp(eio.net.ANY_V6, 53)) == "udp:[::]:53"
    assert str(Unix("/tmp/eio.sock")) == "unix:/tmp/eio.sock"
    assert str(Unix("")) == "unix:"


def test_ipv6_is_printed_as_rfc_5952() -> None:
    assert str(Tcp("2001:db8:0:0:1:0:0:1", 1)) == "tcp:[2001:db8::1:0:0:1]:1"
    assert str(Tcp("::ffff:1.2.3.4", 1)) == "tcp:[::ffff:1.2.3.4]:1"
    assert eio.net.format_ip(IPv6Address("::ffff:7f00:1")) == "::ffff:127.0.0.1"
    assert str(Tcp("fe80::1%2", 1)) == "tcp:[fe80::1%2]:1"


def test_ip_may_be_given_as_text() -> None:
    a = Tcp("127.0.0.1", 80)
    assert a.ip == IPv4Address("127.0.0.1") and isinstance(a.ip, IPv4Address)
    assert a == Tcp(eio.net.LOOPBACK_V4, 80)
    assert Udp("::1", 5).ip == IPv6Address("::1")


def test_values_are_frozen_hashable_and_distinct_by_kind() -> None:
    a = Tcp("127.0.0.1", 80)
    assert hash(a) == hash(Tcp("127.0.0.1", 80))
    assert a != Udp("127.0.0.1", 80)
    assert len({a, Tcp("127.0.0.1", 80), Udp("127.0.0.1", 80)}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.port = 81  # pyright: ignore[reportAttributeAccessIssue] - the error under test
    assert dataclasses.replace(a, port=81) == Tcp("127.0.0.1", 81)
    assert pickle.loads(pickle.dumps(a)) == a
    assert pickle.loads(pickle.dumps(Unix("/x"))) == Unix("/x")
    assert repr(a) == "Tcp(ip=IPv4Address('127.0.0.1'), port=80)"
    assert repr(Unix("/x")) == "Unix(path='/x')"


def test_pattern_matching() -> None:
    def describe(addr: eio.net.Sockaddr) -> str:
        match addr:
            case Tcp(ip, port):
                return f"TCP {ip} {port}"
            case Udp(ip, port):
                return f"UDP {ip} {port}"
            case Unix(path):
                return f"Unix {path}"

    assert describe(Tcp("::1", 1)) == "TCP ::1 1"
    assert describe(Udp("1.2.3.4", 2)) == "UDP 1.2.3.4 2"
    assert describe(Unix("/s")) == "Unix /s"


def test_unix_path_may_be_a_path_object() -> None:
    assert Unix(PurePosixPath("/run/x.sock")).path == "/run/x.sock"


def test_bad_port() -> None:
    with pytest.raises(ValueError, match=r"^Tcp: port 65536 is out of range \(0 to 65535\)$"):
        Tcp("127.0.0.1", 65536)
    with pytest.raises(ValueError, match=r"^Udp: port -1 is out of range \(0 to 65535\)$"):
        Udp("127.0.0.1", -1)
    with pytest.raises(TypeError, match="^Tcp: the port must be an int, not str$"):
        Tcp("127.0.0.1", "80")  # pyright: ignore[reportArgumentType] - the error under test
    with pytest.raises(TypeError, match="^Tcp: the port must be an int, not bool$"):
        Tcp("127.0.0.1", True)


def test_bad_ip() -> None:
    with pytest.raises(ValueError, match="^Tcp: 'localhost' is not an IPv4 or IPv6 address$"):
        Tcp("localhost", 80)
    with pytest.raises(ValueError, match=r"^Udp: '1\.2\.3' is not an IPv4 or IPv6 address$"):
        Udp("1.2.3", 80)
    with pytest.raises(
        TypeError, match="^Tcp: the IP address must be an ipaddress.IPv4Address, IPv6Address or str, not bytes$"
    ):
        Tcp(b"\x7f\x00\x00\x01", 80)  # pyright: ignore[reportArgumentType] - the error under test


def test_bad_unix_path() -> None:
    with pytest.raises(TypeError, match="^Unix: the path must be a str or os.PathLike, not int$"):
        Unix(3)  # pyright: ignore[reportArgumentType] - the error under test


def test_parse_reads_back_str() -> None:
    for addr in [
        Tcp("127.0.0.1", 8080),
        Tcp("::1", 0),
        Udp("::ffff:1.2.3.4", 53),
        Udp("0.0.0.0", 65535),
        Unix("/tmp/a:b"),
        Unix(""),
    ]:
        assert eio.net.parse_sockaddr(str(addr)) == addr


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tcp",
        "tcp:127.0.0.1",
        "tcp:127.0.0.1:",
        "tcp:::1:80",
        "tcp:[127.0.0.1]:80",
        "tcp:localhost:80",
        "tcp:1.2.3.4:99999",
        "tcp:1.2.3.4:-1",
        "tcp:1.2.3.4:٣",
        "sctp:1.2.3.4:80",
        "/tmp/sock",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="^not a socket address"):
        eio.net.parse_sockaddr(text)


def test_to_socket() -> None:
    assert eio.net.to_socket(Tcp("127.0.0.1", 80)) == ("127.0.0.1", 80)
    assert eio.net.to_socket(Udp("::1", 53)) == ("::1", 53, 0, 0)
    assert eio.net.to_socket(Tcp("fe80::1%3", 80)) == ("fe80::1", 80, 0, 3)
    assert eio.net.to_socket(Unix("/s")) == "/s"
    assert Tcp("127.0.0.1", 80).family == socket.AF_INET
    assert Udp("::1", 80).family == socket.AF_INET6


def test_of_socket() -> None:
    assert eio.net.stream_of_socket(("127.0.0.1", 80)) == Tcp("127.0.0.1", 80)
    assert eio.net.stream_of_socket(("::1", 80, 0, 0)) == Tcp("::1", 80)
    assert eio.net.stream_of_socket(("fe80::1", 80, 0, 3)) == Tcp("fe80::1%3", 80)
    assert eio.net.stream_of_socket("/s") == Unix("/s")
    assert eio.net.datagram_of_socket(("1.2.3.4", 5)) == Udp("1.2.3.4", 5)
    assert eio.net.datagram_of_socket(b"\x00abstract") == Unix("\x00abstract")
    with pytest.raises(ValueError, match=r"^not a socket address: \(1, 2\)$"):
        eio.net.stream_of_socket((1, 2))


def test_of_socket_round_trips_real_socket_names() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(eio.net.to_socket(Tcp("127.0.0.1", 0)))
        addr = eio.net.stream_of_socket(s.getsockname())
        assert isinstance(addr, Tcp) and addr.ip == eio.net.LOOPBACK_V4 and addr.port != 0
