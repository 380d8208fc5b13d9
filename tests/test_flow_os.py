"""The OS parts of Eio's tests/flow.md (pipes, a FIFO, long vectors, starvation), on every OS backend.

Eio's ``Eio_unix.pipe sw`` is an OS pipe here too: `os.pipe` wrapped in
`eio.unix.FdFlow` (non-blocking), both ends closed when ``sw`` finishes. The
last test is network.md's "Wrapping a Unix FD as an Eio stream socket", which
is the same thing in Eio (``import_socket_stream`` over ``Unix.pipe``).
Every test also checks that no descriptor was left open.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path as OsPath
from typing import Any, TypeVar

import eio
import eio.lowlevel
import eio.unix
import pytest
from conftest import Trace, run_env
from eio.unix import FdFlow

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix pipes and FIFOs")

T = TypeVar("T")


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd")}


@pytest.fixture
def go(os_backend: str) -> Iterator[Callable[[Callable[[eio.Stdenv], Awaitable[Any]]], Any]]:
    """``go(main)`` runs ``main(env)`` on the OS backend under test; afterwards no descriptor is left open."""
    before = open_fds()

    def go(main: Callable[[eio.Stdenv], Awaitable[T]]) -> T:
        return run_env(os_backend, main)

    yield go
    assert open_fds() <= before


def pipe(sw: eio.Switch) -> tuple[FdFlow, FdFlow]:
    """Eio's ``Eio_unix.pipe sw``: the read end and the write end, closed with ``sw``."""
    r, w = os.pipe()
    reader = FdFlow(r, owned=True, label="pipe reader", nonblocking=True)
    writer = FdFlow(w, owned=True, label="pipe writer", nonblocking=True)
    sw.on_release(reader.close)
    sw.on_release(writer.close)
    return reader, writer


