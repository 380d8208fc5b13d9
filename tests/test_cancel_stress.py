"""Timeouts racing completions, many times over: nothing lost, nothing duplicated.

Each test moves items (or bytes) through an operation wrapped in a very short
timeout, so the deadline and the completion often land in the same scheduler
pass. Whatever the interleaving, every item must arrive exactly once. The
``soak`` variants (not run by CI) do the same for a million items.
"""

from __future__ import annotations

import hashlib
import os
import threading

import eio
import eio.net
import pytest
from conftest import Runner
from eio_main._registry import discover

import eio_main
import eio_mock

TINY = 0.00002


def os_backends() -> list[str]:
    """Every installed backend that runs on the real OS here (all but the mock)."""
    registry = discover()
    return sorted(name for name, info in registry.backends.items() if name != "mock" and info.unavailable_reason() is None)


async def move_items(n: int, capacity: int) -> list[int]:
    """A producer and a consumer, each retrying its operation after every Timeout."""
    clock = eio.time.MonoClock()
    s = eio.Stream[int](capacity)
    received: list[int] = []

    async def producer() -> None:
        for i in range(n):
            while True:
                try:
                    await eio.time.with_timeout(clock, TINY, lambda: s.add(i))
                    break
                except eio.time.Timeout:
                    pass
        s.close()

    async def consumer() -> None:
        while True:
            try:
                received.append(await eio.time.with_timeout(clock, TINY, s.take))
            except eio.time.Timeout:
                pass
            except eio.Stream.Closed:
                return

    await eio.fiber.both(producer, consumer)
    return received


@pytest.mark.parametrize("capacity", [0, 1, 4])
def test_stream_items_survive_racing_timeouts(run: Runner, capacity: int) -> None:
    n = 5_000
    assert run(lambda: move_items(n, capacity)) == list(range(n))


@pytest.mark.soak
@pytest.mark.parametrize("capacity", [0, 1])
def test_soak_stream_items_survive_racing_timeouts(run: Runner, capacity: int) -> None:
    n = 1_000_000
    assert run(lambda: move_items(n, capacity)) == list(range(n))


def test_items_from_another_thread_survive_racing_timeouts(run: Runner) -> None:
    """A producer on another OS thread closes the stream at the end: Timeout or Closed, never a group."""
    n = 5_000

    async def main() -> list[int]:
        clock = eio.time.MonoClock()
        s = eio.Stream[int](0)
        received: list[int] = []
        loop = eio.lowlevel.current_loop()
        done, finished = eio.Promise[None].create()

        def produce() -> None:
            # The producer is a fiber of another loop, in its own thread.
            async def feed() -> None:
                for i in range(n):
                    await s.add(i)
                s.close()

            try:
                eio_mock.backend.run(feed)
            finally:
                loop.call_soon_threadsafe(lambda: finished.resolve(None))

        loop.pending_external += 1
        t = threading.Thread(target=produce)
        t.start()
        while True:
            try:
                received.append(await eio.time.with_timeout(clock, TINY, s.take))
            except eio.time.Timeout:
                pass
            except eio.Stream.Closed:
                break
        await done
        loop.pending_external -= 1
        t.join()
        return received

    assert run(main) == list(range(n))


async def tcp_transfer(env: eio.Stdenv, size: int, read_timeout: float) -> tuple[int, str, str]:
    """Send ``size`` random bytes over loopback; the reader wraps each read in a short timeout."""
    payload = os.urandom(size)
    clock = env.mono_clock
    async with eio.Switch.run() as sw:
        listener = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=1)
        addr = eio.net.listening_addr(listener)

        async def server() -> None:
            async with eio.Switch.run() as ssw:
                flow, _peer = await eio.net.accept(ssw, listener)
                await eio.flow.write(flow, [payload])
                await eio.flow.shutdown(flow, "send")

        eio.fiber.fork(sw, server)
        flow = await eio.net.connect(sw, env.net, addr)
        got = bytearray()
        buf = memoryview(bytearray(4096))
        timeouts = 0
        while True:
            try:
                n = await eio.time.with_timeout(clock, read_timeout, lambda: eio.flow.single_read(flow, buf))
            except eio.time.Timeout:
                timeouts += 1
                continue
            except eio.EndOfFile:
                break
            got += buf[:n]
    return len(got), hashlib.sha256(got).hexdigest(), hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize("backend", os_backends())
def test_tcp_bytes_survive_racing_timeouts(backend: str) -> None:
    size = 2 * 1024 * 1024

    async def main(env: eio.Stdenv) -> tuple[int, str, str]:
        return await tcp_transfer(env, size, TINY)

    n, got, sent = eio_main.run(main, backend=backend)
    assert n == size
    assert got == sent


@pytest.mark.soak
@pytest.mark.parametrize("backend", os_backends())
def test_soak_tcp_bytes_survive_racing_timeouts(backend: str) -> None:
    size = 64 * 1024 * 1024

    async def main(env: eio.Stdenv) -> tuple[int, str, str]:
        return await tcp_transfer(env, size, TINY)

    n, got, sent = eio_main.run(main, backend=backend)
    assert (n, got) == (size, sent)
