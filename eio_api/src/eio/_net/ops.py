"""The functions of `eio.net`, built on the provider Protocols (Eio's ``Net``).

They give callers keywords and defaults, and add context to errors as
exception notes (``connecting to tcp:127.0.0.1:80``), as Eio's
``Exn.reraise_with_context`` does.

Arguments are checked before any socket is made or any name looked up: a
value of the wrong type raises `TypeError`, a bad value `ValueError`, each
naming the function and the argument (``eio.net.listen: backlog must be an
int in 0..2147483647, got -1``).
"""

from __future__ import annotations

import errno
import inspect
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar, cast, overload

from .. import fiber
from .._core._clocks import sleep_until_monotonic
from .._core._promise import Promise
from .._core._semaphore import Semaphore
from .._core._switch import Switch
from .._flow._ops import as_byte_view
from .._io_errors import AddressLookupFailed, ConnectionFailure, Io, from_oserror
from ..domain_manager import DomainManager
from ..domain_manager import run as run_in_domain
from ..time import Clock, Timeout, with_timeout
from .addr import DatagramAddr, DatagramBind, Sockaddr, StreamAddr, Tcp, Udp, Unix
from .options import OptionSetting, SocketOption
from .protocols import DatagramSocket, ListeningSocket, Network, StreamSocket

__all__ = [
    "ConnectionHandler",
    "ErrorHandler",
    "accept",
    "accept_fork",
    "connect",
    "datagram_socket",
    "getaddrinfo",
    "getaddrinfo_datagram",
    "getaddrinfo_stream",
    "getnameinfo",
    "listen",
    "listening_addr",
    "recv",
    "run_server",
    "send",
    "with_tcp_connect",
]

T = TypeVar("T")
A = TypeVar("A")

ConnectionHandler = Callable[[StreamSocket, StreamAddr], Awaitable[object]]
"""Handles one accepted connection: ``await handler(flow, peer_address)``."""

ErrorHandler = Callable[[Exception], "Awaitable[object] | object"]
"""Told about a failed connection (a handler's error, a failed accept); may be sync or async. Raising fails the switch."""

log = logging.getLogger("eio")
"""Where `run_server` and `accept_fork` report failed connections when they are given no ``on_error``."""


# -- argument checks ---------------------------------------------------------------

_MAX_BACKLOG = (1 << 31) - 1


