"""TLS over any two-way flow, with the standard `ssl` module.

``tls = await eio.tls.client(flow, ctx, server_hostname="example.org")`` (or
``await eio.tls.server(flow, ctx)``) runs the handshake over ``flow`` and gives
a `TlsFlow`: a two-way flow of plaintext, usable wherever a socket is
(`eio.BufRead`, `eio.BufWrite`, `eio.flow.copy`, a connection handler of
`eio.net.run_server`). ``flow`` is anything with ``single_read`` and
``single_write`` (a socket, a pipe pair, an in-memory flow); its ``shutdown``
and ``close`` are used when it has them. The `ssl.SSLContext` decides
everything TLS: certificates and their verification, ALPN, the server's
``sni_callback``, versions and ciphers.

Errors. A TLS failure raises the `ssl` module's own exception
(`ssl.SSLCertVerificationError` for a certificate that doesn't verify,
`ssl.SSLError` otherwise), with a note naming the connection. A peer that
ends the connection after ``close_notify`` ends the input: reads raise
`eio.EndOfFile`. A peer that closes the underlying flow *without*
``close_notify`` also gives `eio.EndOfFile` (as ``suppress_ragged_eofs=True``
does for `ssl.SSLSocket`): protocols where a truncation matters (HTTP
without a length, for example) must frame their data. End of input during
the handshake is a failed handshake: `ssl.SSLEOFError`.

Fibers. One fiber may read while another writes (an echo with a reader
fiber and a writer fiber works); two fibers reading at once is an error
(`RuntimeError`), and writes from several fibers are sent one whole
``single_write`` after another. A TLS flow belongs to the domain that made it.

Cancellation is atomic:

- a read that is cancelled consumed no plaintext: decryption happens only
  into the caller's buffer, when ciphertext is already here, and waiting for
  more ciphertext is a cancellable read of the underlying flow that took
  nothing;
- a write that is cancelled *before* its plaintext was encrypted (while
  waiting for another writer, or for earlier records to go out) raises
  `eio.Cancelled` and wrote nothing. Once encrypted, the plaintext is part
  of the TLS record stream and can't be taken back, so the write is
  complete: if the fiber is cancelled while those records are being sent,
  the write still returns normally (the fiber sees `eio.Cancelled` at its
  next wait), and the records not yet sent stay in the TLS flow, which sends
  them before anything else (the next write or `shutdown`, or a read that
  has to wait for the peer).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any, Protocol, cast

from ._core._cancel import Cancelled
from ._core._mutex import Mutex
from ._flow._errors import EndOfFile
from ._flow._ops import bad_read, bad_write
from ._flow._types import ShutdownCommand, Sink, Source

__all__ = ["Transport", "TlsFlow", "client", "server"]

_READ_SIZE = 65536
"""How many ciphertext bytes one read of the underlying flow asks for (several full TLS records)."""

_WRITE_LIMIT = 262144
"""The most plaintext one `TlsFlow.single_write` encrypts (callers loop, as for any sink)."""

_SHUTDOWN_COMMANDS = ("receive", "send", "all")


class Transport(Source, Sink, Protocol):
    """What TLS runs over: a flow that can be read and written.

    A ``shutdown(how, /)`` and a ``close()`` are optional: `TlsFlow` calls
    them when the transport has them.
    """


class TlsFlow:
    """A TLS connection: a two-way flow of plaintext over an encrypted transport.

    Made by `client` or `server`, with the handshake done. Reading gives the
    peer's plaintext and `eio.EndOfFile` at its end; writing encrypts.
    ``await eio.flow.shutdown(tls, "send")`` sends ``close_notify`` and then
    shuts down the transport's sending side; `close` closes the transport.
    The methods of `ssl.SSLObject` that describe the connection are here too.
    """

    __slots__ = (
        "_transport",
        "_ssl",
        "_incoming",
        "_outgoing",
        "_send_lock",
        "_out",
        "_out_pos",
        "_rbuf",
        "_reading",
        "_transport_eof",
        "_role",
    )

    def __init__(self, transport: Transport, ssl_object: ssl.SSLObject, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO):
        self._transport = transport
        self._ssl = ssl_object
        self._incoming = incoming
        self._outgoing = outgoing
        # Whoever holds the lock sends records: ciphertext left over from a
        # cancelled send first, then what the TLS object has produced since.
        self._send_lock = Mutex()
        self._out: bytes = b""
        self._out_pos = 0
        self._rbuf = memoryview(bytearray(_READ_SIZE))
        self._reading = False
        self._transport_eof = False
        name = ssl_object.server_hostname
        self._role = f"server over {transport!r}" if ssl_object.server_side else f"client to {name!r} over {transport!r}"

    def __repr__(self) -> str:
        return f"<TlsFlow {self._role}>"

    # -- describing the connection ---------------------------------------------------

    @property
    def ssl_object(self) -> ssl.SSLObject:
        """The `ssl.SSLObject` underneath, for what the methods here don't cover (channel bindings...).

        Read from it only: reading or writing data through it would corrupt the flow.
        """
        return self._ssl

    @property
    def transport(self) -> Transport:
        """The flow the TLS records travel over."""
        return self._transport

    @property
    def server_side(self) -> bool:
        """Whether this end is the server."""
        return self._ssl.server_side

    @property
    def server_hostname(self) -> str | None:
        """The host name the client asked for (SNI): on the client, what it was given; None if none."""
        return self._ssl.server_hostname

    def selected_alpn_protocol(self) -> str | None:
        """The protocol ALPN agreed on, or None if none was."""
        return self._ssl.selected_alpn_protocol()

    def getpeercert(self, binary_form: bool = False) -> Any:  # Any: ssl's own return type (a dict of nested tuples, or bytes)
        """The peer's certificate, as `ssl.SSLSocket.getpeercert` gives it (None if the peer sent none)."""
        return self._ssl.getpeercert(binary_form)

    def version(self) -> str | None:
        """The protocol version in use, such as ``"TLSv1.3"``."""
        return self._ssl.version()

    def cipher(self) -> tuple[str, str, int] | None:
        """The cipher in use: ``(name, protocol version, secret bits)``."""
        return self._ssl.cipher()

    # -- the flow ----------------------------------------------------------------------

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at least one byte of plaintext into ``buf``; `eio.EndOfFile` at the end of the peer's data."""
        if self._reading:
            raise RuntimeError(f"{self!r}: two fibers are reading at once (only one reader at a time is allowed)")
        self._reading = True
        try:
            tls = self._ssl
            size = len(buf)
            while True:
                try:
                    # With a buffer, read returns a count (typeshed says bytes);
                    # 0 once the peer's close_notify has come (before ours went).
                    got = cast(int, tls.read(size, buf))
                    if got:
                        return got
                    raise EndOfFile
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLZeroReturnError:
                    raise EndOfFile from None  # close_notify: the peer's clean end
                except ssl.SSLEOFError:
                    raise EndOfFile from None  # the transport ended without close_notify
                except ssl.SSLError as ex:
                    self._note(ex)
                    raise
                # Records may be waiting to go: made by reading (a key update's
                # answer), or left by a cancelled write. The peer may need them
                # before it sends more. A fiber holding the send lock is inside
                # `_send`, whose loop picks them up: send them here only if
                # nobody is sending.
                if self._out_pos < len(self._out) or self._outgoing.pending:
                    lock = self._send_lock
                    if lock.try_lock():
                        try:
                            await self._send()
                        finally:
                            lock.unlock()
                await self._receive()
        finally:
            self._reading = False

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Encrypt up to 256 KiB from ``bufs`` and send it; return how many plaintext bytes that was.

        See the module's documentation for what a cancelled write guarantees.
        """
        data = _gather(bufs)
        size = len(data)
        if not size:
            raise ValueError("single_write: no bytes to write")
        lock = self._send_lock
        await lock.lock()
        try:
            if self._out_pos < len(self._out) or self._outgoing.pending:
                await self._send()  # earlier records first; cancellable, this write has done nothing yet
            try:
                wrote = self._ssl.write(data)
            except ssl.SSLError as ex:
                self._note(ex)
                raise
            if not 0 < wrote <= size:
                raise bad_write(self._ssl, wrote, size)
            try:
                await self._send()
            except Cancelled:
                # The plaintext is in the record stream now: the write happened.
                # What is left of its records goes out before anything else.
                pass
            return wrote
        finally:
            lock.unlock()

    async def shutdown(self, how: ShutdownCommand, /) -> None:
        """``"send"`` sends ``close_notify`` then shuts the transport's sending side (if it can be shut).

        ``"receive"`` shuts the transport's receiving side (if it can be shut);
        ``"all"`` does both. Reading after ``"send"`` still works (a half-close).
        """
        if how not in _SHUTDOWN_COMMANDS:
            raise ValueError(f"shutdown: {how!r} is not one of 'receive', 'send', 'all'")
        if how != "receive":
            lock = self._send_lock
            await lock.lock()
            try:
                try:
                    self._ssl.unwrap()
                except ssl.SSLWantReadError:
                    pass  # close_notify is written; the peer's own is for the reader to see
                except ssl.SSLError as ex:
                    self._note(ex)
                    raise
                await self._send()
            finally:
                lock.unlock()
        shutdown = getattr(self._transport, "shutdown", None)
        if shutdown is not None:
            await shutdown(how)

    async def close(self) -> None:
        """Close the transport (if it can be closed) without sending ``close_notify``.

        Call ``eio.flow.shutdown(tls, "send")`` first for a clean end the peer can tell from a cut connection.
        """
        close = getattr(self._transport, "close", None)
        if close is not None:
            await close()

    # -- moving records ----------------------------------------------------------------

    async def _send(self) -> None:
        """Send every record made so far (the caller holds the send lock, or is the handshake).

        A cancelled ``single_write`` of the transport wrote nothing, so the
        position kept here is always exact: cancelling loses nothing.
        """
        transport = self._transport
        while True:
            out = self._out
            pos = self._out_pos
            if pos >= len(out):
                out = self._outgoing.read()
                if not out:
                    self._out = b""
                    self._out_pos = 0
                    return
                self._out = out
                self._out_pos = pos = 0
            rest = len(out) - pos
            wrote = await transport.single_write((memoryview(out)[pos:],) if pos else (out,))
            if type(wrote) is not int or not 0 < wrote <= rest:
                raise bad_write(transport, wrote, rest)
            self._out_pos = pos + wrote

    async def _receive(self) -> None:
        """Read the next ciphertext from the transport into the TLS object (its end, at the transport's end)."""
        if self._transport_eof:
            raise EndOfFile  # the TLS object already knows; it only wants more
        buf = self._rbuf
        try:
            got = await self._transport.single_read(buf)
        except EndOfFile:
            self._transport_eof = True
            self._incoming.write_eof()
            return
        if type(got) is not int or not 0 < got <= len(buf):
            raise bad_read(self._transport, got, len(buf))
        self._incoming.write(buf[:got])

    async def _handshake(self) -> None:
        tls = self._ssl
        while True:
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as ex:
                self._note(ex)
                await self._send_alert()
                raise
            else:
                # The last flight (a client's Finished, a server's session tickets).
                await self._send()
                return
            await self._send()
            await self._receive()

    async def _send_alert(self) -> None:
        # Tell the peer why (the alert the failure wrote), if the transport still takes it.
        try:
            await self._send()
        except Exception:  # noqa: BLE001 - the handshake's own error is the one to report
            pass

    def _note(self, ex: BaseException) -> None:
        ex.add_note(f"eio.tls: {self._role}")


def _gather(bufs: Sequence[bytes | memoryview]) -> bytes | memoryview:
    """Up to `_WRITE_LIMIT` bytes from the start of ``bufs``, copied only when there are several."""
    if len(bufs) == 1:
        only = bufs[0]
        if type(only) is bytes and len(only) <= _WRITE_LIMIT:
            return only
        return _bytes_view(only)[:_WRITE_LIMIT]
    parts: list[memoryview] = []
    room = _WRITE_LIMIT
    for b in bufs:
        view = _bytes_view(b)[:room]
        parts.append(view)
        room -= len(view)
        if not room:
            break
    return b"".join(parts)


def _bytes_view(b: bytes | memoryview) -> memoryview:
    view = memoryview(b)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _check_context(ctx: object, who: str) -> ssl.SSLContext:
    if not isinstance(ctx, ssl.SSLContext):
        raise TypeError(f"eio.tls.{who}: ssl_context must be an ssl.SSLContext, not {type(ctx).__name__}")
    return ctx


def _check_transport(flow: object, who: str) -> None:
    for method in ("single_read", "single_write"):
        if not callable(getattr(flow, method, None)):
            raise TypeError(f"eio.tls.{who}: flow must be a two-way flow (it has no {method}): {flow!r}")


async def _start(flow: Transport, ctx: ssl.SSLContext, server_side: bool, server_hostname: str | None) -> TlsFlow:
    incoming = ssl.MemoryBIO()
    outgoing = ssl.MemoryBIO()
    ssl_object = ctx.wrap_bio(incoming, outgoing, server_side=server_side, server_hostname=server_hostname)
    tls = TlsFlow(flow, ssl_object, incoming, outgoing)
    await tls._handshake()  # pyright: ignore[reportPrivateUsage] - the flow's own helper
    return tls


async def client(flow: Transport, ssl_context: ssl.SSLContext, *, server_hostname: str | None = None) -> TlsFlow:
    """Run a TLS client handshake over ``flow`` and return the encrypted connection.

    ``server_hostname`` is sent as SNI and, when the context checks host
    names (as `ssl.create_default_context` does), must match the server's
    certificate: otherwise `ssl.SSLCertVerificationError`. Any other failure
    of the handshake is an `ssl.SSLError`. ``flow`` stays the caller's: if
    the handshake fails (or is cancelled), close it as usual.
    """
    ctx = _check_context(ssl_context, "client")
    _check_transport(flow, "client")
    if server_hostname is not None and not isinstance(server_hostname, str):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
        raise TypeError(f"eio.tls.client: server_hostname must be a str, not {type(server_hostname).__name__}")
    if server_hostname is None and ctx.check_hostname:
        raise ValueError("eio.tls.client: server_hostname is required when ssl_context.check_hostname is set")
    return await _start(flow, ctx, False, server_hostname)


async def server(flow: Transport, ssl_context: ssl.SSLContext) -> TlsFlow:
    """Run a TLS server handshake over ``flow`` and return the encrypted connection.

    The context's certificate chain, ALPN protocols and ``sni_callback``
    apply as they do for `ssl.SSLContext.wrap_socket`. A failed handshake
    raises an `ssl.SSLError` (after sending the peer its alert).
    """
    ctx = _check_context(ssl_context, "server")
    _check_transport(flow, "server")
    return await _start(flow, ctx, True, None)
