"""`eio.tls`: TLS over an in-memory pair of flows (every backend) and over real loopback TCP (io_uring).

The certificates are made here, with ``cryptography``: a test CA, a server
certificate it signs for ``localhost``/``example.org``/127.0.0.1, a second
server certificate (for SNI) for ``other.example``, and a certificate signed
by a CA the client does not trust.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import random
import ssl
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

import eio
import eio.tls
import pytest
from conftest import Runner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from eio import fiber

T = TypeVar("T")

# -- certificates ------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    names: Sequence[str] = (),
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        sans: list[x509.GeneralName] = [
            x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names if " " not in n
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class Certs:
    """The test PKI: a trusted CA's PEM, and three server key+certificate files."""

    ca_pem: str
    server: Path  # for localhost, example.org, 127.0.0.1
    other: Path  # for other.example (the SNI test's second certificate)
    untrusted: Path  # for localhost, signed by a CA nobody trusts
    client: Path  # a client certificate for "eio client"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    d = tmp_path_factory.mktemp("certs")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("eio test CA", ca_key, "eio test CA", ca_key, ca=True)
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    files: dict[str, Path] = {}
    for label, issuer, issuer_key, names in [
        ("server", "eio test CA", ca_key, ["localhost", "example.org", "127.0.0.1"]),
        ("other", "eio test CA", ca_key, ["other.example"]),
        ("untrusted", "rogue CA", rogue_key, ["localhost"]),
        ("client", "eio test CA", ca_key, ["eio client"]),
    ]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(names[0], key, issuer, issuer_key, ca=False, names=names)
        files[label] = d / f"{label}.pem"
        files[label].write_bytes(_pem(cert, key))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    return Certs(ca_pem, files["server"], files["other"], files["untrusted"], files["client"])


def server_context(chain: Path, alpn: Sequence[str] = ()) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def client_context(certs: Certs, alpn: Sequence[str] = ()) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=certs.ca_pem)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


# -- an in-memory pair of flows ------------------------------------------------------------------


