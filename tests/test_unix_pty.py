"""Pseudo-terminals (`eio.unix.pty`): a real child on the slave side, its output read from the master, on every OS backend."""

from __future__ import annotations

import os
from typing import TypeVar

import eio
import eio.unix.pty
import pytest
from conftest import run_checked
from eio.process import Exited

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

T = TypeVar("T")
go = run_checked  # main(env) on a backend, checking nothing is left open or unreaped


def test_a_child_on_a_pty(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> tuple[bytes, str, object]:
        async with eio.Switch.run() as sw:
            pty = eio.unix.pty.open_pty(sw)
            proc = await eio.process.spawn(
                sw, env.process_mgr, ["sh", "-c", "tty; echo hello"], stdin=pty.slave, stdout=pty.slave, stderr=pty.slave
            )
            await pty.slave.close()  # the child has its own copy
            out = await eio.flow.read_all(pty.master)
            return out, pty.slave_name, await proc.await_()

    out, name, status = go(os_backend, main)
    assert name.startswith("/dev/pts/")
    # The terminal turns each "\n" into "\r\n".
    assert (out, status) == (f"{name}\r\nhello\r\n".encode(), Exited(0))


def test_typing_into_a_pty(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        async with eio.Switch.run() as sw:
            pty = eio.unix.pty.open_pty(sw)
            proc = await eio.process.spawn(sw, env.process_mgr, ["head", "-n", "1"], stdin=pty.slave, stdout=pty.slave)
            await pty.slave.close()
            await eio.flow.copy_string("typed\n", pty.master)
            out = await eio.flow.read_all(pty.master)
            await eio.process.await_exn(proc)
            return out

    # The terminal echoes the input line, then head prints it.
    assert go(os_backend, main) == b"typed\r\ntyped\r\n"


def test_window_size(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        async with eio.Switch.run() as sw:
            pty = eio.unix.pty.open_pty(sw)
            pty.set_window_size(42, 132)
            proc = await eio.process.spawn(sw, env.process_mgr, ["stty", "size"], stdin=pty.slave, stdout=pty.slave)
            await pty.slave.close()
            out = await eio.flow.read_all(pty.master)
            await eio.process.await_exn(proc)
            with pytest.raises(ValueError, match="rows must be an int in 0..65535, got -1"):
                pty.set_window_size(-1, 80)
            return out

    assert go(os_backend, main) == b"42 132\r\n"


def test_closed_pty(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> list[str]:
        async with eio.Switch.run() as sw:
            pty = eio.unix.pty.open_pty(sw)
            await pty.master.close()
            await pty.slave.close()
            errors: list[str] = []
            with pytest.raises(eio.ResourceClosed) as info:
                await eio.flow.single_read(pty.master, bytearray(1))
            errors.append(str(info.value))
            with pytest.raises(eio.ResourceClosed) as info:
                await eio.flow.write(pty.slave, [b"x"])
            errors.append(str(info.value))
            return errors

    assert go(os_backend, main) == ["[Errno 9] read: the pty master is closed", "[Errno 9] write: the pty slave is closed"]


def test_a_pty_needs_os_descriptors() -> None:
    async def main(_env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            eio.unix.pty.open_pty(sw)

    with pytest.raises(RuntimeError, match="open_pty needs a backend with OS descriptors"):
        go("mock", main)
