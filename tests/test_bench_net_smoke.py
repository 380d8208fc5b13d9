"""The network benchmarks' io_uring servers start on the ring path their name says, and answer right.

No timing is checked: this keeps ``eio(uring)`` (the compiled accelerator) and
``eio(uring) pure`` (``EIO_PURE_PYTHON=1``) in bench/echo.py and bench/http.py
honest, since their figures are reported side by side.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench import echo, http  # noqa: E402 - needs the path set up above

if sys.platform != "linux":
    pytest.skip("the io_uring servers are Linux-only", allow_module_level=True)


def uring_unavailable(name: str) -> str | None:
    return echo.unavailable(name)


@pytest.mark.parametrize("name", ["eio(uring)", "eio(uring) pure"])
def test_echo_server_echoes(name: str) -> None:
    reason = uring_unavailable(name)
    if reason is not None:
        pytest.skip(reason)
    server = echo.ServerProcess(name)
    try:
        with socket.create_connection((echo.HOST, server.port), timeout=10) as c:
            message = bytes(range(64))
            c.sendall(message)
            got = b""
            while len(got) < len(message):
                chunk = c.recv(4096)
                assert chunk, "the server closed the connection"
                got += chunk
            assert got == message
    finally:
        server.stop()


@pytest.mark.parametrize("name", ["eio(uring)", "eio(uring) pure"])
def test_http_server_answers_two_requests_on_one_connection(name: str) -> None:
    reason = uring_unavailable(name)
    if reason is not None:
        pytest.skip(reason)
    server = http.ServerProcess(name)
    try:
        with socket.create_connection((http.HOST, server.port), timeout=10) as c:
            request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
            c.sendall(request * 2)
            want = http.RESPONSE * 2
            got = b""
            while len(got) < len(want):
                chunk = c.recv(4096)
                assert chunk, "the server closed the connection"
                got += chunk
            assert got == want
    finally:
        server.stop()


def test_a_server_on_the_wrong_ring_path_refuses_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # `eio(uring) pure` run with the accelerator in use (the environment not set) must not be measured.
    import eio_backend_uring

    monkeypatch.setattr(eio_backend_uring, "accelerated", lambda: True)
    with pytest.raises(SystemExit, match=r"eio\(uring\) pure: eio_backend_uring.accelerated\(\) is True"):
        echo.check_ring_path("eio(uring) pure")
    echo.check_ring_path("eio(uring)")
