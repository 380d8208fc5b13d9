"""Socket options as a typed API: `SocketOption` objects, `setsockopt` / `getsockopt`, ``connect(options=...)``.

Each option knows its level and number, the type of its value (``bool``,
``int``, or seconds-or-None for ``SO_LINGER``), and the sockets it applies
to, so that a wrong value is a `TypeError` / `ValueError` naming it and an
option the socket doesn't have (``TCP_NODELAY`` on a Unix-domain or a
datagram socket, ``IPV6_V6ONLY`` on an IPv4 one) a `ValueError` saying so,
before the OS is asked. An option this OS lacks (``TCP_KEEPIDLE`` on some
systems) has ``available`` False and raises `ValueError` when used.

``eio.net.TCP_NODELAY(True)`` is a setting, for ``eio.net.connect(...,
options=[...])``; `setsockopt` / `getsockopt` set or read one option of an
existing socket of an operating-system backend. Option names are the C
names, as Python's `socket` module has them (Eio's ``Unix.setsockopt``
options are spelled the same).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, Protocol, TypeVar, cast

from .._io_errors import Io, from_oserror

__all__ = [
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
    "SocketOption",
    "getsockopt",
    "setsockopt",
]

T = TypeVar("T")

_Kind = Literal["bool", "int", "linger"]
_INET: Final = frozenset({socket.AF_INET, socket.AF_INET6})
_INET6: Final = frozenset({socket.AF_INET6})
_ANY_FAMILY: Final[frozenset[int]] = frozenset()
_STREAM: Final = frozenset({socket.SOCK_STREAM})
_DGRAM: Final = frozenset({socket.SOCK_DGRAM})
_ANY_TYPE: Final[frozenset[int]] = frozenset()
_LINGER: Final = struct.Struct("ii")
_MAX_INT: Final = (1 << 31) - 1


class _RawOptions(Protocol):
    """What an operating-system socket of eio has (`eio.unix.UnixSocket`)."""

    @property
    def family(self) -> int: ...

    @property
    def type(self) -> int: ...

    def setsockopt(self, level: int, option: int, value: int | bytes, /) -> None: ...

    def getsockopt(self, level: int, option: int, /) -> int: ...

    def getsockopt_bytes(self, level: int, option: int, buflen: int, /) -> bytes: ...


class SocketOption(Generic[T]):
    """One socket option: ``name`` (the C name), where it lives, the type of its value, the sockets it applies to.

    Call it with a value to get a setting for ``eio.net.connect(...,
    options=[eio.net.TCP_NODELAY(True)])``; the value is checked then.
    """

    __slots__ = ("name", "level", "option", "kind", "families", "types", "applies_to")

    def __init__(
        self,
        name: str,
        level: int | None,
        option: int | None,
        kind: _Kind,
        families: frozenset[int],
        types: frozenset[int],
        applies_to: str,
    ) -> None:
        self.name: str = name
        self.level: int | None = level
        self.option: int | None = option
        self.kind: _Kind = kind
        self.families: frozenset[int] = families
        self.types: frozenset[int] = types
        self.applies_to: str = applies_to

    def __repr__(self) -> str:
        return f"eio.net.{self.name}"

    @property
    def available(self) -> bool:
        """Whether this operating system has the option."""
        return self.level is not None and self.option is not None

    def __call__(self, value: T) -> OptionSetting[T]:
        """A setting of this option to ``value`` (checked now)."""
        return OptionSetting(self, self.check_value(value, f"{self.name}(...)"))

    def check_value(self, value: object, who: str) -> T:
        """``value`` if it suits the option, else a `TypeError` / `ValueError` naming the option."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise TypeError(f"{who}: {self.name} takes True or False, got {value!r}")
            return cast(T, value)
        if self.kind == "linger" and value is None:
            return cast(T, None)
        if not isinstance(value, int) or isinstance(value, bool):
            expected = "an int number of seconds or None (off)" if self.kind == "linger" else "an int"
            raise TypeError(f"{who}: {self.name} takes {expected}, got {value!r}")
        low = 0 if self.kind == "linger" else 1
        if not low <= value <= _MAX_INT:
            raise ValueError(f"{who}: {self.name} must be in {low}..{_MAX_INT}, got {value}")
        return cast(T, int(value))

    def check_socket(self, family: int, kind: int, who: str, what: str) -> tuple[int, int]:
        """``(level, option)`` if the option applies to a socket of ``family`` and ``kind``, else a `ValueError`."""
        if self.level is None or self.option is None:
            raise ValueError(f"{who}: {self.name} is not available on this system")
        if (self.families and family not in self.families) or (self.types and kind not in self.types):
            raise ValueError(f"{who}: {self.name} applies to {self.applies_to}, not to {what}")
        return self.level, self.option

    def encode(self, value: T) -> int | bytes:
        """The value as `socket.socket.setsockopt` takes it."""
        if self.kind == "linger":
            seconds = cast(int | None, value)
            return _LINGER.pack(0, 0) if seconds is None else _LINGER.pack(1, seconds)
        return int(cast(int, value))

    def decode(self, raw: int | bytes) -> T:
        """The value from what `socket.socket.getsockopt` gives."""
        if self.kind == "linger":
            assert isinstance(raw, bytes)
            on, seconds = _LINGER.unpack(raw[: _LINGER.size])
            return cast(T, seconds if on else None)
        if self.kind == "bool":
            return cast(T, bool(raw))
        return cast(T, int(raw))


