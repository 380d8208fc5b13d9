"""Conformance: Eio's tests/random.md, ``env.secure_random`` as a flow.

Randomness can't be checked exactly; what is checked: every read fills the
whole buffer it is given, two reads don't repeat, and the source works with
every function built on `eio.flow.Source`.
"""

from __future__ import annotations

import eio
import pytest

import eio_main

_backend = ""


@pytest.fixture(autouse=True)
def _on_each_backend(os_backend: str) -> None:
    """Run every test of this module once per OS backend (as ``_backend``)."""
    global _backend
    _backend = os_backend


class SimulatedError(Exception):
    """The failure the tests inject."""


def test_two_reads_of_eight_bytes_differ() -> None:
    async def main(env: eio.Stdenv) -> tuple[bytes, bytes]:
        src = env.secure_random
        b1 = bytearray(8)
        b2 = bytearray(8)
        await eio.flow.read_exact(src, b1)
        await eio.flow.read_exact(src, b2)
        return bytes(b1), bytes(b2)

    b1, b2 = eio_main.run(main, backend=_backend)
    assert len(b1) == len(b2) == 8
    assert b1 != b2


def test_single_read_fills_a_small_buffer() -> None:
    """getrandom never returns short for up to 256 bytes, so one read fills such a buffer."""

    async def main(env: eio.Stdenv) -> list[int]:
        return [await eio.flow.single_read(env.secure_random, bytearray(size)) for size in (1, 8, 256)]

    assert eio_main.run(main, backend=_backend) == [1, 8, 256]


def test_read_exact_fills_a_large_buffer() -> None:
    """Larger reads may come back short (a flow's right); read_exact keeps reading until full."""

    async def main(env: eio.Stdenv) -> int:
        buf = bytearray(1 << 20)
        await eio.flow.read_exact(env.secure_random, buf)
        # An untouched region would stay zero: in random data about 1 byte in 256 is.
        return sum(1 for i in range(0, len(buf), 4096) if not any(buf[i : i + 4096]))

    assert eio_main.run(main, backend=_backend) == 0


def test_buf_read_takes_random_bytes() -> None:
    async def main(env: eio.Stdenv) -> tuple[bytes, bytes, bytes]:
        r = eio.BufRead.of_flow(env.secure_random, initial_size=16, max_size=64)
        return await r.take(16), await r.take(16), await r.take(40)

    a, b, c = eio_main.run(main, backend=_backend)
    assert (len(a), len(b), len(c)) == (16, 16, 40)
    assert len({a, b, c[:16]}) == 3


def test_reading_in_a_cancelled_fiber_raises() -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            sw.fail(SimulatedError("Simulated failure"))
            await eio.flow.read_exact(env.secure_random, bytearray(8))
            raise AssertionError("read in a cancelled switch")

    with pytest.raises(SimulatedError, match="^Simulated failure$"):
        eio_main.run(main, backend=_backend)


def test_the_source_works_in_another_domain() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        src = env.secure_random

        async def in_domain() -> bytes:
            buf = bytearray(32)
            await eio.flow.read_exact(src, buf)
            return bytes(buf)

        return await env.domain_mgr.run(in_domain)

    data = eio_main.run(main, backend=_backend)
    assert len(data) == 32
    assert data != bytes(32)