def _check_stream_addr(addr: object, who: str) -> StreamAddr:
    if not isinstance(addr, (Tcp, Unix)):
        hint = " (eio.net.parse_sockaddr reads 'tcp:HOST:PORT')" if isinstance(addr, str) else ""
        raise TypeError(f"{who}: addr must be an eio.net.Tcp or eio.net.Unix address, got {type(addr).__name__}{hint}")
    return addr


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True as a count or a port is certainly a mistake.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_pair(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 2  # pyright: ignore[reportUnknownArgumentType] - only counted


def _check_sw(sw: object, who: str) -> None:
    if not isinstance(sw, Switch):
        raise TypeError(f"{who}: sw must be an eio.Switch, got {type(sw).__name__}")


def _check_flag(value: object, who: str, arg: str) -> bool:
    if type(value) is not bool:
        raise TypeError(f"{who}: {arg} must be True or False, got {value!r}")
    return value


def _check_int(value: object, who: str, arg: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{who}: {arg} must be an int in {low}..{high}, got {value!r}")
    value = int.__index__(value)  # a plain int: no subclass's comparison decides the check
    if not low <= value <= high:
        raise ValueError(f"{who}: {arg} must be an int in {low}..{high}, got {value!r}")
    return value


def _check_text(value: object, who: str, arg: str, example: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{who}: {arg} must be a str (such as {example!r}), got {type(value).__name__}")
    # A plain str: the backend must not run a subclass's methods.
    value = str.__str__(value)
    if "\0" in value:
        raise ValueError(f"{who}: {arg} must not contain a NUL character, got {value!r}")
    return value


def _check_host(host: object, who: str) -> str:
    text = _check_text(host, who, "host", "www.example.org")
    try:
        text.encode("idna")  # what the resolver is given; too long a name or label fails here
    except UnicodeError as ex:
        raise AddressLookupFailed(socket.EAI_NONAME, f"{who}: {text!r} is not a valid host name ({ex})") from None
    return text


def _check_service(service: object, who: str) -> str:
    text = _check_text(service, who, "service", "80")
    digits = text[1:] if text.startswith("-") else text
    if digits.isascii() and digits.isdigit():
        port = int(text)
        if not 0 <= port <= 65535:
            raise ValueError(f"{who}: port {text} is out of range 0..65535")
    return text


# -- incoming connections ---------------------------------------------------------


async def listen(
    sw: Switch,
    net: Network,
    addr: StreamAddr,
    backlog: int = 5,
    reuse_addr: bool = False,
    reuse_port: bool = False,
) -> ListeningSocket:
    """A new socket listening on local address ``addr``, closed when ``sw`` finishes.

    Port 0 binds to a port the OS picks (see `listening_addr`). With
    ``reuse_addr``, a stale Unix-domain socket file is removed first. A
    port another socket holds raises `eio.net.AddressInUse`.
    """
    who = "eio.net.listen"
    _check_sw(sw, who)
    addr = _check_stream_addr(addr, who)
    backlog = _check_int(backlog, who, "backlog", 0, _MAX_BACKLOG)
    reuse_addr = _check_flag(reuse_addr, who, "reuse_addr")
    reuse_port = _check_flag(reuse_port, who, "reuse_port")
    return await net.listen(sw, addr, backlog, reuse_addr, reuse_port)


async def accept(sw: Switch, sock: ListeningSocket) -> tuple[StreamSocket, StreamAddr]:
    """Wait for a connection on ``sock``; return it (closed when ``sw`` finishes) and the peer's address.

    To handle many connections, see `accept_fork` and `run_server`.
    """
    _check_sw(sw, "eio.net.accept")
    return await sock.accept(sw)


def listening_addr(sock: ListeningSocket) -> StreamAddr:
    """The address ``sock`` listens on (with the real port when port 0 was asked for)."""
    return sock.listening_addr()


async def _report(on_error: ErrorHandler | None, ex: Exception, who: str, what: str) -> None:
    if on_error is None:
        log.error("%s: %s: %s: %s", who, what, type(ex).__name__, ex, exc_info=ex)
        return
    result = on_error(ex)
    if inspect.isawaitable(result):
        await result


# Accept errors that say nothing about the listening socket itself: the process
# or the system ran out of descriptors or memory, or a client gave up before it
# was accepted. Accepting is tried again; after running out of something, only
# after a pause, so that a server out of descriptors does not spin.
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_TRANSIENT_ACCEPT_ERRNOS = _OUT_OF_RESOURCES | {errno.ECONNABORTED, errno.EPROTO}
_ACCEPT_PAUSE = 0.1
"""Seconds between an accept that ran out of descriptors or memory and the next try."""


async def _accept_retrying(
    sw: Switch, sock: ListeningSocket, on_error: ErrorHandler | None, who: str
) -> tuple[StreamSocket, StreamAddr]:
    while True:
        try:
            return await sock.accept(sw)
        except OSError as ex:
            err = from_oserror(ex)
            if err.errno not in _TRANSIENT_ACCEPT_ERRNOS:
                if err is ex:
                    raise
                raise err from ex
            err.add_note("accepting a connection")
            await _report(on_error, err, who, "accepting a connection failed")
            if err.errno in _OUT_OF_RESOURCES:
                await sleep_until_monotonic(time.monotonic() + _ACCEPT_PAUSE)
            else:
                await fiber.yield_()


async def _accept_fork(
    sw: Switch,
    sock: ListeningSocket,
    handler: ConnectionHandler,
    on_error: ErrorHandler | None,
    who: str,
    release: Callable[[], None] | None = None,
) -> None:
    """Accept one connection and fork its handler; ``release()`` is called as soon as ``handler`` ends (if it starts)."""
    flow, addr = await _accept_retrying(sw, sock, on_error, who)
    started = False

    async def run_handler() -> None:
        # The connection's fiber: every frame here is resumed at each of its
        # wake-ups, so ``release`` is called here rather than from a wrapper.
        nonlocal started
        started = True
        try:
            try:
                await handler(flow, addr)
            finally:
                if release is not None:
                    release()
        except GeneratorExit:
            raise  # the loop is discarding this fiber: nothing may suspend now
        except Exception as ex:
            try:
                await flow.close()
            except Exception as close_ex:  # noqa: BLE001 - reported with the handler's error
                ex.add_note(f"closing the connection then failed: {type(close_ex).__name__}: {close_ex}")
            ex.add_note(f"handling connection from {addr}")
            await _report(on_error, ex, who, f"connection from {addr} failed")
        except BaseException:
            await flow.close()
            raise
        else:
            try:
                await flow.close()
            except Exception as ex:
                # A failed close is one more failed connection, not the end of the server.
                ex.add_note(f"closing connection from {addr}")
                await _report(on_error, ex, who, f"connection from {addr} failed")

    try:
        fiber.fork(sw, run_handler)
    finally:
        if not started:
            await flow.close()


def _check_on_error(on_error: object, who: str) -> None:
    if on_error is not None and not callable(on_error):
        raise TypeError(f"{who}: on_error must be a function or None, got {type(on_error).__name__}")


async def accept_fork(
    sw: Switch,
    sock: ListeningSocket,
    handler: ConnectionHandler,
    on_error: ErrorHandler | None = None,
) -> None:
    """Accept a connection on ``sock`` and run ``await handler(flow, peer)`` in a new fiber in ``sw``.

    The flow is closed when ``handler`` ends, however it ends (or at once if
    the fiber can't be started because ``sw`` is cancelled). If ``handler``
    raises an `Exception`, a note ``handling connection from <peer>`` is
    added to it and it is passed to ``on_error`` (sync or async); it does not
    fail ``sw``. Cancellation is not an error and is not reported.

    An accept that fails without saying anything about ``sock`` itself (out
    of file descriptors or memory: EMFILE, ENFILE, ENOBUFS, ENOMEM; a client
    that gave up: ECONNABORTED, EPROTO) is reported the same way, with the
    note ``accepting a connection``, and accepting is tried again (after a
    0.1 s pause when out of descriptors or memory). Any other accept error
    is raised.

    Without ``on_error``, both kinds of failure are logged as errors (with
    the traceback) on the ``"eio"`` `logging` logger. If ``on_error`` raises,
    that error fails ``sw``.
    """
    who = "eio.net.accept_fork"
    _check_sw(sw, who)
    _check_on_error(on_error, who)
    await _accept_fork(sw, sock, handler, on_error, who)


# -- servers ------------------------------------------------------------------------


@overload
async def run_server(
    sock: ListeningSocket,
    handler: ConnectionHandler,
    on_error: ErrorHandler | None = None,
    max_connections: int | None = None,
    additional_domains: tuple[DomainManager, int] | None = None,
    stop: None = None,
) -> NoReturn: ...
@overload
async def run_server(
    sock: ListeningSocket,
    handler: ConnectionHandler,
    on_error: ErrorHandler | None = None,
    max_connections: int | None = None,
    additional_domains: tuple[DomainManager, int] | None = None,
    *,
    stop: Promise[T],
) -> T: ...
async def run_server(
    sock: ListeningSocket,
    handler: ConnectionHandler,
    on_error: ErrorHandler | None = None,
    max_connections: int | None = None,
    additional_domains: tuple[DomainManager, int] | None = None,
    stop: Promise[Any] | None = None,
) -> Any:
    """Accept connections on ``sock`` until stopped, handling each in a new fiber (Eio's ``Net.run_server``).

    The server keeps serving whatever happens to one connection. A failed
    connection (a handler's exception, a peer that reset, an accept that ran
    out of file descriptors or memory) is reported to ``on_error``, or, by
    default, logged as an error on the ``"eio"`` `logging` logger, and the
    server goes on; after EMFILE, ENFILE, ENOBUFS or ENOMEM it pauses 0.1 s
    before accepting again. See `accept_fork` for the details. Only
    cancellation, ``stop``, an ``on_error`` that raises, or an accept error
    that concerns ``sock`` itself (it was closed, say) end the server.

    At most ``max_connections`` are handled at once (None: no limit);
    further clients wait in the listen backlog.

    ``additional_domains=(domain_mgr, n)`` runs ``n`` more accept loops, each
    in a new domain: then ``handler`` must only use thread-safe values.

    ``stop``: when this promise is resolved, the server stops accepting and
    closes ``sock`` at once, so that new clients are refused rather than
    left waiting in the backlog; it then waits for the connections in
    progress to finish and returns the promise's value. To end them too,
    cancel the calling fiber instead. Without ``stop``, `run_server` only
    ends by raising.
    """
    who = "eio.net.run_server"
    if not callable(handler):
        raise TypeError(f"{who}: handler must be an async function, got {type(handler).__name__}")
    _check_on_error(on_error, who)
    if max_connections is not None:
        if not _is_int(max_connections):
            raise TypeError(f"{who}: max_connections must be an int or None, got {max_connections!r}")
        max_connections = int.__index__(max_connections)
        if max_connections <= 0:
            raise ValueError(f"run_server: max_connections must be positive (got {max_connections})")
    if additional_domains is not None:
        if not _is_pair(additional_domains):
            raise TypeError(f"{who}: additional_domains must be a pair (domain_mgr, n), got {additional_domains!r}")
        n_more = additional_domains[1]
        if not _is_int(n_more):
            raise TypeError(f"{who}: the number of additional domains must be an int, got {n_more!r}")
        if n_more < 0:
            raise ValueError(f"run_server: the number of additional domains must not be negative (got {n_more})")
        additional_domains = (additional_domains[0], int.__index__(n_more))
    if stop is not None and not isinstance(stop, Promise):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"{who}: stop must be an eio.Promise or None, got {type(stop).__name__}")
    connections = Semaphore(max_connections if max_connections is not None else 1 << 62)

    async def accept_loop(sw: Switch) -> NoReturn:
        while True:
            await connections.acquire()
            try:
                await _accept_fork(sw, sock, handler, on_error, who, connections.release)
            except BaseException:
                connections.release()
                if stop is not None and stop.is_resolved():
                    # Another domain closed ``sock`` on ``stop``: this loop's
                    # own ``first`` is about to cancel it.
                    await fiber.await_cancel()
                raise

    async def server_loop(sw: Switch) -> Any:
        if stop is None:
            await accept_loop(sw)
        stop_promise = stop

        async def accepting() -> Any:
            await accept_loop(sw)

        async def stopped() -> Any:
            return await stop_promise

        return await fiber.first(accepting, stopped)

    async with Switch.run(name="run_server") as sw:
        if additional_domains is not None:
            domain_mgr, n = additional_domains
            for _ in range(n):

                async def in_domain() -> None:
                    async with Switch.run(name="run_server") as dsw:
                        await server_loop(dsw)

                async def start_domain() -> None:
                    await run_in_domain(domain_mgr, in_domain)

                fiber.fork(sw, start_domain)
        result = await server_loop(sw)
        # Stopped: refuse new clients now, while the connections in progress finish.
        await sock.close()
        return result


# -- outgoing connections -------------------------------------------------------------


async def connect(
    sw: Switch,
    net: Network,
    addr: StreamAddr,
    *,
    bind_to: StreamAddr | None = None,
    options: Sequence[OptionSetting[Any]] = (),
) -> StreamSocket:
    """A new socket connected to ``addr``, closed when ``sw`` finishes.

    ``bind_to``: the local address to connect from (Eio's ``?bind_to`` of
    ``Unix.connect``; port 0 lets the OS pick one), of the same family as
    ``addr``. ``options``: socket options set before binding and connecting,
    e.g. ``[eio.net.TCP_NODELAY(True), eio.net.SO_KEEPALIVE(True)]`` (see
    `eio.net.SocketOption`); one that doesn't apply to this kind of socket
    raises `ValueError` before anything is done. Every backend's network
    takes both (the mock's in-memory one keeps the options and checks them as
    the OS does; its scripted `eio_mock.net` traces them); a network of your
    own without a ``connect_with`` method raises `TypeError`.

    An IO error gets the note ``connecting to <addr>``.
    """
    who = "eio.net.connect"
    _check_sw(sw, who)
    addr = _check_stream_addr(addr, who)
    settings = _check_settings(options, who)
    if bind_to is not None:
        bind_to = _check_stream_addr(bind_to, who)
        if type(bind_to) is not type(addr) or bind_to.family != addr.family:
            raise ValueError(f"{who}: bind_to {bind_to} is not of the same family as the address {addr}")
    try:
        if bind_to is None and not settings:
            return await net.connect(sw, addr)
        connect_with = getattr(net, "connect_with", None)
        if connect_with is None:
            raise TypeError(f"{who}: the network {net!r} can't bind_to or set socket options (it is not the OS's network)")
        for s in settings:
            s.option.check_socket(addr.family, socket.SOCK_STREAM, who, f"a stream socket to {addr}")
        return await connect_with(sw, addr, bind_to, settings)
    except Io as ex:
        ex.add_note(f"connecting to {addr}")
        raise


def _check_settings(options: object, who: str) -> list[OptionSetting[Any]]:
    if not isinstance(options, (list, tuple)):
        raise TypeError(f"{who}: options must be a list of settings such as eio.net.TCP_NODELAY(True), got {options!r}")
    settings: list[OptionSetting[Any]] = []
    for s in cast("Sequence[object]", options):
        if isinstance(s, SocketOption):
            raise TypeError(f"{who}: give the option a value, e.g. {s!r}(True), not {s!r}")
        if not isinstance(s, OptionSetting):
            raise TypeError(f"{who}: options must hold settings such as eio.net.TCP_NODELAY(True), got {s!r}")
        settings.append(cast(OptionSetting[Any], s))
    return settings


async def with_tcp_connect(
    net: Network,
    host: str,
    service: str,
    fn: Callable[[StreamSocket], Awaitable[T]],
    timeout: tuple[Clock, float] | None = None,
) -> T:
    """Connect over TCP to ``host`` and ``service`` and return ``await fn(flow)``.

    ``host`` is a name or an IP address ("www.example.org", "127.0.0.1");
    ``service`` a port number or an IANA service name ("8080", "http").
    The TCP addresses `getaddrinfo` gives are tried in order until one
    connects. The flow is closed when ``fn`` returns.

    ``timeout=(clock, seconds)`` limits each connection attempt (Eio's
    ``Time.Timeout.seconds clock seconds``); by default only the network's
    own timeouts apply.

    If no attempt succeeds, the last attempt's error is raised (an attempt
    that timed out raises ``eio.net.ConnectionFailure`` with reason
    ``"timeout"``), with a note for each earlier failed attempt and the note
    ``connecting to '<host>':<service>``. An address lookup error gets that
    note too. A bad ``host`` or ``service`` is refused before any lookup,
    as `getaddrinfo` says.
    """
    who = "eio.net.with_tcp_connect"
    host = _check_host(host, who)
    service = _check_service(service, who)
    if not callable(fn):
        raise TypeError(f"{who}: fn must be an async function, got {type(fn).__name__}")
    if timeout is not None:
        if not _is_pair(timeout):
            raise TypeError(f"{who}: timeout must be a pair (clock, seconds) or None, got {timeout!r}")
        if not (_is_int(timeout[1]) or isinstance(timeout[1], float)):
            raise TypeError(f"{who}: the timeout's seconds must be a number, got {timeout[1]!r}")
    async with Switch.run(name="with_tcp_connect") as sw:
        try:
            addrs = await _getaddrinfo_filtered(net, host, service, _only_tcp)
            earlier: list[str] = []
            conn: StreamSocket | None = None
            for i, addr in enumerate(addrs):
                last = i == len(addrs) - 1
                try:
                    if timeout is None:
                        conn = await connect(sw, net, addr)
                    else:
                        clock, seconds = timeout

                        async def attempt(addr: Tcp = addr) -> StreamSocket:
                            return await connect(sw, net, addr)

                        conn = await with_timeout(clock, seconds, attempt)
                    break
                except Timeout as ex:
                    if last:
                        err = ConnectionFailure("timeout")
                        err.add_note(f"connecting to {addr}")
                        for note in earlier:
                            err.add_note(note)
                        raise err from ex
                    earlier.append(f"connecting to {addr} timed out first")
                except Io as ex:
                    if last:
                        for note in earlier:
                            ex.add_note(note)
                        raise
                    earlier.append(f"connecting to {addr} failed first: {type(ex).__name__}: {ex}")
            assert conn is not None  # the lookup never returns an empty list
        except Io as ex:
            ex.add_note(f"connecting to {host!r}:{service}")
            raise
        return await fn(conn)


# -- datagrams --------------------------------------------------------------------------


async def datagram_socket(
    sw: Switch,
    net: Network,
    addr: DatagramBind,
    reuse_addr: bool = False,
    reuse_port: bool = False,
) -> DatagramSocket:
    """A new datagram socket bound to ``addr``, closed when ``sw`` finishes.

    ``"udpv4"`` or ``"udpv6"`` instead of an address makes a client socket
    on a port the OS picks; a `Udp` address makes a server or a client socket.
    A port another socket holds raises `eio.net.AddressInUse`.
    """
    who = "eio.net.datagram_socket"
    _check_sw(sw, who)
    if isinstance(addr, str):
        text = str.__str__(addr)
        if text not in ("udpv4", "udpv6"):
            raise ValueError(f"{who}: addr must be an eio.net.Udp or eio.net.Unix address, 'udpv4' or 'udpv6', got {addr!r}")
        addr = "udpv4" if text == "udpv4" else "udpv6"
    elif not isinstance(addr, (Udp, Unix)):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(
            f"{who}: addr must be an eio.net.Udp or eio.net.Unix address, 'udpv4' or 'udpv6', got {type(addr).__name__}"
        )
    reuse_addr = _check_flag(reuse_addr, who, "reuse_addr")
    reuse_port = _check_flag(reuse_port, who, "reuse_port")
    return await net.datagram_socket(sw, addr, reuse_addr, reuse_port)


async def send(sock: DatagramSocket, bufs: Sequence[bytes | memoryview], dst: DatagramAddr | None = None) -> None:
    """Send ``bufs`` (a list of bytes-like buffers) as one message on ``sock``.

    ``dst`` is the destination if ``sock`` is not connected.
    """
    who = "eio.net.send"
    if dst is not None and not isinstance(dst, (Udp, Unix)):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"{who}: dst must be an eio.net.Udp or eio.net.Unix address or None, got {type(dst).__name__}")
    if isinstance(bufs, (bytes, bytearray, memoryview, str)):
        raise TypeError(f"{who}: bufs must be a list of buffers (such as [data]), got {type(bufs).__name__}")
    views: list[bytes | memoryview] = []
    for b in bufs:
        if type(b) is bytes:
            views.append(b)
            continue
        try:
            views.append(memoryview(b))
        except TypeError:
            raise TypeError(f"{who}: each buffer must be a bytes-like object, got {type(b).__name__}") from None
    await sock.send(views, dst)


async def recv(sock: DatagramSocket, buf: bytearray | memoryview) -> tuple[DatagramAddr, int]:
    """Receive one message into ``buf``; return the sender's address and the message's length.

    Bytes that don't fit in ``buf`` may be lost, depending on the socket.
    """
    mv = as_byte_view(buf, "recv")
    if not len(mv):
        raise ValueError("recv: the buffer is empty (it must have room for at least 1 byte)")
    return await sock.recv(mv)


# -- name lookup ------------------------------------------------------------------------


def _any(addr: Sockaddr) -> Sockaddr | None:
    return addr


def _only_tcp(addr: Sockaddr) -> Tcp | None:
    return addr if isinstance(addr, Tcp) else None


def _stream(addr: Sockaddr) -> StreamAddr | None:
    return None if isinstance(addr, Udp) else addr


def _datagram(addr: Sockaddr) -> DatagramAddr | None:
    return None if isinstance(addr, Tcp) else addr


async def _getaddrinfo_filtered(net: Network, host: str, service: str, keep: Callable[[Sockaddr], A | None]) -> list[A]:
    out: list[A] = []
    for addr in await net.getaddrinfo(host, service):
        kept = keep(addr)
        if kept is not None:
            out.append(kept)
    if not out:
        raise AddressLookupFailed(socket.EAI_NONAME, "Name or service not known")
    return out


async def _getaddrinfo_ctx(net: Network, host: str, service: str, keep: Callable[[Sockaddr], A | None], who: str) -> list[A]:
    service = _check_service(service, who)
    try:
        host = _check_host(host, who)
        return await _getaddrinfo_filtered(net, host, service, keep)
    except Io as ex:
        if service:
            ex.add_note(f"looking up {host!r} (service {service!r})")
        else:
            ex.add_note(f"looking up {host!r}")
        raise


async def getaddrinfo(net: Network, host: str, service: str = "") -> list[Sockaddr]:
    """The addresses for ``host`` (a name or an IP address) and ``service`` (a port or IANA name; "" for none).

    Never returns an empty list: raises ``eio.net.AddressLookupFailed``
    instead, with the note ``looking up '<host>'``; also for a name no
    resolver would take (too long a name or label) and for an unknown
    service name. A numeric ``service`` outside 0..65535 raises
    `ValueError`, a ``host`` or ``service`` that is not a str `TypeError`.
    """
    return await _getaddrinfo_ctx(net, host, service, _any, "eio.net.getaddrinfo")


async def getaddrinfo_stream(net: Network, host: str, service: str = "") -> list[StreamAddr]:
    """Like `getaddrinfo`, keeping only stream addresses (`Tcp`, `Unix`)."""
    return await _getaddrinfo_ctx(net, host, service, _stream, "eio.net.getaddrinfo_stream")


async def getaddrinfo_datagram(net: Network, host: str, service: str = "") -> list[DatagramAddr]:
    """Like `getaddrinfo`, keeping only datagram addresses (`Udp`, `Unix`)."""
    return await _getaddrinfo_ctx(net, host, service, _datagram, "eio.net.getaddrinfo_datagram")


async def getnameinfo(net: Network, addr: Sockaddr) -> tuple[str, str]:
    """The host name and the service name for ``addr``, e.g. ``("localhost", "http")``."""
    if not isinstance(addr, (Tcp, Udp, Unix)):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"eio.net.getnameinfo: addr must be an eio.net.Tcp, Udp or Unix address, got {type(addr).__name__}")
    return await net.getnameinfo(addr)
