"""`eio.with_traceln` (Eio's per-fiber ``traceln`` binding) and `eio.with_trace_prefix`."""

from __future__ import annotations

import sys

import eio
import pytest
from conftest import Runner, Trace

import eio_main


def test_a_fiber_can_send_its_trace_lines_elsewhere(run: Runner, trace: Trace) -> None:
    captured: list[str] = []

    async def main() -> None:
        async def quiet() -> None:
            with eio.with_traceln(captured.append):
                eio.traceln("captured", 1)
                await eio.fiber.yield_()
                eio.traceln("still captured\nover two lines")
            eio.traceln("back to stderr")

        async def loud() -> None:
            eio.traceln("other fiber")
            await eio.fiber.yield_()
            eio.traceln("other fiber again")

        await eio.fiber.both(quiet, loud)

    run(main)
    assert captured == ["captured 1", "still captured\nover two lines"]
    assert trace.lines() == ["other fiber", "back to stderr", "other fiber again"]


def test_forked_fibers_inherit_the_override_and_blocks_nest(run: Runner, trace: Trace) -> None:
    outer: list[str] = []
    inner: list[str] = []

    async def main() -> None:
        with eio.with_traceln(outer.append):
            async with eio.Switch.run() as sw:

                async def child() -> None:
                    eio.traceln("from a child")
                    with eio.with_traceln(inner.append):
                        eio.traceln("inner")
                    eio.traceln("outer again")

                eio.fiber.fork(sw, child)
        eio.traceln("plain")

    run(main)
    assert outer == ["from a child", "outer again"]
    assert inner == ["inner"]
    assert trace.lines() == ["plain"]


def test_env_debug_traceln_follows_the_override(env_backend: str) -> None:
    got: list[str] = []

    async def main(env: eio.Stdenv) -> None:
        with eio.with_traceln(got.append):
            env.debug.traceln("via env.debug")

    eio_main.run(main, backend=env_backend)
    assert got == ["via env.debug"]


def test_a_trace_prefix_goes_after_the_plus_and_nests(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        with eio.with_trace_prefix("[a] "):
            eio.traceln("one")
            with eio.with_trace_prefix("[b] "):
                eio.traceln("two\nthree")
        eio.traceln("four")

    run(main)
    assert trace.lines() == ["[a] one", "[a] [b] two", "[a] [b] three", "four"]


def test_a_prefix_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(TypeError, match="prefix must be a str, not int"):
        with eio.with_trace_prefix(3):  # type: ignore[arg-type]  # the error for an untyped caller
            pass


def test_eio_overriding_tracing(env_backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Eio's tests/debug.md: one branch binds a traceln that writes "++" lines to
    # stderr; the fibers it forks use it too, the other branch does not.
    def my_traceln(text: str) -> None:
        sys.stderr.write(f"++{text}\n")

    async def a() -> None:
        eio.traceln("a")

    async def b() -> None:
        await eio.fiber.yield_()
        eio.traceln("b")

    async def c() -> None:
        eio.traceln("c")

    async def overridden() -> None:
        with eio.with_traceln(my_traceln):
            await eio.fiber.both(a, b)

    async def main(env: eio.Stdenv) -> None:
        await eio.fiber.both(overridden, c)

    eio_main.run(main, backend=env_backend)
    assert capsys.readouterr().err.splitlines() == ["++a", "+c", "++b"]
