"""The functions of `eio.net`, built on the provider Protocols (Eio's ``Net``).

They give callers keywords and defaults, and add context to errors as
exception notes (``connecting to tcp:127.0.0.1:80``), as Eio's
``Exn.reraise_with_context`` does.
"""

from __future__ import annotations

import errno
import inspect
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar, overload

from .. import fiber
from .._core._promise import Promise
from .._core._semaphore import Semaphore
from .._core._switch import Switch
from .._io_errors import AddressLookupFailed, ConnectionFailure, Io
from ..domain_manager import DomainManager
from ..domain_manager import run as run_in_domain
from ..time import Clock, Timeout, with_timeout
from .addr import DatagramAddr, DatagramBind, Sockaddr, StreamAddr, Tcp, Udp
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
"""Told about a connection handler's error; may be sync or async. Raising fails the switch."""


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
    ``reuse_addr``, a stale Unix-domain socket file is removed first.
    """
    if backlog < 0:
        raise ValueError(f"listen: backlog must not be negative (got {backlog})")
    return await net.listen(sw, addr, backlog, reuse_addr, reuse_port)


async def accept(sw: Switch, sock: ListeningSocket) -> tuple[StreamSocket, StreamAddr]:
    """Wait for a connection on ``sock``; return it (closed when ``sw`` finishes) and the peer's address.

    To handle many connections, see `accept_fork` and `run_server`.
    """
    return await sock.accept(sw)


def listening_addr(sock: ListeningSocket) -> StreamAddr:
    """The address ``sock`` listens on (with the real port when port 0 was asked for)."""
    return sock.listening_addr()


async def _report(on_error: ErrorHandler | None, ex: Exception) -> None:
    if on_error is None:
        raise ex
    result = on_error(ex)
    if inspect.isawaitable(result):
        await result


async def accept_fork(
    sw: Switch,
    sock: ListeningSocket,
    handler: ConnectionHandler,
    on_error: ErrorHandler | None = None,
) -> None:
    """Accept a connection on ``sock`` and run ``await handler(flow, peer)`` in a new fiber in ``sw``.

    The flow is closed when ``handler`` ends, however it ends (or at once if
    the fiber can't be started because ``sw`` is cancelled). If ``handler``
    raises, a note ``handling connection from <peer>`` is added to the error
    and it is passed to ``on_error`` (sync or async); with the default
    ``on_error=None`` it is re-raised, failing ``sw``. Cancellation is not
    an error and is not reported.
    """
    flow, addr = await sock.accept(sw)
    started = False

    async def run_handler() -> None:
        nonlocal started
        started = True
        try:
            await handler(flow, addr)
        except GeneratorExit:
            raise  # the loop is discarding this fiber: nothing may suspend now
        except Exception as ex:
            await flow.close()
            ex.add_note(f"handling connection from {addr}")
            await _report(on_error, ex)
        except BaseException:
            await flow.close()
            raise
        else:
            await flow.close()

    try:
        fiber.fork(sw, run_handler)
    finally:
        if not started:
            await flow.close()


# -- servers ------------------------------------------------------------------------

# Accept errors that say nothing about the listening socket itself: the process
# or the system ran out of descriptors or memory, or a client gave up before it
# was accepted. `run_server` reports them to ``on_error`` and goes on accepting
# (a backend may pause before its next accept); any other accept error ends it.
_TRANSIENT_ACCEPT_ERRNOS = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.ECONNABORTED, errno.EPROTO}
)


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
    """Accept connections on ``sock`` forever, handling each in a new fiber (Eio's ``Net.run_server``).

    Each connection is handled as by `accept_fork` (see there for
    ``handler`` and ``on_error``). At most ``max_connections`` are handled at
    once (None: no limit); further clients wait in the listen backlog.

    ``additional_domains=(domain_mgr, n)`` runs ``n`` more accept loops, each
    in a new domain: then ``handler`` must only use thread-safe values.

    An error accepting a connection ends `run_server`, except one that says
    nothing about ``sock`` itself (out of file descriptors or memory, EMFILE,
    ENFILE, ENOBUFS, ENOMEM; a client that gave up, ECONNABORTED): given an
    ``on_error``, that is reported to it, with the note ``accepting a
    connection``, and the server goes on.

    ``stop``: when this promise is resolved, stop accepting, wait for the
    connections in progress to finish, and return the promise's value. To
    stop at once, cancel the calling fiber instead. Without ``stop``,
    `run_server` only ends by raising.
    """
    if max_connections is not None and max_connections <= 0:
        raise ValueError(f"run_server: max_connections must be positive (got {max_connections})")
    if additional_domains is not None and additional_domains[1] < 0:
        raise ValueError(f"run_server: the number of additional domains must not be negative (got {additional_domains[1]})")
    connections = Semaphore(max_connections if max_connections is not None else 1 << 62)

    async def handle(flow: StreamSocket, addr: StreamAddr) -> None:
        try:
            await handler(flow, addr)
        finally:
            connections.release()

    async def accept_loop(sw: Switch) -> NoReturn:
        while True:
            await connections.acquire()
            try:
                await accept_fork(sw, sock, handle, on_error)
            except Io as ex:
                # Only accepting can raise here: a handler's errors stay in its fiber.
                connections.release()
                if on_error is None or ex.errno not in _TRANSIENT_ACCEPT_ERRNOS:
                    raise
                ex.add_note("accepting a connection")
                await _report(on_error, ex)
                await fiber.yield_()

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
        return await server_loop(sw)


# -- outgoing connections -------------------------------------------------------------


async def connect(sw: Switch, net: Network, addr: StreamAddr) -> StreamSocket:
    """A new socket connected to ``addr``, closed when ``sw`` finishes.

    An IO error gets the note ``connecting to <addr>``.
    """
    try:
        return await net.connect(sw, addr)
    except Io as ex:
        ex.add_note(f"connecting to {addr}")
        raise


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
    note too.
    """
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
    """
    return await net.datagram_socket(sw, addr, reuse_addr, reuse_port)


async def send(sock: DatagramSocket, bufs: Sequence[bytes | memoryview], dst: DatagramAddr | None = None) -> None:
    """Send ``bufs`` as one message on ``sock``; ``dst`` is the destination if ``sock`` is not connected."""
    await sock.send(bufs, dst)


async def recv(sock: DatagramSocket, buf: bytearray | memoryview) -> tuple[DatagramAddr, int]:
    """Receive one message into ``buf``; return the sender's address and the message's length.

    Bytes that don't fit in ``buf`` may be lost, depending on the socket.
    """
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    if mv.readonly:
        raise TypeError("recv: the buffer is read-only")
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


async def _getaddrinfo_ctx(net: Network, host: str, service: str, keep: Callable[[Sockaddr], A | None]) -> list[A]:
    try:
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
    instead, with the note ``looking up '<host>'``.
    """
    return await _getaddrinfo_ctx(net, host, service, _any)


async def getaddrinfo_stream(net: Network, host: str, service: str = "") -> list[StreamAddr]:
    """Like `getaddrinfo`, keeping only stream addresses (`Tcp`, `Unix`)."""
    return await _getaddrinfo_ctx(net, host, service, _stream)


async def getaddrinfo_datagram(net: Network, host: str, service: str = "") -> list[DatagramAddr]:
    """Like `getaddrinfo`, keeping only datagram addresses (`Udp`, `Unix`)."""
    return await _getaddrinfo_ctx(net, host, service, _datagram)


async def getnameinfo(net: Network, addr: Sockaddr) -> tuple[str, str]:
    """The host name and the service name for ``addr``, e.g. ``("localhost", "http")``."""
    return await net.getnameinfo(addr)

