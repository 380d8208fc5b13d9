"""examples/server_processes.py as a real program: 2 worker processes, clients, then Ctrl-C to the process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

uring = pytest.importorskip("eio_backend_uring")
if uring.unavailable_reason() is not None:
    pytest.skip(f"io_uring is unavailable: {uring.unavailable_reason()}", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "server_processes.py"
TIMEOUT = 30.0


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.file = self.sock.makefile("rb")

    def ask(self, line: str) -> tuple[int, str]:
        self.sock.sendall(line.encode() + b"\n")
        pid, _, echoed = self.file.readline().decode().rstrip("\n").partition(" ")
        return int(pid), echoed

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_both_workers_serve_and_ctrl_c_stops_gracefully() -> None:
    # A new session: the example and its workers form their own process group,
    # which is what a terminal signals on Ctrl-C.
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "2", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        port = int(proc.stdout.readline())
        pids = {int(p) for p in proc.stdout.readline().split()}
        assert len(pids) == 2

        served: set[int] = set()
        for n in range(40):  # SO_REUSEPORT hashes connections over the workers: 2**-39 that one gets all
            c = Client(port)
            try:
                pid, echoed = c.ask(f"line {n}")
            finally:
                c.close()
            assert echoed == f"line {n}"
            served.add(pid)
        assert served == pids

        still_open = Client(port)
        try:
            worker, _ = still_open.ask("before Ctrl-C")
            os.killpg(proc.pid, signal.SIGINT)
            assert proc.stderr.readline().rstrip("\n") == "SIGINT: stopping the workers; they finish their open connections"
            # The worker serving this connection has stopped accepting but still serves it.
            assert still_open.ask("after Ctrl-C") == (worker, "after Ctrl-C")
            assert proc.poll() is None
        finally:
            still_open.close()

        assert proc.wait(TIMEOUT) == 0, proc.stderr.read()
        assert proc.stderr.read().strip() == "all workers have exited"
        last = proc.stdout.read().strip()
        start, _, exit_ = last.removeprefix("fds: start=").partition(" exit=")
        assert last.startswith("fds: start=") and start == exit_, last
        assert not any(Path(f"/proc/{pid}").exists() for pid in pids)  # exited and reaped
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()
