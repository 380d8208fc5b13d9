"""The programs in examples/ run unchanged on the mock backend's in-memory environment.

As programs (``EIO_BACKEND=mock``, reading the process's own stdin) and in
process (`eio_mock.backend.run_full`, with the output kept by the mock's
stdout). On the mock everything is deterministic, so whole outputs and traces
are compared exactly, even where the OS makes the order vary (domains).
examples/signal_condition.py, on the mock, waits for signals sent by the test
(a signal handler may wake a fiber, so that is no deadlock).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import eio
import eio.net
import pytest
from conftest import Trace
from eio_mock.backend import MockEnv

import eio_mock

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# The README's "Buffered Reading and Parsing" session (as in test_readme_os.py, which runs it on io_uring).
CLI_INPUT = "help\nexit\nquit\nbye\nstop\n"
CLI_OUTPUT = [
    "+> help",
    "It's just an example",
    "+> exit",
    'Unknown command "exit"',
    "+> quit",
    'Unknown command "quit"',
    "+> bye",
    'Unknown command "bye"',
    "+> stop",
    'Unknown command "stop"',
]


def load_example(name: str) -> ModuleType:
    """``examples/<name>`` as a module (its ``__main__`` part not run)."""
    spec = importlib.util.spec_from_file_location(f"mock_example_{name.removesuffix('.py')}", EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_program(name: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``EIO_BACKEND=mock python examples/<name>``, stdout and stderr in one pipe."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "EIO_BACKEND": "mock"},
        timeout=60,
        check=False,
    )


def test_hello_program() -> None:
    result = run_program("hello.py")
    assert (result.returncode, result.stdout) == (0, "Hello, world!\n")


def test_hello_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    start = load_example("hello.py").start
    env = eio_mock.backend.new_env()
    eio_mock.backend.run_env(start, env)
    assert eio_mock.output(env.stdout) == b"Hello, world!\n"
    assert capsys.readouterr() == ("Hello, world!\n", "")


def test_cli_program_on_its_stdin() -> None:
    result = run_program("cli.py", CLI_INPUT)
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert lines[: len(CLI_OUTPUT)] == CLI_OUTPUT
    assert lines[len(CLI_OUTPUT)] == "Traceback (most recent call last):"
    assert lines[-1] == "eio.EndOfFile"


def test_cli_in_process_with_fed_stdin(trace: Trace) -> None:
    start = load_example("cli.py").start
    env = eio_mock.backend.new_env(CLI_INPUT.encode(), echo=False)
    with pytest.raises(eio.EndOfFile):
        eio_mock.backend.run_env(start, env)
    assert eio_mock.output(env.stdout).decode().splitlines() == [line for line in CLI_OUTPUT if not line.startswith("+")]
    assert ["+" + line for line in trace.lines()] == [line for line in CLI_OUTPUT if line.startswith("+")]


def test_domains_program_is_deterministic_on_the_mock() -> None:
    first = run_program("domains.py")
    assert first.returncode == 0
    assert first.stdout.splitlines() == [
        "+Domain Manager:",
        "+Starting CPU-intensive task...",
        "+Finished",
        "+sum 1..100000 = 5000050000",
        "+Starting CPU-intensive task...",
        "+Finished",
        "+sum 1..50000 = 1250025000",
        "+Executor Pool:",
        "+Starting CPU-intensive task...",
        "+Finished",
        "+Starting CPU-intensive task...",
        "+Finished",
        "+sum 1..100000 = 5000050000",
        "+sum 1..50000 = 1250025000",
    ]
    assert run_program("domains.py").stdout == first.stdout


def test_signal_program_waits_for_signals_on_the_mock_too() -> None:
    """A program with signal handlers waits for them (a handler may wake a fiber): no false deadlock."""
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "signal_condition.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "EIO_BACKEND": "mock"},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    while not any(line.startswith("+Finished reading configuration") for line in lines):
        line = proc.stdout.readline()
        assert line, lines
        lines.append(line)
    proc.send_signal(signal.SIGUSR1)
    while sum(line.startswith("+Finished reading configuration") for line in lines) < 2:
        line = proc.stdout.readline()
        assert line, lines
        lines.append(line)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert out.splitlines()[-1] == "+Cancelled at user's request."


def test_echo_server_with_an_in_memory_client(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/echo_server.py's ``main`` on the loopback network; a client fiber talks to it, then "presses Ctrl-C"."""
    echo = load_example("echo_server.py")

    async def scenario(env: MockEnv) -> list[bytes]:
        got: list[bytes] = []

        async def client() -> None:
            await eio.fiber.yield_()  # the server is listening by now
            # A fresh mock network gives port 0 the first free port, always 49152.
            addr = eio.net.Tcp(eio.net.LOOPBACK_V4, 49152)
            for message in (b"hello", b"x" * 200_000):
                async with eio.Switch.run() as sw:
                    flow = await eio.net.connect(sw, env.net, addr)

                    async def send() -> None:
                        await eio.flow.write(flow, [message])
                        await eio.flow.shutdown(flow, "send")

                    async def receive() -> None:
                        got.append(await eio.flow.read_all(flow))

                    await eio.fiber.both(send, receive)
            signal.raise_signal(signal.SIGINT)  # the server's handler runs: a graceful stop

        await eio.fiber.both(lambda: echo.main(env, 0), client)
        return got

    assert eio_mock.backend.run_full(scenario) == [b"hello", b"x" * 200_000]
    out, err = capsys.readouterr()
    assert out == "49152\n"
    assert err.splitlines() == [
        "listening on tcp:127.0.0.1:49152 at 0",
        "SIGINT: no more new connections; waiting for the open ones (Ctrl-C again to force)",
        "server stopped (interrupted)",
    ]
