"""Eio's README section "Running processes", in Python, on every OS backend.

Each example also checks that it left no descriptor open and no child unreaped.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import eio
import pytest
from conftest import run_checked

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")
_backend = ""


@pytest.fixture(autouse=True)
def _on_each_backend(os_backend: str) -> None:
    """Run every test of this module once per OS backend (as ``_backend``)."""
    global _backend
    _backend = os_backend


T = TypeVar("T")


def run(main: Callable[[eio.Stdenv], Awaitable[T]]) -> T:
    """``run(main)`` of the backend under test, checking that nothing is left behind."""
    return run_checked(_backend, main)


def test_run_a_program(capfd: pytest.CaptureFixture[str]) -> None:
    async def main(env: eio.Stdenv) -> None:
        proc_mgr = env.process_mgr
        await eio.process.run(proc_mgr, ["echo", "hello"])

    assert run(main) is None
    assert capfd.readouterr().out == "hello\n"


def test_stdin_from_a_string(capfd: pytest.CaptureFixture[str]) -> None:
    async def main(env: eio.Stdenv) -> None:
        proc_mgr = env.process_mgr
        await eio.process.run(proc_mgr, ["tr", "a-z", "A-Z"], stdin=eio.flow.string_source("One two three\n"))

    run(main)
    assert capfd.readouterr().out == "ONE TWO THREE\n"


def test_capture_the_output_with_parse_out() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        proc_mgr = env.process_mgr
        return await eio.process.parse_out(proc_mgr, eio.BufRead.line, ["echo", "hello"])

    assert run(main) == b"hello"


def test_capture_the_output_with_a_sink() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        out = bytearray()
        await eio.process.run(env.process_mgr, ["echo", "hello"], stdout=eio.flow.buffer_sink(out))
        return bytes(out)

    assert run(main) == b"hello\n"


def test_a_failure_is_an_error_naming_the_command() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        proc_mgr = env.process_mgr
        return await eio.process.parse_out(proc_mgr, eio.BufRead.take_all, ["sh", "-c", "exit 3"])

    with pytest.raises(eio.process.ChildError) as info:
        run(main)
    assert info.value.status == eio.process.Exited(3)
    assert str(info.value) == "Exited (code 3)"
    assert info.value.__notes__ == ['running command: sh -c "exit 3"']


def test_spawn_and_await_for_more_control() -> None:
    async def main(env: eio.Stdenv) -> eio.process.ExitStatus:
        async with eio.Switch.run() as sw:
            proc = await eio.process.spawn(sw, env.process_mgr, ["sh", "-c", "exit 3"])
            return await proc.await_()

    assert run(main) == eio.process.Exited(3)