@dataclass(frozen=True, slots=True)
class OptionSetting(Generic[T]):
    """An option with a checked value: ``eio.net.TCP_NODELAY(True)``."""

    option: SocketOption[T]
    value: T

    def __repr__(self) -> str:
        return f"{self.option!r}({self.value!r})"


def _opt(name: str, level: int | None, kind: _Kind, families: frozenset[int], types: frozenset[int], applies_to: str) -> Any:
    return SocketOption[Any](name, level, getattr(socket, name, None), kind, families, types, applies_to)


_TCP = getattr(socket, "IPPROTO_TCP", None)
_IPV6 = getattr(socket, "IPPROTO_IPV6", None)

TCP_NODELAY: SocketOption[bool] = _opt("TCP_NODELAY", _TCP, "bool", _INET, _STREAM, "TCP stream sockets")
"""Send small writes at once instead of gathering them (turns Nagle's algorithm off)."""
SO_KEEPALIVE: SocketOption[bool] = _opt("SO_KEEPALIVE", socket.SOL_SOCKET, "bool", _INET, _STREAM, "TCP stream sockets")
"""Probe an idle connection, to find a peer that went away."""
TCP_KEEPIDLE: SocketOption[int] = _opt("TCP_KEEPIDLE", _TCP, "int", _INET, _STREAM, "TCP stream sockets")
"""Seconds of idleness before the first keep-alive probe (where the OS has it)."""
TCP_KEEPINTVL: SocketOption[int] = _opt("TCP_KEEPINTVL", _TCP, "int", _INET, _STREAM, "TCP stream sockets")
"""Seconds between keep-alive probes (where the OS has it)."""
TCP_KEEPCNT: SocketOption[int] = _opt("TCP_KEEPCNT", _TCP, "int", _INET, _STREAM, "TCP stream sockets")
"""Unanswered keep-alive probes before the connection is dropped (where the OS has it)."""
SO_REUSEADDR: SocketOption[bool] = _opt("SO_REUSEADDR", socket.SOL_SOCKET, "bool", _INET, _ANY_TYPE, "TCP and UDP sockets")
"""Allow binding to an address still in TIME_WAIT (set before binding)."""
SO_REUSEPORT: SocketOption[bool] = _opt("SO_REUSEPORT", socket.SOL_SOCKET, "bool", _INET, _ANY_TYPE, "TCP and UDP sockets")
"""Allow several sockets to bind the same address and port (where the OS has it)."""
SO_RCVBUF: SocketOption[int] = _opt("SO_RCVBUF", socket.SOL_SOCKET, "int", _ANY_FAMILY, _ANY_TYPE, "every socket")
"""The receive buffer's size in bytes (the OS may adjust it: Linux reads back twice what was set)."""
SO_SNDBUF: SocketOption[int] = _opt("SO_SNDBUF", socket.SOL_SOCKET, "int", _ANY_FAMILY, _ANY_TYPE, "every socket")
"""The send buffer's size in bytes (the OS may adjust it: Linux reads back twice what was set)."""
SO_LINGER: SocketOption[int | None] = _opt("SO_LINGER", socket.SOL_SOCKET, "linger", _ANY_FAMILY, _STREAM, "stream sockets")
"""Seconds ``close`` waits for unsent data (0: reset the connection at once); None: off (the default)."""
SO_BROADCAST: SocketOption[bool] = _opt("SO_BROADCAST", socket.SOL_SOCKET, "bool", _INET, _DGRAM, "UDP sockets")
"""Allow sending to a broadcast address."""
IPV6_V6ONLY: SocketOption[bool] = _opt("IPV6_V6ONLY", _IPV6, "bool", _INET6, _ANY_TYPE, "IPv6 sockets")
"""An IPv6 socket that takes no IPv4 traffic (set before binding)."""


