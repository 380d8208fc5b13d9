"""Eio's README examples that start with ``Eio_main.run`` and need no files, network or processes.

Sections: "Running Eio" (examples/hello.py, run as a program), "Testing with
Mocks" (the same ``main`` given a buffer and a mock flow), "Fibers", "Time"
and "Domain Manager" / "Executor Pool" (examples/domains.py, run as a
program). Where the README marks the output of domains as non-deterministic,
the lines are compared as a multiset and only the order that must hold is
checked. "Design Note: Determinism" has no program of its own (see
test_readme_core.py for its claim). The programs are run with the backend
`eio_main` picks here, and with ``EIO_BACKEND`` forcing one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

import eio
import pytest
from conftest import Trace

import eio_backend_uring
import eio_main
import eio_mock

needs_uring = pytest.mark.skipif(
    eio_backend_uring.unavailable_reason() is not None,
    reason=f"io_uring unavailable: {eio_backend_uring.unavailable_reason()}",
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str, backend: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` with this Python; ``backend`` sets ``EIO_BACKEND`` (else it is unset)."""
    env = {k: v for k, v in os.environ.items() if k != "EIO_BACKEND"}
    if backend is not None:
        env["EIO_BACKEND"] = backend
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, env=env, timeout=120)


def hello_main() -> Callable[[eio.flow.Sink], Awaitable[None]]:
    """``main`` of examples/hello.py: the function the program runs, to give it mocks."""
    spec = importlib.util.spec_from_file_location("hello_example", EXAMPLES / "hello.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(Callable[[eio.flow.Sink], Awaitable[None]], module.main)


# -- Running Eio ----------------------------------------------------------------------------------


def test_hello_prints_to_stdout() -> None:
    result = run_example("hello.py")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Hello, world!\n", "")


@needs_uring
def test_hello_on_the_uring_backend_forced() -> None:
    result = run_example("hello.py", backend="uring")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Hello, world!\n", "")


@needs_uring
def test_eio_main_picks_uring_here() -> None:
    async def main(env: eio.Stdenv) -> str:
        return env.backend_id

    assert eio_main.run(main) == "uring"


def test_hello_on_the_mock_backend() -> None:
    """The mock environment's stdout keeps what is written and passes it on to the process's own."""
    result = run_example("hello.py", backend="mock")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Hello, world!\n", "")


def test_hello_with_a_backend_that_is_not_installed() -> None:
    result = run_example("hello.py", backend="nonesuch")
    assert (result.returncode, result.stdout) == (1, "")
    last = result.stderr.splitlines()[-1]
    assert re.fullmatch(
        r"eio_main\.BackendNotInstalled: eio backend 'nonesuch' was asked for but is not installed "
        r"\(installed: [a-z, -]+\); no backend is called 'nonesuch' \(known backends: asyncio, mock, trio, uring, windows\)",
        last,
    ), last


@needs_uring
def test_hello_in_process_writes_to_file_descriptor_1(capfd: pytest.CaptureFixture[str]) -> None:
    main = hello_main()

    async def start(env: eio.Stdenv) -> None:
        await main(env.stdout)

    eio_main.run(start)
    assert capfd.readouterr() == ("Hello, world!\n", "")


# -- Testing with Mocks ---------------------------------------------------------------------------


def test_main_writes_to_a_buffer_instead(trace: Trace) -> None:
    main = hello_main()

    async def start(env: object) -> None:
        buffer = bytearray()
        await main(eio.flow.buffer_sink(buffer))
        eio.traceln(f"Main would print {bytes(buffer)!r}")

    eio_main.run(start)
    assert trace.lines() == ["Main would print b'Hello, world!\\n'"]


def test_main_writes_to_a_mock_flow_instead(trace: Trace) -> None:
    main = hello_main()

    async def start(env: object) -> None:
        await main(eio_mock.flow.make("mock-stdout"))

    eio_main.run(start)
    assert trace.lines() == ["mock-stdout: wrote b'Hello, world!\\n'"]


# -- Fibers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", [None, "mock"], ids=["default", "mock"])
def test_fibers(trace: Trace, backend: str | None) -> None:
    async def main(env: object) -> None:
        async def xs() -> None:
            for x in range(1, 4):
                eio.traceln(f"x = {x}")
                await eio.fiber.yield_()

        async def ys() -> None:
            for y in range(1, 4):
                eio.traceln(f"y = {y}")
                await eio.fiber.yield_()

        await eio.fiber.both(xs, ys)

    eio_main.run(main, backend=backend)
    assert trace.lines() == ["x = 1", "y = 1", "x = 2", "y = 2", "x = 3", "y = 3"]


# -- Time ---------------------------------------------------------------------------------------------


def test_the_time_is_now(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        eio.traceln(f"The time is now {eio.time.now(env.clock):f}")

    before = time.time()
    eio_main.run(main)
    after = time.time()
    [line] = trace.lines()
    match = re.fullmatch(r"The time is now (\d+\.\d{6})", line)
    assert match, line
    # %f rounds to the microsecond.
    assert round(before, 6) <= float(match[1]) <= round(after, 6)


def test_the_mock_clock_advances_when_nothing_else_can_run(trace: Trace) -> None:
    async def main(env: eio_mock.backend.MockEnv) -> None:
        eio.traceln("Sleeping for five seconds...")
        await eio.time.sleep(env.clock, 5.0)
        eio.traceln("Resumed")

    eio_mock.backend.run_full(main)
    assert trace.lines() == ["Sleeping for five seconds...", "mock time is now 5", "Resumed"]


# -- Domain Manager and Executor Pool --------------------------------------------------------------

README_SUMS = [
    "+Starting CPU-intensive task...",
    "+Starting CPU-intensive task...",
    "+Finished",
    "+sum 1..50000 = 1250025000",
    "+Finished",
    "+sum 1..100000 = 5000050000",
]


def check_domains_output(lines: list[str]) -> None:
    """README's lines in any order, but a task finishes after it starts and is summed after that."""
    assert sorted(lines) == sorted(README_SUMS)
    started = finished = summed = 0
    for line in lines:
        started += line == "+Starting CPU-intensive task..."
        finished += line == "+Finished"
        summed += line.startswith("+sum ")
        assert started >= finished >= summed, lines


@needs_uring
@pytest.mark.parametrize("backend", [None, "uring"], ids=["default", "uring"])
def test_domain_manager_and_executor_pool_example(backend: str | None) -> None:
    result = run_example("domains.py", backend=backend)
    assert (result.returncode, result.stdout) == (0, "")
    lines = result.stderr.splitlines()
    assert lines[0] == "+Domain Manager:"
    pool_at = lines.index("+Executor Pool:")
    check_domains_output(lines[1:pool_at])
    check_domains_output(lines[pool_at + 1 :])