class MemFlow:
    """One end of an in-memory connection: two `eio.Stream`s of chunks, ``b""`` marking the end.

    Writes send at most ``chunk`` bytes each, reads give at most ``max_read``
    bytes each (so TLS records arrive in pieces); both are as atomic as
    `eio.Stream` is under cancellation.
    """

    def __init__(self, inbound: eio.Stream[bytes], outbound: eio.Stream[bytes], chunk: int, max_read: int) -> None:
        self._in = inbound
        self._out = outbound
        self.chunk = chunk
        self._max_read = max_read
        self._rest = b""
        self._eof = False
        self.sent_eof = False

    async def single_read(self, buf: memoryview, /) -> int:
        if not self._rest:
            if self._eof:
                raise eio.EndOfFile
            data = await self._in.take()
            if not data:
                self._eof = True
                raise eio.EndOfFile
            self._rest = data
        n = min(len(buf), len(self._rest), self._max_read)
        buf[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        if self.sent_eof:
            raise RuntimeError("write after shutdown")
        data = bytes(bufs[0][: self.chunk])
        await self._out.add(data)
        return len(data)

    async def shutdown(self, how: eio.flow.ShutdownCommand, /) -> None:
        if how != "receive" and not self.sent_eof:
            self.sent_eof = True
            await self._out.add(b"")

    async def close(self) -> None:
        await self.shutdown("send")


def mem_pair(chunk: int = 16384, max_read: int = 65536, capacity: int = 4) -> tuple[MemFlow, MemFlow]:
    a_to_b = eio.Stream[bytes](capacity)
    b_to_a = eio.Stream[bytes](capacity)
    return MemFlow(b_to_a, a_to_b, chunk, max_read), MemFlow(a_to_b, b_to_a, chunk, max_read)


async def tls_pair(
    certs: Certs,
    *,
    hostname: str = "localhost",
    server_ctx: ssl.SSLContext | None = None,
    client_ctx: ssl.SSLContext | None = None,
    chunk: int = 16384,
    max_read: int = 65536,
) -> tuple[eio.tls.TlsFlow, eio.tls.TlsFlow]:
    """A handshaken (client, server) pair over a `mem_pair`."""
    a, b = mem_pair(chunk, max_read)
    sctx = server_ctx or server_context(certs.server)
    cctx = client_ctx or client_context(certs)
    return await fiber.pair(
        lambda: eio.tls.client(a, cctx, server_hostname=hostname),
        lambda: eio.tls.server(b, sctx),
    )


# -- over the in-memory pair, on every backend ---------------------------------------------------


def test_lines_round_trip_with_bufread(run: Runner, certs: Certs) -> None:
    async def main() -> list[bytes]:
        client, server = await tls_pair(certs)

        async def serve() -> None:
            r = eio.BufRead.of_flow(server, max_size=1024)
            async with eio.BufWrite.with_flow(server) as w:
                async for line in r.lines():
                    w.bytes(line.upper() + b"\n")
            await eio.flow.shutdown(server, "send")

        async def talk() -> list[bytes]:
            await eio.flow.copy_string("hello\ntls world\nbye\n", client)
            await eio.flow.shutdown(client, "send")
            r = eio.BufRead.of_flow(client, max_size=1024)
            return [line async for line in r.lines()]

        _, got = await fiber.pair(serve, talk)
        return got

    assert run(main) == [b"HELLO", b"TLS WORLD", b"BYE"]


def test_flow_copy_in_and_out(run: Runner, certs: Certs) -> None:
    data = _payload(300000)

    async def main() -> bytes:
        client, server = await tls_pair(certs)
        out = bytearray()

        async def send() -> None:
            await eio.flow.copy(eio.flow.string_source(data), client)
            await eio.flow.shutdown(client, "send")

        await fiber.both(send, lambda: eio.flow.copy(server, eio.flow.buffer_sink(out)))
        return bytes(out)

    assert run(main) == data


def test_connection_details(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        client, server = await tls_pair(
            certs,
            hostname="example.org",
            server_ctx=server_context(certs.server, alpn=["h2", "http/1.1"]),
            client_ctx=client_context(certs, alpn=["http/1.1"]),
        )
        assert client.selected_alpn_protocol() == "http/1.1"
        assert server.selected_alpn_protocol() == "http/1.1"
        assert client.version() == server.version() == "TLSv1.3"
        cipher = client.cipher()
        assert cipher is not None and cipher == server.cipher()
        cert = client.getpeercert()
        assert ((("commonName", "localhost"),),) == cert["subject"]
        assert ("DNS", "example.org") in cert["subjectAltName"]
        assert server.getpeercert() is None  # the client sent no certificate
        assert isinstance(client.getpeercert(binary_form=True), bytes)
        assert client.server_hostname == "example.org" and not client.server_side
        assert server.server_side
        assert repr(client).startswith("<TlsFlow client to 'example.org' over ")

    run(main)


def test_no_alpn_agreed(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        client, server = await tls_pair(certs, server_ctx=server_context(certs.server, alpn=["h2"]))
        assert client.selected_alpn_protocol() is None
        assert server.selected_alpn_protocol() is None

    run(main)


def test_client_certificates(run: Runner, certs: Certs) -> None:
    async def main() -> tuple[object, object]:
        sctx = server_context(certs.server)
        sctx.verify_mode = ssl.CERT_REQUIRED
        sctx.load_verify_locations(cadata=certs.ca_pem)
        cctx = client_context(certs)
        cctx.load_cert_chain(certs.client)
        client, server = await tls_pair(certs, server_ctx=sctx, client_ctx=cctx)
        return server.getpeercert()["subject"], client.getpeercert()["subject"]

    assert run(main) == (((("commonName", "eio client"),),), ((("commonName", "localhost"),),))


def test_tls_1_2(run: Runner, certs: Certs) -> None:
    """TLS 1.2's handshake ends with the server's last flight: it must be sent before the server returns."""

    async def main() -> tuple[str | None, str | None, bytes]:
        cctx = client_context(certs)
        cctx.maximum_version = ssl.TLSVersion.TLSv1_2
        client, server = await tls_pair(certs, client_ctx=cctx)
        await eio.flow.copy_string("over 1.2", client)
        await eio.flow.shutdown(client, "send")
        return client.version(), server.version(), await eio.flow.read_all(server)

    assert run(main) == ("TLSv1.2", "TLSv1.2", b"over 1.2")


def test_sni_callback_picks_the_certificate(run: Runner, certs: Certs) -> None:
    seen: list[str | None] = []
    other = server_context(certs.other)

    def sni(obj: ssl.SSLSocket | ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        seen.append(name)
        if name == "other.example":
            obj.context = other

    async def main() -> tuple[object, object]:
        sctx = server_context(certs.server)
        sctx.sni_callback = sni
        c1, _ = await tls_pair(certs, hostname="localhost", server_ctx=sctx)
        c2, s2 = await tls_pair(certs, hostname="other.example", server_ctx=sctx)
        assert s2.server_hostname is None or s2.server_hostname == "other.example"
        return c1.getpeercert()["subject"], c2.getpeercert()["subject"]

    assert run(main) == (((("commonName", "localhost"),),), ((("commonName", "other.example"),),))
    assert seen == ["localhost", "other.example"]


def test_close_notify_is_end_of_file_and_half_close_works(run: Runner, certs: Certs) -> None:
    async def main() -> bytes:
        client, server = await tls_pair(certs)
        await eio.flow.copy_string("request", client)
        await eio.flow.shutdown(client, "send")
        assert await eio.flow.read_all(server) == b"request"  # ended by close_notify
        buf = bytearray(10)
        with pytest.raises(eio.EndOfFile):
            await eio.flow.single_read(server, buf)  # and it stays ended
        await eio.flow.copy_string("reply", server)  # the other direction is still open
        await eio.flow.shutdown(server, "send")
        return await eio.flow.read_all(client)

    assert run(main) == b"reply"


def test_abrupt_close_is_end_of_file(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        client, server = await tls_pair(certs)
        await eio.flow.copy_string("partial", server)
        await server.close()  # the transport ends: no close_notify
        assert server.transport is not None
        assert await eio.flow.read_all(client) == b"partial"

    run(main)


def test_end_of_input_during_the_handshake(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        a, b = mem_pair()
        await b.close()
        with pytest.raises(ssl.SSLEOFError) as info:
            await eio.tls.client(a, client_context(certs), server_hostname="localhost")
        assert "eio.tls: client to 'localhost' over " in "\n".join(info.value.__notes__)

    run(main)


def test_wrong_hostname(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        a, b = mem_pair()

        async def client() -> None:
            with pytest.raises(ssl.SSLCertVerificationError) as info:
                await eio.tls.client(a, client_context(certs), server_hostname="wrong.example")
            assert "Hostname mismatch" in str(info.value)
            assert info.value.__notes__ == [f"eio.tls: client to 'wrong.example' over {a!r}"]
            await a.close()

        async def server() -> None:
            # The client's alert reaches the server.
            with pytest.raises(ssl.SSLError) as info:
                await eio.tls.server(b, server_context(certs.server))
            assert "ALERT" in str(info.value).upper()

        await fiber.both(client, server)

    run(main)


def test_untrusted_certificate(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        a, b = mem_pair()

        async def client() -> None:
            with pytest.raises(ssl.SSLCertVerificationError) as info:
                await eio.tls.client(a, client_context(certs), server_hostname="localhost")
            assert info.value.verify_message == "unable to get local issuer certificate"
            await a.close()

        async def server() -> None:
            with pytest.raises(ssl.SSLError):
                await eio.tls.server(b, server_context(certs.untrusted))

        await fiber.both(client, server)

    run(main)


def test_bad_arguments(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        a, _ = mem_pair()
        with pytest.raises(TypeError, match="ssl_context must be an ssl.SSLContext, not str"):
            await eio.tls.client(a, "ctx", server_hostname="x")  # type: ignore[arg-type]  # the error under test
        with pytest.raises(TypeError, match="flow must be a two-way flow"):
            await eio.tls.server(object(), server_context(certs.server))  # type: ignore[arg-type]  # the error under test
        with pytest.raises(ValueError, match="server_hostname is required"):
            await eio.tls.client(a, client_context(certs))
        client, _ = await tls_pair(certs)
        with pytest.raises(ValueError, match="'both' is not one of"):
            await client.shutdown("both")  # type: ignore[arg-type]  # the error under test

    run(main)


def _payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


async def echo_server(server: eio.tls.TlsFlow) -> None:
    """Echo with one reader fiber and one writer fiber, joined by a stream."""
    chunks = eio.Stream[bytes](8)

    async def reader() -> None:
        buf = bytearray(50000)
        while True:
            try:
                n = await eio.flow.single_read(server, buf)
            except eio.EndOfFile:
                await chunks.add(b"")
                return
            await chunks.add(bytes(buf[:n]))

    async def writer() -> None:
        while chunk := await chunks.take():
            await eio.flow.write(server, [chunk])
        await eio.flow.shutdown(server, "send")

    await fiber.both(reader, writer)


async def echo_client(client: eio.tls.TlsFlow, data: bytes) -> bytes:
    """Send ``data`` from one fiber while another reads the echo."""

    async def send() -> None:
        view = memoryview(data)
        for i in range(0, len(data), 300000):
            await eio.flow.write(client, [view[i : i + 100000], view[i + 100000 : i + 300000]])
        await eio.flow.shutdown(client, "send")

    _, got = await fiber.pair(send, lambda: eio.flow.read_all(client))
    return got


def test_large_echo_with_a_reader_and_a_writer_fiber(run: Runner, certs: Certs) -> None:
    data = _payload(3 * 1024 * 1024 + 12345)

    async def main() -> bytes:
        client, server = await tls_pair(certs, chunk=5000, max_read=7000)
        _, got = await fiber.pair(lambda: echo_server(server), lambda: echo_client(client, data))
        return got

    assert run(main) == data


def test_two_readers_at_once_is_an_error(run: Runner, certs: Certs) -> None:
    async def main() -> None:
        client, server = await tls_pair(certs)

        async def second() -> None:
            with pytest.raises(RuntimeError, match="two fibers are reading at once"):
                await eio.flow.single_read(client, bytearray(10))
            await eio.flow.copy_string("go", server)

        async def first() -> bytes:
            buf = bytearray(10)
            n = await eio.flow.single_read(client, buf)
            return bytes(buf[:n])

        got, _ = await fiber.pair(first, second)
        assert got == b"go"

    run(main)


def test_cancelled_reads_lose_nothing(run: Runner, certs: Certs) -> None:
    """Reads cancelled at every point of a record's arrival: the plaintext received is exactly what was sent."""
    data = _payload(200000)

    async def main() -> tuple[bytes, int]:
        # Records arrive 333 bytes at a time, so most reads wait mid-record.
        client, server = await tls_pair(certs, chunk=1000, max_read=333)
        received: list[bytes] = []
        cancelled = 0

        async def send() -> None:
            view = memoryview(data)
            for i in range(0, len(data), 7000):
                await eio.flow.write(server, [view[i : i + 7000]])
            await eio.flow.shutdown(server, "send")

        async def receive() -> None:
            nonlocal cancelled
            buf = bytearray(5000)
            step = 0

            async def read() -> bool:
                try:
                    n = await eio.flow.single_read(client, buf)
                except eio.EndOfFile:
                    return True
                received.append(bytes(buf[:n]))  # no wait between the read and this
                return False

            while True:
                step += 1
                done = False
                with eio.cancel.sub() as cc:

                    async def canceller() -> None:
                        for _ in range(step % 5):
                            await fiber.yield_()
                        cc.cancel(TimeoutError("interrupt"))

                    try:
                        async with eio.Switch.run() as sw:
                            fiber.fork_daemon(sw, canceller)
                            done = await read()
                    except eio.Cancelled:
                        cancelled += 1
                if done:
                    return

        await fiber.both(send, receive)
        return b"".join(received), cancelled

    got, cancelled = run(main)
    assert cancelled >= 10
    assert got == data


def test_cancelled_write_is_all_or_nothing(run: Runner, certs: Certs) -> None:
    async def main() -> tuple[list[str], bytes]:
        client, server = await tls_pair(certs)
        # Now the transport takes 100 bytes per write into a 4-chunk stream: sending 5000 bytes blocks.
        cast(MemFlow, client.transport).chunk = 100
        events: list[str] = []

        async def first_write() -> None:
            # Cancelled while its records are being sent: it has happened all the same.
            wrote = await client.single_write([b"A" * 5000])
            events.append(f"first write returned {wrote}")

        async def second_write() -> None:
            # Cancelled while waiting for the first: it has no effect.
            try:
                await client.single_write([b"B" * 10])
            except eio.Cancelled:
                events.append("second write cancelled")
                raise

        async def write_side() -> None:
            try:
                with eio.cancel.sub() as cc:
                    async with eio.Switch.run() as sw:
                        fiber.fork(sw, first_write)
                        fiber.fork(sw, second_write)
                        cc.cancel(TimeoutError("stop"))
            except eio.Cancelled:
                events.append("switch cancelled")
            await eio.flow.copy_string("C", client)  # the first write's records not yet sent go first
            await eio.flow.shutdown(client, "send")

        _, got = await fiber.pair(write_side, lambda: eio.flow.read_all(server))
        return events, got

    events, got = run(main)
    assert events == ["first write returned 5000", "second write cancelled", "switch cancelled"]
    assert got == b"A" * 5000 + b"C"


def test_a_read_sends_what_a_cancelled_write_left(run: Runner, certs: Certs) -> None:
    """The peer answers only once it has the whole request: the reader sends the records a cancelled write left."""

    async def main() -> bytes:
        client, server = await tls_pair(certs)
        cast(MemFlow, client.transport).chunk = 100

        async def serve() -> None:
            request = bytearray(5000)
            await eio.flow.read_exact(server, request)
            await eio.flow.copy_string(b"got %d" % request.count(b"A"), server)
            await eio.flow.shutdown(server, "send")

        async def ask() -> bytes:
            with eio.cancel.sub() as cc:
                try:
                    async with eio.Switch.run() as sw:

                        async def request() -> None:
                            assert await client.single_write([b"A" * 5000]) == 5000

                        fiber.fork(sw, request)
                        cc.cancel(TimeoutError("stop"))
                except eio.Cancelled:
                    pass
            return await eio.flow.read_all(client)

        _, answer = await fiber.pair(serve, ask)
        return answer

    assert run(main) == b"got 5000"


# -- over real loopback TCP, on io_uring ----------------------------------------------------------

uring_only = pytest.mark.skipif("uring" not in [name for name, _ in __import__("conftest").BACKENDS], reason="no io_uring")


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_fd_leak() -> Iterator[None]:
    before = _fds()
    yield
    assert _fds() - before == set()


def run_tcp(fn: Callable[[eio.net.Network, eio.Switch], Awaitable[T]]) -> T:
    from eio_backend_uring._net import UringNetwork
    from eio_backend_uring._run import run_plain

    async def main() -> T:
        async with eio.Switch.run() as sw:
            return await fn(UringNetwork(), sw)

    return run_plain(main)


@uring_only
@pytest.mark.usefixtures("no_fd_leak")
def test_loopback_server_with_run_server(certs: Certs) -> None:
    data = _payload(5 * 1024 * 1024)
    sctx = server_context(certs.server, alpn=["echo/1"])

    async def main(net: eio.net.Network, sw: eio.Switch) -> tuple[bytes, list[bytes], str | None]:
        sock = await eio.net.listen(sw, net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=5)
        addr = eio.net.listening_addr(sock)
        stop, stopper = eio.Promise[None].create()

        async def handler(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
            tls = await eio.tls.server(flow, sctx)
            if tls.selected_alpn_protocol() == "echo/1":
                await echo_server(tls)

        async def clients() -> tuple[bytes, list[bytes], str | None]:
            async with eio.Switch.run() as csw:
                flow = await eio.net.connect(csw, net, addr)
                tls = await eio.tls.client(flow, client_context(certs, alpn=["echo/1"]), server_hostname="127.0.0.1")
                big = await echo_client(tls, data)
                flow2 = await eio.net.connect(csw, net, addr)
                tls2 = await eio.tls.client(flow2, client_context(certs, alpn=["echo/1"]), server_hostname="localhost")
                await eio.flow.copy_string("one\ntwo\n", tls2)
                await eio.flow.shutdown(tls2, "send")
                lines = [line async for line in eio.BufRead.of_flow(tls2, max_size=100).lines()]
                await tls2.close()
                stopper.resolve(None)
                return big, lines, tls.selected_alpn_protocol()

        def on_error(ex: Exception) -> None:
            raise ex

        _, result = await fiber.pair(lambda: eio.net.run_server(sock, handler, on_error=on_error, stop=stop), clients)
        return result

    big, lines, alpn = run_tcp(main)
    assert big == data
    assert lines == [b"one", b"two"]
    assert alpn == "echo/1"


@uring_only
@pytest.mark.usefixtures("no_fd_leak")
def test_loopback_failures(certs: Certs) -> None:
    async def main(net: eio.net.Network, sw: eio.Switch) -> list[str]:
        sock = await eio.net.listen(sw, net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=5)
        addr = eio.net.listening_addr(sock)
        seen: list[str] = []

        async def serve(chain: Path, then_cut: bool) -> None:
            async with eio.Switch.run() as ssw:
                flow, _ = await eio.net.accept(ssw, sock)
                try:
                    tls = await eio.tls.server(flow, server_context(chain))
                except ssl.SSLError as ex:
                    seen.append(f"server: {type(ex).__name__}")
                    return
                if then_cut:
                    await eio.flow.copy_string("cut", tls)
                    await tls.close()  # no close_notify

        async def connect(hostname: str) -> eio.tls.TlsFlow | None:
            async with eio.Switch.run() as csw:
                flow = await eio.net.connect(csw, net, addr)
                try:
                    tls = await eio.tls.client(flow, client_context(certs), server_hostname=hostname)
                except ssl.SSLCertVerificationError as ex:
                    seen.append(f"client: {ex.verify_message}")
                    return None
                seen.append(f"client read {await eio.flow.read_all(tls)!r}")
                return tls

        await fiber.both(lambda: serve(certs.server, False), lambda: connect("wrong.example"))
        await fiber.both(lambda: serve(certs.untrusted, False), lambda: connect("localhost"))
        await fiber.both(lambda: serve(certs.server, True), lambda: connect("localhost"))
        return seen

    assert run_tcp(main) == [
        "client: Hostname mismatch, certificate is not valid for 'wrong.example'.",
        "server: SSLError",
        "client: unable to get local issuer certificate",
        "server: SSLError",
        "client read b'cut'",
    ]


@uring_only
@pytest.mark.usefixtures("no_fd_leak")
def test_the_benchmark_runs(tmp_path: Path) -> None:
    """bench/tls_echo.py's eio and asyncio exchanges complete and count right (no timing checked)."""
    import sys

    from eio_backend_uring._run import run_plain

    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench import tls_echo
    from bench._common import asyncio_runner

    ctxs = tls_echo.make_contexts(tmp_path)
    assert tls_echo.eio_round_trips(run_plain, ctxs, 20).count == 20
    assert tls_echo.eio_bulk(run_plain, ctxs, 1).count == 1
    run_asyncio = asyncio_runner().run
    assert run_asyncio is not None
    assert tls_echo.asyncio_round_trips(run_asyncio, ctxs, 20).count == 20