class OptionTarget(Protocol):
    """A socket of your own making that takes options: what `setsockopt` and `getsockopt` call when it isn't an OS socket."""

    def set_socket_option(self, option: SocketOption[Any], value: object, /) -> None:
        """Set ``option`` to ``value`` (already checked to be of the option's type)."""
        ...

    def get_socket_option(self, option: SocketOption[Any], /) -> object:
        """The value of ``option`` (of the option's type)."""
        ...


def _raw(sock: object, who: str) -> _RawOptions:
    if not all(hasattr(sock, a) for a in ("setsockopt", "getsockopt_bytes", "family", "type")):
        raise TypeError(f"{who}: {sock!r} has no socket options (it is not an operating-system socket)")
    return cast(_RawOptions, sock)


def _check_option(option: object, who: str) -> SocketOption[Any]:
    if not isinstance(option, SocketOption):
        raise TypeError(f"{who}: option must be an eio.net socket option such as eio.net.TCP_NODELAY, got {option!r}")
    return cast(SocketOption[Any], option)


def setsockopt(sock: object, option: SocketOption[T], value: T) -> None:
    """Set ``option`` of the socket ``sock`` to ``value``: ``eio.net.setsockopt(flow, eio.net.TCP_NODELAY, True)``.

    ``sock`` is a socket of an operating-system backend (from ``env.net``
    or `eio.unix.net`), a socket of the mock's in-memory network (which keeps
    the value), or an object of your own with a ``set_socket_option(option,
    value)`` method (`OptionTarget`; the mock's scripted flows trace the call). `TypeError` for something else, an unknown option
    or a value of the wrong type; `ValueError` for a value out of range or
    an option that doesn't apply to this socket; an `eio.Io` if the OS refuses.
    """
    who = "eio.net.setsockopt"
    opt = _check_option(option, who)
    checked = opt.check_value(value, who)
    if hasattr(sock, "set_socket_option") and not hasattr(sock, "setsockopt"):
        cast(OptionTarget, sock).set_socket_option(opt, checked)
        return
    raw = _raw(sock, who)
    level, number = opt.check_socket(raw.family, raw.type, who, repr(sock))
    try:
        raw.setsockopt(level, number, opt.encode(checked))
    except Io as ex:
        ex.add_note(f"setting {opt.name} of {sock!r}")
        raise


def getsockopt(sock: object, option: SocketOption[T]) -> T:
    """The value of ``option`` of the socket ``sock``: ``eio.net.getsockopt(flow, eio.net.TCP_NODELAY)`` is a bool.

    Errors as for `setsockopt`.
    """
    who = "eio.net.getsockopt"
    opt = _check_option(option, who)
    if hasattr(sock, "get_socket_option") and not hasattr(sock, "getsockopt"):
        return cast(T, cast(OptionTarget, sock).get_socket_option(opt))
    raw = _raw(sock, who)
    level, number = opt.check_socket(raw.family, raw.type, who, repr(sock))
    try:
        if opt.kind == "linger":
            return opt.decode(raw.getsockopt_bytes(level, number, _LINGER.size))
        return opt.decode(raw.getsockopt(level, number))
    except Io as ex:
        ex.add_note(f"getting {opt.name} of {sock!r}")
        raise


def apply_settings(sock: _RawOptions, settings: list[OptionSetting[Any]], who: str) -> None:
    """Set each option of ``settings`` on ``sock`` (for a network provider's ``connect_with``)."""
    for s in settings:
        level, number = s.option.check_socket(sock.family, sock.type, who, repr(sock))
        try:
            sock.setsockopt(level, number, s.option.encode(s.value))
        except Io as ex:
            ex.add_note(f"setting {s.option.name}")
            raise
        except OSError as ex:
            raise from_oserror(ex, f"setting {s.option.name}") from ex
