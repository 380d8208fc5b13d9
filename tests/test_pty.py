"""Eio's tests/pty.md: pseudo-terminals (`eio.unix.pty`), a child on the terminal side, on every OS backend.

Eio's ``Pty.pty``/``Pty.tty``/``Pty.name`` are ``pty.master``/``pty.slave``/
``pty.slave_name`` here, and the child's standard streams are the terminal
side itself, made its controlling terminal (Eio's ``login_tty``). eio has no terminal-attribute module of its
own (Eio's ``Pty.Tc``): where a case turns echo off, Python's `termios` does
it on the terminal side's descriptor. Each test checks afterwards that no
descriptor was left open and no child unreaped.
"""

from __future__ import annotations

import os
import struct
import sys
from typing import TypeVar

import eio
import eio.unix.pty
import pytest
from conftest import run_checked
from eio.buf_read import BufRead
from eio.process import Exited, ExitStatus

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

T = TypeVar("T")
go = run_checked  # main(env) on a backend, checking nothing is left open or unreaped


async def on_pty(sw: eio.Switch, env: eio.Stdenv, pty: eio.unix.pty.Pty, args: list[str]) -> eio.process.Process:
    """Eio's ``spawn_unix ~login_tty:(Pty.tty t) ~fds:[]``: the terminal side as all three standard streams and the controlling terminal."""
    return await eio.process.spawn(sw, env.process_mgr, args, login_tty=pty.slave)


async def take_lines(source: eio.unix.pty.PtyMaster, n: int) -> list[bytes]:
    """``Buf_read.lines r |> Seq.take n |> List.of_seq``."""
    out: list[bytes] = []
    async for line in BufRead.of_flow(source, max_size=1024).lines():
        out.append(line)
        if len(out) == n:
            break
    return out


