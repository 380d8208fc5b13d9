"""Pipes between processes (`eio.process.pipe`) and `eio.process.parse_out` parsing while the child runs.

The real-process tests run on every OS backend and check that a run leaves no
descriptor open and no child unreaped; the mock's in-memory pipes are tested
with scripted programs.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path as OsPath
from typing import TypeVar, cast

import eio
import eio.unix
import eio.unix.pty
import pytest
from conftest import run_checked
from eio.buf_read import BufferLimitExceeded, ParseError
from eio.net import ConnectionReset
from eio.process import ChildError, Exited, Signaled, StdinNotRead
from eio_mock.process import MockProcessManager

import eio_mock

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

T = TypeVar("T")


go = run_checked  # main(env) on a backend, checking nothing is left open or unreaped


# -- pipes ------------------------------------------------------------------------------------------


def test_a_pipe_from_one_child_into_another(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> tuple[bytes, list[object]]:
        out = bytearray()
        async with eio.Switch.run() as sw:
            r, w = eio.process.pipe(sw, env.process_mgr)
            p1 = await eio.process.spawn(sw, env.process_mgr, ["printf", "hello\\nworld\\n"], stdout=w)
            p2 = await eio.process.spawn(sw, env.process_mgr, ["tr", "a-z", "A-Z"], stdin=r, stdout=eio.flow.buffer_sink(out))
            # The children have their own copies: ours must go for `tr` to see the end.
            await w.close()
            await r.close()
            statuses: list[object] = [await p1.await_(), await p2.await_()]
        return bytes(out), statuses

    assert go(os_backend, main) == (b"HELLO\nWORLD\n", [Exited(0), Exited(0)])


def test_a_pipe_between_a_fiber_and_a_child(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        out = bytearray()
        async with eio.Switch.run() as sw:
            r, w = eio.process.pipe(sw, env.process_mgr)
            proc = await eio.process.spawn(sw, env.process_mgr, ["cat"], stdin=r, stdout=eio.flow.buffer_sink(out))
            await r.close()
            data = bytes(range(256)) * 400  # more than a pipe holds: the writer must wait for cat
            await eio.flow.write(w, [data])
            await w.close()
            assert await proc.await_() == Exited(0)
        assert bytes(out) == data
        return bytes(out[:3])

    assert go(os_backend, main) == b"\x00\x01\x02"


def test_reading_and_writing_a_pipe_in_one_process(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        async with eio.Switch.run() as sw:
            r, w = eio.process.pipe(sw, env.process_mgr)

            async def writer() -> None:
                await eio.flow.copy_string("through the pipe", w)
                await w.close()

            eio.fiber.fork(sw, writer)
            return await eio.flow.read_all(r)

    assert go(os_backend, main) == b"through the pipe"


def test_writing_to_a_pipe_whose_reader_closed(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> str:
        async with eio.Switch.run() as sw:
            r, w = eio.process.pipe(sw, env.process_mgr)
            await r.close()
            with pytest.raises(ConnectionReset) as info:
                await eio.flow.write(w, [b"lost"])
            return str(info.value)

    assert go(os_backend, main) == "pipe (write end): the reader went away"


def test_using_a_closed_pipe_end(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        async with eio.Switch.run() as sw:
            r, w = eio.process.pipe(sw, env.process_mgr)
            await r.close()
            await w.close()
            errors: list[str] = []
            with pytest.raises(eio.ResourceClosed) as info:
                await eio.flow.single_read(r, bytearray(4))
            errors.append(str(info.value))
            with pytest.raises(eio.ResourceClosed) as info:
                await eio.flow.write(w, [b"x"])
            errors.append(str(info.value))
            return errors

    assert go(os_backend, main) == [
        "[Errno 9] read: the pipe (read end) is closed",
        "[Errno 9] write: the pipe (write end) is closed",
    ]


def test_the_switch_closes_both_ends(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            eio.process.pipe(sw, env.process_mgr)

    go(os_backend, main)  # `go` checks the descriptors are closed


def test_pipe_checks_its_arguments() -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        msgs: list[str] = []
        async with eio.Switch.run() as sw:
            with pytest.raises(TypeError) as info:
                eio.process.pipe(sw, object())  # pyright: ignore[reportArgumentType] - the wrong type on purpose
            msgs.append(str(info.value).split(" <", 1)[0])
            with pytest.raises(TypeError) as info:
                eio.process.pipe("sw", env.process_mgr)  # pyright: ignore[reportArgumentType] - the wrong type on purpose
            msgs.append(str(info.value))
        return msgs

    assert go("mock", main) == [
        "eio.process.pipe: the process manager",
        "eio.process.pipe: sw must be an eio.Switch, got str",
    ]


def test_an_in_memory_pipe_between_mock_programs() -> None:
    async def upper(child: eio_mock.process.Child) -> int:
        data = await eio.flow.read_all(child.stdin)
        await eio.flow.write(child.stdout, [data.upper()])
        return 0

    async def hello(child: eio_mock.process.Child) -> int:
        await eio.flow.write(child.stdout, [b"hello\n"])
        return 0

    async def main(env: eio.Stdenv) -> bytes:
        eio_mock.process.register(cast(MockProcessManager, env.process_mgr), "upper", run=upper)
        eio_mock.process.register(cast(MockProcessManager, env.process_mgr), "hello", run=hello)
        out = bytearray()
        async with eio.Switch.run() as sw:
            r, w = eio.process.pipe(sw, env.process_mgr)
            p1 = await eio.process.spawn(sw, env.process_mgr, ["hello"], stdout=w)
            p2 = await eio.process.spawn(sw, env.process_mgr, ["upper"], stdin=r, stdout=eio.flow.buffer_sink(out))
            await p1.await_()
            await w.close()  # in memory, the writer's end is not copied: close it once the writer is done
            await p2.await_()
        return bytes(out)

    assert go("mock", main) == b"HELLO\n"


# -- parse_out --------------------------------------------------------------------------------------


async def _count_lines(r: eio.BufRead) -> int:
    n = 0
    async for _line in r.lines():
        n += 1
    return n


def test_parse_out_parses_while_the_child_runs_in_bounded_memory(os_backend: str) -> None:
    # 588,895 bytes of output, parsed with a 16-byte buffer: the output is never held whole.
    async def main(env: eio.Stdenv) -> int:
        return await eio.process.parse_out(env.process_mgr, _count_lines, ["seq", "1", "100000"], max_size=16)

    assert go(os_backend, main) == 100000


def test_parse_out_buffer_limit(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.parse_out(env.process_mgr, eio.BufRead.take_all, ["seq", "1", "100"], max_size=16)

    with pytest.raises(BufferLimitExceeded) as info:
        go(os_backend, main)
    assert info.value.__notes__ == ["running command: seq 1 100"]


def test_a_parse_error_kills_the_child_at_once(os_backend: str) -> None:
    # `yes` never ends by itself: only the early parse error can stop it.
    async def expect_no(r: eio.BufRead) -> bytes:
        await r.string("no\n")
        return await r.take_all()

    async def main(env: eio.Stdenv) -> None:
        await eio.process.parse_out(env.process_mgr, expect_no, ["yes"])

    with pytest.raises(ParseError) as info:
        go(os_backend, main)
    assert str(info.value) == 'Expected "no\\n" but got "y\\ny" (at offset 0)'
    assert info.value.__notes__ == ["running command: yes"]


def test_parse_out_reports_a_failed_child(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.parse_out(env.process_mgr, eio.BufRead.take_all, ["sh", "-c", "echo x; exit 3"])

    with pytest.raises(ChildError) as info:
        go(os_backend, main)
    assert info.value.status == Exited(3)
    assert info.value.__notes__ == ['running command: sh -c "echo x; exit 3"']


def test_a_child_that_stops_reading_its_stdin_is_reported(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        return await eio.process.parse_out(
            env.process_mgr, eio.BufRead.take_all, ["head", "-c", "5"], stdin=eio.flow.string_source(b"x" * 1_000_000)
        )

    with pytest.raises(StdinNotRead) as info:
        go(os_backend, main)
    err = info.value
    assert err.status == Exited(0)
    assert err.program == "head"
    assert str(err).startswith("[Errno 32] head (pid ")
    assert str(err).endswith(") stopped reading its stdin before the end of the input")
    assert err.__notes__ == ["running command: head -c 5"]


def test_a_failed_child_that_stops_reading_its_stdin(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.run(
            env.process_mgr, ["sh", "-c", "head -c 1 >/dev/null; exit 4"], stdin=eio.flow.string_source(b"x" * 1_000_000)
        )

    with pytest.raises(ChildError) as info:
        go(os_backend, main)
    assert info.value.status == Exited(4)
    notes = info.value.__notes__
    assert len(notes) == 2 and "stopped reading its stdin" in notes[0]
    assert notes[1] == 'running command: sh -c "head -c 1 >/dev/null; exit 4"'


def test_await_reports_unread_stdin_with_the_status(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> object:
        async with eio.Switch.run() as sw:
            proc = await eio.process.spawn(
                sw, env.process_mgr, ["sh", "-c", "exec 0<&-; kill -TERM $$"], stdin=eio.flow.string_source(b"y" * 1_000_000)
            )
            with pytest.raises(StdinNotRead) as info:
                await proc.await_()
            return info.value.status

    assert go(os_backend, main) == Signaled(signal.SIGTERM)


def test_parse_out_on_the_mock() -> None:
    async def numbers(child: eio_mock.process.Child) -> int:
        for i in range(1, 1001):
            await eio.flow.write(child.stdout, [b"%d\n" % i])
        return 0

    async def main(env: eio.Stdenv) -> int:
        eio_mock.process.register(cast(MockProcessManager, env.process_mgr), "numbers", run=numbers)
        return await eio.process.parse_out(env.process_mgr, _count_lines, ["numbers"], max_size=8)

    assert go("mock", main) == 1000


def test_parse_out_checks_max_size() -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.parse_out(env.process_mgr, eio.BufRead.take_all, ["x"], max_size=0)

    with pytest.raises(ValueError, match="max_size must be a positive int, got 0"):
        go("mock", main)


# -- extra inherited descriptors, a directory capability as the child's cwd ---------------------------


def test_a_child_writes_through_an_inherited_descriptor(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        async with eio.Switch.run() as sw:
            r, w = eio.process.pipe(sw, env.process_mgr)
            n = cast(eio.unix.FdFlow, w).fileno()
            code = f"import os; os.write({n}, b'via-fd-{n}\\n')"
            proc = await eio.process.spawn(sw, env.process_mgr, [sys.executable, "-c", code], pass_fds=[w])
            await w.close()
            await eio.process.await_exn(proc)
            return await eio.flow.read_all(r)

    data = go(os_backend, main)
    assert data.startswith(b"via-fd-") and data.endswith(b"\n")


def test_pass_fds_takes_numbers_and_nothing_else_is_inherited(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        out = bytearray()
        r, w = os.pipe()
        try:
            async with eio.Switch.run() as sw:
                proc = await eio.process.spawn(
                    sw, env.process_mgr, ["sh", "-c", "ls /proc/self/fd"], pass_fds=[r], stdout=eio.flow.buffer_sink(out)
                )
                await eio.process.await_exn(proc)
        finally:
            os.close(r)
            os.close(w)
        return sorted(out.decode().split(), key=int)

    fds = go(os_backend, main)
    # 0, 1, 2, the passed descriptor, and the one ls opened to list the directory.
    assert len(fds) == 5 and fds[:3] == ["0", "1", "2"]


def test_pass_fds_bad_input(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        msgs: list[str] = []
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        async with eio.Switch.run() as sw:
            bad: list[object] = [[r], ["3"], [True], [-1], 3]
            for pass_fds in bad:
                with pytest.raises((TypeError, ValueError)) as info:
                    await eio.process.spawn(sw, env.process_mgr, ["true"], pass_fds=pass_fds)  # pyright: ignore[reportArgumentType] - wrong on purpose
                msgs.append(f"{type(info.value).__name__}: {info.value}".replace(f" {r} ", " N "))
            src, sink = eio.process.pipe(sw, env.process_mgr)
            await sink.close()
            with pytest.raises(eio.ResourceClosed):
                await eio.process.spawn(sw, env.process_mgr, ["true"], pass_fds=[sink])
            await src.close()
        return msgs

    assert go(os_backend, main) == [
        "ValueError: eio.process.spawn: pass_fds: descriptor N is not open",
        "TypeError: eio.process.spawn: pass_fds items must be descriptors (int) or have fileno(), got '3'",
        "TypeError: eio.process.spawn: pass_fds items must be descriptors (int) or have fileno(), got True",
        "ValueError: eio.process.spawn: pass_fds: -1 is not a descriptor",
        "TypeError: eio.process.spawn: pass_fds must be a list of descriptors, got int",
    ]


def test_pass_fds_on_the_mock_is_a_clear_error() -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            await eio.process.spawn(sw, env.process_mgr, ["true"], pass_fds=[1])

    with pytest.raises(TypeError, match="pass_fds needs an operating-system process manager; <mock process manager"):
        go("mock", main)


def test_login_tty_on_the_mock_is_a_clear_error() -> None:
    master, slave = os.openpty()

    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            await eio.process.spawn(sw, env.process_mgr, ["true"], login_tty=slave)

    try:
        with pytest.raises(TypeError, match="login_tty needs an operating-system process manager; <mock process manager"):
            go("mock", main)
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("proc_fd", [True, False], ids=["cwd-by-proc", "cwd-by-fchdir"])
def test_login_tty_with_a_cwd(os_backend: str, tmp_path: OsPath, proc_fd: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without /proc the child changes directory in the same step that takes the terminal.
    import eio.unix._process as unix_process

    monkeypatch.setattr(unix_process, "_PROC_FD", proc_fd and getattr(unix_process, "_PROC_FD"))
    (tmp_path / "box").mkdir()

    async def main(env: eio.Stdenv) -> bytes:
        async with eio.Switch.run() as sw:
            t = eio.unix.pty.open_pty(sw)
            script = 'pwd; exec 3<>/dev/tty && echo "ctty ok"; read keep_open'
            await eio.process.spawn(
                sw, env.process_mgr, ["sh", "-c", script], cwd=env.fs / str(tmp_path / "box"), login_tty=t.slave
            )
            r = eio.BufRead.of_flow(t.master, max_size=4096)
            return await r.line() + b"|" + await r.line()

    assert go(os_backend, main) == str(tmp_path / "box").encode() + b"|ctty ok"


def test_a_childs_cwd_is_a_sandboxed_capability(os_backend: str, tmp_path: OsPath) -> None:
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "inside.txt").write_bytes(b"in the box\n")
    (tmp_path / "box" / "out").symlink_to(tmp_path)

    async def main(env: eio.Stdenv) -> tuple[bytes, str]:
        out = bytearray()
        async with (env.fs / str(tmp_path / "box")).open_subtree() as box:
            await eio.process.run(env.process_mgr, ["cat", "inside.txt"], cwd=box, stdout=eio.flow.buffer_sink(out))
            # A symlink leading out of the capability is refused, as `..` is.
            with pytest.raises(eio.fs.PermissionDenied) as info:
                await eio.process.run(env.process_mgr, ["pwd"], cwd=box / "out")
        return bytes(out), info.value.__notes__[0]

    assert go(os_backend, main) == (b"in the box\n", "opening <box:out> as a child's directory")