def test_writing_to_and_reading_from_a_pipe(go: Any, trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            r, w = pipe(sw)
            msg = "Hello, world"

            async def read() -> None:
                buf = bytearray(len(msg))
                await eio.flow.read_exact(r, buf)
                eio.traceln(f"Got: {buf.decode()}")

            async def write() -> None:
                await eio.flow.copy_string(msg, w)
                await w.close()

            await eio.fiber.both(read, write)

    go(main)
    assert trace.lines() == ["Got: Hello, world"]


def test_writing_to_a_pipe_with_no_reader_is_an_error_not_sigpipe(go: Any, trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            r, w = pipe(sw)
            await r.close()
            try:
                await eio.flow.copy_string("Test", w)
                raise AssertionError("not reached")
            except eio.net.ConnectionReset as ex:
                eio.traceln(f"{type(ex).__name__} (good)")

    go(main)
    assert trace.lines() == ["ConnectionReset (good)"]


def test_opening_a_fifo_with_no_writer_does_not_block(go: Any, trace: Trace, tmp_path: OsPath, os_backend: str) -> None:
    # Reading from it waits for the writer.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)

    async def main(env: eio.Stdenv) -> None:
        path = env.fs / str(fifo)
        async with path.open_in() as r:
            eio.traceln("Opened FIFO (even though there's no writer)")

            async def read() -> None:
                eio.traceln("Reading...")
                buf = bytearray(2)
                await eio.flow.read_exact(r, buf)
                eio.traceln(f"Read: {bytes(buf)!r}")

            async def write() -> None:
                await eio.time.sleep(env.mono_clock, 0.01)
                eio.traceln("Attaching writer")
                async with path.open_out(create="never") as w:
                    await eio.flow.copy_string("hi", w)

            await eio.fiber.both(read, write)

    go(main)
    assert trace.lines() == ["Opened FIFO (even though there's no writer)", "Reading...", "Attaching writer", "Read: b'hi'"]


def test_a_read_from_a_fifo_with_no_writer_can_be_cancelled(go: Any, trace: Trace, tmp_path: OsPath) -> None:
    # It waits for a writer (no false end-of-file), and a timeout ends the wait; nothing leaks.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)

    async def main(env: eio.Stdenv) -> None:
        async with (env.fs / str(fifo)).open_in() as r:
            try:
                await eio.time.with_timeout(env.mono_clock, 0.05, lambda: r.single_read(memoryview(bytearray(4))))
            except eio.time.Timeout:
                eio.traceln("timed out waiting for a writer")
            # Still usable afterwards: a writer attaches, writes and goes.
            async with (env.fs / str(fifo)).open_out(create="never") as w:
                await eio.flow.copy_string("late", w)
            buf = bytearray(4)
            await eio.flow.read_exact(r, buf)
            eio.traceln(f"then read {bytes(buf)!r}")

    go(main)
    assert trace.lines() == ["timed out waiting for a writer", "then read b'late'"]


def test_load_of_a_fifo_reads_until_the_writer_goes(go: Any, tmp_path: OsPath) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    payload = bytes(range(256)) * 1024  # 256 KiB: more than a pipe holds, so the writer waits for the reader

    async def main(env: eio.Stdenv) -> bytes:
        path = env.fs / str(fifo)
        got: list[bytes] = []

        async def load() -> None:
            got.append(await path.load())

        async def write() -> None:
            # A writer that opens for writing only, on a thread, as another program would.
            def produce() -> None:
                with open(fifo, "wb") as f:
                    f.write(payload)

            await eio.lowlevel.run_in_systhread(produce)

        await eio.fiber.both(load, write)
        return got[0]

    assert go(main) == payload


def test_regular_files_are_opened_in_blocking_mode(go: Any, tmp_path: OsPath) -> None:
    # Files are opened non-blocking (so that a FIFO never waits); anything but a FIFO gets blocking mode back.
    (tmp_path / "data").write_bytes(b"abc")

    async def main(env: eio.Stdenv) -> list[bool]:
        modes: list[bool] = []
        async with (env.fs / str(tmp_path / "data")).open_in() as r:
            modes.append(os.get_blocking(eio.unix.fd_of(r)))
        async with (env.fs / str(tmp_path / "out")).open_out(create="if_missing") as w:
            modes.append(os.get_blocking(eio.unix.fd_of(w)))
            await eio.flow.copy_string("xyz", w)
        return modes

    assert go(main) == [True, True]
    assert (tmp_path / "out").read_bytes() == b"xyz"


def test_a_very_long_vector_is_sent_in_chunks(go: Any, trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            r, w = pipe(sw)
            vecs = [b"abc"] * 10_000

            async def write() -> None:
                await eio.flow.write(w, vecs)
                await w.close()

            async def read() -> None:
                got = await eio.flow.read_all(r)
                eio.traceln(f"Read {len(got)} bytes")
                assert got == b"".join(vecs)

            await eio.fiber.both(write, read)

    go(main)
    assert trace.lines() == ["Read 30000 bytes"]


def test_io_is_still_performed_while_a_fiber_is_always_ready(go: Any, trace: Trace) -> None:
    async def main(_env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            r, w = pipe(sw)

            async def spin() -> None:
                while True:
                    await eio.fiber.yield_()

            eio.fiber.fork_daemon(sw, spin)

            async def read() -> None:
                buf = bytearray(3)
                await eio.flow.read_exact(r, buf)
                eio.traceln(f"Got {bytes(buf)!r}")

            async def write() -> None:
                await eio.flow.write(w, [b"msg"])

            await eio.fiber.both(read, write)

    go(main)
    assert trace.lines() == ["Got b'msg'"]


def test_network_md_wrapping_a_unix_fd_as_a_stream(go: Any, trace: Trace) -> None:
    # Eio's network.md, "Wrapping a Unix FD as an Eio stream socket": a pipe
    # made with the OS's own call, its ends used as a source and a sink.
    async def main(_env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            r, w = os.pipe()
            source = FdFlow(r, owned=True, label="source", nonblocking=True)
            sink = FdFlow(w, owned=True, label="sink", nonblocking=True)
            sw.on_release(source.close)
            sw.on_release(sink.close)

            async def write() -> None:
                await eio.flow.copy_string("Hello\n!", sink)

            async def read() -> None:
                b = eio.BufRead.of_flow(source, max_size=1000)
                eio.traceln(f"Got: {await b.line()!r}")

            await eio.fiber.both(write, read)

    go(main)
    assert trace.lines() == ["Got: b'Hello'"]
