"""TLS echo over loopback: `eio.tls` on io_uring side by side with asyncio's TLS streams (and on uvloop).

Run ``uv run python bench/tls_echo.py [--n 20000] [--mib 32] [--repeat 3] [--json PATH]``.

Each implementation runs a TLS echo server and its client in one event loop
(one process, one thread), over a real loopback TCP connection, with the
same certificate (made at start-up with ``cryptography``) and the same
`ssl.SSLContext` settings (TLS 1.3):

- round trip: the client writes a 64-byte message and reads the 64-byte
  echo, N times (time per round trip);
- bulk: one fiber/task writes M MiB in 64 KiB writes while another reads
  the echo back (time per MiB);
- the round trip again without TLS, for scale: how much of the round
  trip's time is the transport itself.

eio: ``eio.tls.server``/``eio.tls.client`` over eio's sockets; asyncio:
``asyncio.start_server(..., ssl=)``/``asyncio.open_connection(..., ssl=)``
with ``StreamReader.readexactly`` and ``StreamWriter.write``+``drain``. Only
the exchanges are timed (not the handshake). Ratios are eio's time divided by
the peer's: below 1, eio is faster.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import ssl
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import perf_counter_ns

if not __package__:
    # Run as a script: make the repository root importable so `bench` resolves.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import eio
import eio.net
import eio.tls

from bench._common import (
    Impl,
    Results,
    Runner,
    Sample,
    all_impls,
    format_ratios,
    format_table,
    machine_description,
    measure_once,
    write_json,
)

HOST = "127.0.0.1"
MESSAGE = 64
CHUNK = 65536
MIB = 1 << 20


def make_contexts(workdir: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for ``localhost``, and a client context trusting it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    chain = workdir / "server.pem"
    chain.write_bytes(
        cert_pem
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(chain)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    for ctx in (server, client):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return server, client


Contexts = tuple[ssl.SSLContext, ssl.SSLContext]
BenchFn = Callable[[Runner, Contexts | None, int], Sample]

# -- eio -------------------------------------------------------------------------------------------


async def _eio_echo(flow: eio.flow.TwoWay) -> None:
    buf = memoryview(bytearray(CHUNK))
    while True:
        try:
            got = await flow.single_read(buf)
        except eio.EndOfFile:
            await eio.flow.shutdown(flow, "send")
            return
        await eio.flow.write(flow, (buf[:got],))


def _eio_session(run: Runner, ctxs: Contexts | None, exchange: Callable[[eio.flow.TwoWay], Awaitable[Sample]]) -> Sample:
    """A server and a client over loopback, with TLS (``ctxs``) or without (None)."""
    from eio_backend_uring._net import UringNetwork

    async def main() -> Sample:
        net = UringNetwork()
        async with eio.Switch.run() as sw:
            sock = await eio.net.listen(sw, net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=5)

            async def server() -> None:
                flow: eio.flow.TwoWay
                flow, _ = await eio.net.accept(sw, sock)
                if ctxs is not None:
                    flow = await eio.tls.server(flow, ctxs[0])
                await _eio_echo(flow)

            async def client() -> Sample:
                flow: eio.flow.TwoWay = await eio.net.connect(sw, net, eio.net.listening_addr(sock))
                if ctxs is not None:
                    flow = await eio.tls.client(flow, ctxs[1], server_hostname="localhost")
                sample = await exchange(flow)
                await eio.flow.shutdown(flow, "send")
                return sample

            _, sample = await eio.fiber.pair(server, client)
            return sample

    return run(main)


def eio_round_trips(run: Runner, ctxs: Contexts | None, n: int) -> Sample:
    async def exchange(tls: eio.flow.TwoWay) -> Sample:
        msg = bytes(range(MESSAGE))
        buf = bytearray(MESSAGE)
        count = 0
        start = perf_counter_ns()
        for _ in range(n):
            await eio.flow.write(tls, (msg,))
            await eio.flow.read_exact(tls, buf)
            count += bytes(buf) == msg
        return Sample(perf_counter_ns() - start, n, count)

    return _eio_session(run, ctxs, exchange)


def eio_bulk(run: Runner, ctxs: Contexts | None, mib: int) -> Sample:
    async def exchange(tls: eio.flow.TwoWay) -> Sample:
        chunk = bytes(CHUNK)
        total = mib * MIB
        received = 0

        async def send() -> None:
            for _ in range(total // CHUNK):
                await eio.flow.write(tls, (chunk,))

        async def receive() -> None:
            nonlocal received
            buf = memoryview(bytearray(CHUNK))
            while received < total:
                received += await tls.single_read(buf)

        start = perf_counter_ns()
        await eio.fiber.both(send, receive)
        return Sample(perf_counter_ns() - start, mib, received // MIB)

    return _eio_session(run, ctxs, exchange)


# -- asyncio ---------------------------------------------------------------------------------------


async def _asyncio_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def _asyncio_session(
    run: Runner,
    ctxs: Contexts | None,
    exchange: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[Sample]],
) -> Sample:
    """A server and a client over loopback, with TLS (``ctxs``) or without (None)."""
    sctx, cctx = ctxs if ctxs is not None else (None, None)

    async def main() -> Sample:
        server = await asyncio.start_server(_asyncio_echo, HOST, 0, ssl=sctx)
        port = server.sockets[0].getsockname()[1]
        try:
            hostname = "localhost" if cctx is not None else None
            reader, writer = await asyncio.open_connection(HOST, port, ssl=cctx, server_hostname=hostname)
            sample = await exchange(reader, writer)
            writer.close()
            await writer.wait_closed()
            return sample
        finally:
            server.close()
            await server.wait_closed()

    return run(main)


def asyncio_round_trips(run: Runner, ctxs: Contexts | None, n: int) -> Sample:
    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Sample:
        msg = bytes(range(MESSAGE))
        count = 0
        start = perf_counter_ns()
        for _ in range(n):
            writer.write(msg)
            await writer.drain()
            count += await reader.readexactly(MESSAGE) == msg
        return Sample(perf_counter_ns() - start, n, count)

    return _asyncio_session(run, ctxs, exchange)


def asyncio_bulk(run: Runner, ctxs: Contexts | None, mib: int) -> Sample:
    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Sample:
        chunk = bytes(CHUNK)
        total = mib * MIB

        async def send() -> None:
            for _ in range(total // CHUNK):
                writer.write(chunk)
                await writer.drain()

        async def receive() -> int:
            received = 0
            while received < total:
                received += len(await reader.read(CHUNK))
            return received

        start = perf_counter_ns()
        _, received = await asyncio.gather(send(), receive())
        return Sample(perf_counter_ns() - start, mib, received // MIB)

    return _asyncio_session(run, ctxs, exchange)


# -- running ---------------------------------------------------------------------------------------

BENCHMARKS: dict[str, tuple[str, bool, dict[str, BenchFn]]] = {
    "round_trip": ("64 B round trip", True, {"eio": eio_round_trips, "asyncio": asyncio_round_trips}),
    "bulk": ("bulk echo (per MiB)", True, {"eio": eio_bulk, "asyncio": asyncio_bulk}),
    "plain_round_trip": ("64 B round trip, no TLS", False, {"eio": eio_round_trips, "asyncio": asyncio_round_trips}),
}

EIO_NAMES = ("eio(uring)",)
PEER_NAMES = ("asyncio", "uvloop")


def run_all(n: int, mib: int, repeat: int, gc_enabled: bool, log: Callable[[str], None]) -> Results:
    """Every benchmark on eio(uring), asyncio and uvloop, taking turns; best of ``repeat``."""
    results = Results(n=n, repeat=repeat, gc_enabled=gc_enabled)
    impls: list[Impl] = []
    for impl in all_impls():
        if impl.name not in (*EIO_NAMES, *PEER_NAMES):
            continue
        if impl.skip_reason is not None:
            results.skipped[impl.name] = impl.skip_reason
        else:
            impls.append(impl)
    with tempfile.TemporaryDirectory() as tmp:
        ctxs = make_contexts(Path(tmp))
    for key, (title, tls, fns) in BENCHMARKS.items():
        size = mib if key == "bulk" else n
        best: dict[str, Sample] = {}
        for _ in range(repeat):
            for impl in impls:
                sample = measure_once(gc_enabled, _bind(fns[impl.family], impl, ctxs if tls else None, size))
                if sample.count != size:
                    raise AssertionError(f"{title} on {impl.name}: {sample.count} of {size} exchanges came back right")
                if impl.name not in best or sample.elapsed_ns < best[impl.name].elapsed_ns:
                    best[impl.name] = sample
        for name, sample in best.items():
            log(f"  {title:22} {name:11} {sample.ns_per_op:12,.0f} ns")
        results.ns_per_op[title] = {name: s.ns_per_op for name, s in best.items()}
    return results


def _bind(fn: BenchFn, impl: Impl, ctxs: Contexts | None, size: int) -> Callable[[], Sample]:
    run = impl.run
    assert run is not None
    return lambda: fn(run, ctxs, size)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000, help="round trips per run (default 20000)")
    parser.add_argument("--mib", type=int, default=32, help="MiB echoed per bulk run (default 32)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    parser.add_argument("--gc", choices=("on", "off"), default="on", help="garbage collector during runs (default on)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    n, mib, repeat = int(args.n), int(args.mib), int(args.repeat)
    if n < 1 or mib < 1 or repeat < 1:
        parser.error("--n, --mib and --repeat must be at least 1")

    print(f"{machine_description()}; {ssl.OPENSSL_VERSION}; N = {n:,} round trips, {mib} MiB bulk, best of {repeat}")
    results = run_all(n, mib, repeat, args.gc == "on", lambda line: print(line, flush=True))
    for name, reason in results.skipped.items():
        print(f"skipped {name}: {reason}")
    print()
    print(format_table(results, [*EIO_NAMES, *PEER_NAMES]))
    print()
    print(format_ratios(results, EIO_NAMES, PEER_NAMES))
    if args.json:
        write_json(str(args.json), results, EIO_NAMES, PEER_NAMES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