def test_opening_a_pseudoterminal(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> bool:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            assert t.master.fileno() != t.slave.fileno()
            return t.slave_name.startswith("/dev/")

    assert go(os_backend, main) is True


def test_window_size(os_backend: str) -> None:
    async def main(_env: eio.Stdenv) -> tuple[int, int, int, int]:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            t.set_window_size(24, 80)
            import fcntl  # Unix only, as is this module's subject
            import termios

            # Read back on the other side (Eio's get_window_size; eio has none, the OS tells).
            raw = fcntl.ioctl(t.slave.fileno(), termios.TIOCGWINSZ, bytes(8))
            rows, cols, xpixel, ypixel = struct.unpack("HHHH", raw)
            return rows, cols, xpixel, ypixel

    assert go(os_backend, main) == (24, 80, 0, 0)


def test_spawning_a_child_on_a_pseudoterminal(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> ExitStatus:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            child = await on_pty(sw, env, t, ["sh", "-c", "[ -t 0 ] && [ -t 1 ] && [ -t 2 ]"])
            return await child.await_()

    assert go(os_backend, main) == Exited(0)


def test_reading_the_childs_output(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[bytes]:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            # The final read keeps the terminal side open until the switch ends (and kills the child).
            await on_pty(sw, env, t, ["sh", "-c", 'for i in 1 2 3; do echo "line $i"; done; read keep_open'])
            return await take_lines(t.master, 3)

    assert go(os_backend, main) == [b"line 1", b"line 2", b"line 3"]


def test_writing_to_the_child_with_echo_off(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            import termios  # Unix only, as is this module's subject

            attr = termios.tcgetattr(t.slave.fileno())
            attr[3] &= ~termios.ECHO
            termios.tcsetattr(t.slave.fileno(), termios.TCSANOW, attr)
            await on_pty(sw, env, t, ["sh", "-c", 'read line; echo "reply: $line"; read keep_open'])
            await eio.flow.copy_string("hello\n", t.master)
            return await BufRead.of_flow(t.master, max_size=1024).line()

    assert go(os_backend, main) == b"reply: hello"


def test_writing_to_the_child_with_echo_on(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[bytes]:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            await on_pty(sw, env, t, ["sh", "-c", 'read line; echo "reply: $line"; read keep_open'])
            await eio.flow.copy_string("hello\n", t.master)
            return await take_lines(t.master, 2)

    assert go(os_backend, main) == [b"hello", b"reply: hello"]


def test_without_a_terminal_the_check_fails(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> ExitStatus:
        async with eio.Switch.run() as sw:
            devnull = eio.unix.import_flow(sw, os.open(os.devnull, os.O_RDWR), close_unix=True)
            child = await eio.process.spawn(
                sw, env.process_mgr, ["sh", "-c", "[ -t 0 ]"], stdin=devnull, stdout=devnull, stderr=devnull
            )
            return await child.await_()

    assert go(os_backend, main) == Exited(1)


def test_detect_the_standard_streams_set_as_well(os_backend: str) -> None:
    # Eio: Invalid_argument "FD 0 assigned twice!". Here a ValueError, before anything starts.
    async def main(env: eio.Stdenv) -> str:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            devnull = eio.unix.import_flow(sw, os.open(os.devnull, os.O_RDWR), close_unix=True)
            try:
                await eio.process.spawn(sw, env.process_mgr, ["sh", "-c", "exit 0"], login_tty=t.slave, stdin=devnull)
            except ValueError as ex:
                return str(ex)
            return "started"

    assert go(os_backend, main) == (
        "eio.process.spawn: login_tty is the child's stdin, stdout and stderr; stdin can't be given as well"
    )


def test_the_terminal_is_the_childs_controlling_terminal(os_backend: str) -> None:
    # Only a process with a controlling terminal can open /dev/tty; the child leads a session of its own,
    # and its process group is the terminal's foreground one (so Ctrl-C reaches it).
    script = (
        "import os, sys\n"
        "os.close(os.open('/dev/tty', os.O_RDWR))\n"
        "print('ctty ok')\n"
        "print('session leader' if os.getsid(0) == os.getpid() else 'not a session leader')\n"
        "print('foreground' if os.tcgetpgrp(0) == os.getpgrp() else 'background', flush=True)\n"
        "sys.stdin.readline()  # keep the terminal open until the switch ends\n"
    )

    async def main(env: eio.Stdenv) -> list[bytes]:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            await on_pty(sw, env, t, [sys.executable, "-c", script])
            return await take_lines(t.master, 3)

    assert go(os_backend, main) == [b"ctty ok", b"session leader", b"foreground"]


def test_ctrl_c_typed_on_the_terminal_interrupts_the_child(os_backend: str) -> None:
    script = 'trap "echo interrupted; exit 3" INT; echo ready; while :; do sleep 0.05; done'

    async def main(env: eio.Stdenv) -> tuple[list[bytes], ExitStatus]:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            child = await on_pty(sw, env, t, ["sh", "-c", script])
            r = BufRead.of_flow(t.master, max_size=1024)
            lines = [await r.line()]
            await eio.flow.copy_string("\x03", t.master)  # what Ctrl-C types
            # The terminal echoes ^C, then the child's trap answers.
            while lines[-1] != b"interrupted":
                lines.append((await r.line()).replace(b"^C", b""))
            return [line for line in lines if line], await child.await_()

    assert go(os_backend, main) == ([b"ready", b"interrupted"], Exited(3))


def test_login_tty_must_be_a_terminal(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> str:
        async with eio.Switch.run() as sw:
            r, _w = eio.process.pipe(sw, env.process_mgr)
            try:
                await eio.process.spawn(sw, env.process_mgr, ["true"], login_tty=eio.unix.fd_of(r))
            except ValueError as ex:
                return str(ex).replace(str(eio.unix.fd_of(r)), "N")
            return "started"

    assert go(os_backend, main) == "eio.process.spawn: login_tty: descriptor N is not a terminal"
