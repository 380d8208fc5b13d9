"""bench/cpu.py still runs: every variant computes the right answers (no timing is checked)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# bench/ lives at the repository root, which pytest does not put on sys.path.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench import cpu  # noqa: E402 - needs the path set up above


def test_count_primes() -> None:
    assert [cpu.count_primes(n) for n in (2, 3, 10, 100)] == [0, 1, 4, 25]


def test_every_variant_runs_and_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    # bench() raises if a variant's results differ from count_primes's.
    assert cpu.main(["--jobs", "3", "--size", "200", "--workers", "2", "--repeat", "1"]) == 0
    table = capsys.readouterr().out
    for name in cpu.VARIANTS:
        assert f"| {name} |" in table


def test_echo_processes_server_echoes_and_its_workers_exit() -> None:
    import socket

    from bench import echo_processes

    if echo_processes.unavailable("eio(uring)") is not None:
        pytest.skip("io_uring is unavailable here")
    server = echo_processes.ServerProcess("eio(uring) 2 worker processes")
    try:
        assert len(server.pids) == 3  # the parent and two workers
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"ping")
            assert sock.recv(4) == b"ping"
    finally:
        server.stop()
    assert not any(Path(f"/proc/{pid}").exists() for pid in server.pids)
