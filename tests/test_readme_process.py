"""Eio's README section "Running processes", in Python, on the io_uring backend and on the mock.

On io_uring the programs are real and each example also checks that it left
no descriptor open and no child unreaped. On the mock backend `echo`, `tr`
and `sh -c "exit N"` are scripted (`eio_mock.process.register`) to do what the
real ones do for these arguments, and the same examples give the same results.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

import eio
import eio_backend_uring
import eio_mock

T = TypeVar("T")
Main = Callable[[eio.Stdenv], Awaitable[T]]


def run_uring(main: Main[T]) -> T:
    """``eio_backend_uring.run(main)``, checking that nothing is left behind."""
    before = sorted(os.listdir("/proc/self/fd"))
    try:
        return eio_backend_uring.run(main)
    finally:
        assert sorted(os.listdir("/proc/self/fd")) == before
        try:
            assert os.waitpid(-1, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            pass  # no children at all


async def _echo(child: eio_mock.process.Child) -> int:
    await eio.flow.copy_string(" ".join(child.args[1:]) + "\n", child.stdout)
    return 0


async def _tr(child: eio_mock.process.Child) -> int:
    assert child.args[1:] == ["a-z", "A-Z"], "only the README's tr is scripted"
    data = await eio.flow.read_all(child.stdin)
    await eio.flow.write(child.stdout, [data.translate(bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"))])
    return 0


async def _sh(child: eio_mock.process.Child) -> int:
    assert child.args[1] == "-c" and child.args[2].startswith("exit "), "only sh -c 'exit N' is scripted"
    return int(child.args[2].removeprefix("exit "))


def run_mock(main: Main[T]) -> T:
    """``eio_mock.backend.run_full(main)``, with echo, tr and sh scripted."""

    async def scripted(env: eio_mock.backend.MockEnv) -> T:
        for name, fn in (("echo", _echo), ("tr", _tr), ("sh", _sh)):
            eio_mock.process.register(env.process_mgr, name, run=fn)
        return await main(env)

    return eio_mock.backend.run_full(scripted)


class Runner:
    """Runs a README example on one backend."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, main: Main[T]) -> T:
        return run_uring(main) if self.name == "uring" else run_mock(main)


@pytest.fixture(params=["mock"] if eio_backend_uring.unavailable_reason() is not None else ["mock", "uring"])
def run(request: pytest.FixtureRequest) -> Runner:
    """The backend under test."""
    return Runner(str(request.param))


def test_run_a_program(capfd: pytest.CaptureFixture[str], run: Runner) -> None:
    async def main(env: eio.Stdenv) -> None:
        proc_mgr = env.process_mgr
        await eio.process.run(proc_mgr, ["echo", "hello"])

    assert run(main) is None
    assert capfd.readouterr().out == "hello\n"


def test_stdin_from_a_string(capfd: pytest.CaptureFixture[str], run: Runner) -> None:
    async def main(env: eio.Stdenv) -> None:
        proc_mgr = env.process_mgr
        await eio.process.run(proc_mgr, ["tr", "a-z", "A-Z"], stdin=eio.flow.string_source("One two three\n"))

    run(main)
    assert capfd.readouterr().out == "ONE TWO THREE\n"


def test_capture_the_output_with_parse_out(run: Runner) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        proc_mgr = env.process_mgr
        return await eio.process.parse_out(proc_mgr, eio.BufRead.line, ["echo", "hello"])

    assert run(main) == b"hello"


def test_capture_the_output_with_a_sink(run: Runner) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        out = bytearray()
        await eio.process.run(env.process_mgr, ["echo", "hello"], stdout=eio.flow.buffer_sink(out))
        return bytes(out)

    assert run(main) == b"hello\n"


def test_a_failure_is_an_error_naming_the_command(run: Runner) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        proc_mgr = env.process_mgr
        return await eio.process.parse_out(proc_mgr, eio.BufRead.take_all, ["sh", "-c", "exit 3"])

    with pytest.raises(eio.process.ChildError) as info:
        run(main)
    assert info.value.status == eio.process.Exited(3)
    assert str(info.value) == "Exited (code 3)"
    assert info.value.__notes__ == ['running command: sh -c "exit 3"']


def test_spawn_and_await_for_more_control(run: Runner) -> None:
    async def main(env: eio.Stdenv) -> eio.process.ExitStatus:
        async with eio.Switch.run() as sw:
            proc = await eio.process.spawn(sw, env.process_mgr, ["sh", "-c", "exit 3"])
            return await proc.await_()

    assert run(main) == eio.process.Exited(3)
