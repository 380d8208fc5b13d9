"""Eio's tests/process.md, in Python: child processes (``env.process_mgr``) on every OS backend.

Every test runs its program with `go`, which also checks that the run left
no descriptor open and no child unreaped.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path as OsPath
from typing import TypeVar

import eio
import pytest
from conftest import run_checked
from eio.process import ChildError, ExecutableNotFound, Exited, Signaled
from eio.unix import cwd_dir, fs_dir

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

_backend = ""


@pytest.fixture(autouse=True)
def _on_each_backend(os_backend: str) -> None:
    """Run every test of this module once per OS backend (`go` uses the one under test)."""
    global _backend
    _backend = os_backend


T = TypeVar("T")


def go(main: Callable[[eio.Stdenv], Awaitable[T]]) -> T:
    """Run ``main(env)`` on the backend under test; then check no descriptor is left open and no child is left unreaped."""
    return run_checked(_backend, main)


def cwd_path() -> eio.Path:
    """``env.cwd``: the current directory, sandboxed."""
    return eio.Path(cwd_dir())


def fs_path(path: str) -> eio.Path:
    """``env.fs / path``: the whole file system."""
    return eio.Path(fs_dir(), path)


# -- spawn and await ----------------------------------------------------------------------


def test_running_a_program(capfd: pytest.CaptureFixture[str]) -> None:
    async def main(env: eio.Stdenv) -> eio.process.ExitStatus:
        async with eio.Switch.run() as sw:
            t = await eio.process.spawn(sw, env.process_mgr, ["echo", "hello world"])
            return await t.await_()

    assert go(main) == Exited(0)
    assert capfd.readouterr().out == "hello world\n"


def test_signal_then_await_reports_the_signal() -> None:
    async def main(env: eio.Stdenv) -> str:
        async with eio.Switch.run() as sw:
            t = await eio.process.spawn(sw, env.process_mgr, ["sleep", "10"])
            t.signal(signal.SIGKILL)
            return str(await t.await_())

    assert go(main) == "Signaled (SIGKILL)"


def test_a_switch_kills_its_process_when_released() -> None:
    async def main(env: eio.Stdenv) -> eio.process.ExitStatus:
        async with eio.Switch.run() as sw:
            proc = await eio.process.spawn(sw, env.process_mgr, ["sleep", "10"])
        return await proc.await_()

    assert go(main) == Signaled(signal.SIGKILL)


def test_a_failing_switch_kills_its_process() -> None:
    procs: list[eio.process.Process] = []

    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            procs.append(await eio.process.spawn(sw, env.process_mgr, ["sleep", "10"]))
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        go(main)

    async def check(_env: eio.Stdenv) -> eio.process.ExitStatus:
        return await procs[0].await_()

    assert go(check) == Signaled(signal.SIGKILL)


def test_cancelling_a_waiter_does_not_kill_the_child() -> None:
    async def main(env: eio.Stdenv) -> list[object]:
        async with eio.Switch.run() as sw:
            t = await eio.process.spawn(sw, env.process_mgr, ["sleep", "10"])

            async def wait() -> str:
                return str(await t.await_())

            async def give_up() -> str:
                await eio.fiber.yield_()
                return "gave up"

            first = await eio.fiber.first(wait, give_up)
            # Still running: it is our SIGTERM that ends it, not a SIGKILL.
            t.signal(signal.SIGTERM)
            return [first, await t.await_()]

    assert go(main) == ["gave up", Signaled(signal.SIGTERM)]


def test_await_many_times(capfd: pytest.CaptureFixture[str]) -> None:
    async def main(env: eio.Stdenv) -> tuple[object, ...]:
        async with eio.Switch.run() as sw:
            t = await eio.process.spawn(sw, env.process_mgr, ["echo", "hello world"])
            return (await t.await_(), await t.await_(), await t.await_())

    assert go(main) == (Exited(0), Exited(0), Exited(0))
    assert capfd.readouterr().out == "hello world\n"


def test_signal_after_exit_does_nothing() -> None:
    async def main(env: eio.Stdenv) -> eio.process.ExitStatus:
        async with eio.Switch.run() as sw:
            t = await eio.process.spawn(sw, env.process_mgr, ["true"])
            status = await t.await_()
            t.signal(signal.SIGKILL)
            return status

    assert go(main) == Exited(0)


def test_pid_is_the_childs() -> None:
    async def main(env: eio.Stdenv) -> tuple[int, bytes]:
        async with eio.Switch.run() as sw:
            out = bytearray()
            t = await eio.process.spawn(sw, env.process_mgr, ["sh", "-c", "echo $$"], stdout=eio.flow.buffer_sink(out))
            await t.await_()
            return t.pid, bytes(out)

    pid, out = go(main)
    assert out == f"{pid}\n".encode()


def test_spawn_on_a_finished_switch_starts_nothing() -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            pass
        await eio.process.spawn(sw, env.process_mgr, ["echo", "not printed"])

    with pytest.raises(eio.SwitchFinished):
        go(main)


# -- standard streams ------------------------------------------------------------------------


def test_stdout_to_a_file(tmp_path: OsPath) -> None:
    async def main(env: eio.Stdenv) -> bytes:
        path = fs_path(str(tmp_path / "process-test.txt"))
        async with path.open_out(create="exclusive", perm=0o600) as stdout:
            await eio.process.run(env.process_mgr, ["echo", "Hello"], stdout=stdout)
        return await path.load()

    assert go(main) == b"Hello\n"


def test_stdin_from_a_file(tmp_path: OsPath) -> None:
    (tmp_path / "in.txt").write_bytes(b"from a file\n")

    async def main(env: eio.Stdenv) -> bytes:
        async with fs_path(str(tmp_path / "in.txt")).open_in() as f:
            return await eio.process.parse_out(env.process_mgr, eio.BufRead.take_all, ["cat"], stdin=f)

    assert go(main) == b"from a file\n"


def test_piping_data_to_and_from_the_child() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        stdin = eio.flow.string_source("one\ntwo\nthree\n")
        return (await eio.process.parse_out(env.process_mgr, eio.BufRead.line, ["wc", "-l"], stdin=stdin)).strip()

    assert go(main) == b"3"


def test_a_sink_not_backed_by_a_descriptor() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        buf = bytearray()
        await eio.process.run(env.process_mgr, ["echo", "Hello, world"], stdout=eio.flow.buffer_sink(buf))
        return bytes(buf)

    assert go(main) == b"Hello, world\n"


def test_stderr_to_a_sink_not_backed_by_a_descriptor() -> None:
    async def main(env: eio.Stdenv) -> tuple[bytes, bytes]:
        out, err = bytearray(), bytearray()
        await eio.process.run(
            env.process_mgr,
            ["sh", "-c", "echo to-out; echo to-err >&2"],
            stdout=eio.flow.buffer_sink(out),
            stderr=eio.flow.buffer_sink(err),
        )
        return bytes(out), bytes(err)

    assert go(main) == (b"to-out\n", b"to-err\n")


class Chunks:
    """A source that is not a descriptor and gives its data a piece at a time, switching fibers between."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self._chunks = list(chunks)

    async def single_read(self, buf: memoryview, /) -> int:
        await eio.fiber.yield_()
        if not self._chunks:
            raise eio.EndOfFile()
        chunk = self._chunks.pop(0)
        buf[: len(chunk)] = chunk
        return len(chunk)


def test_stdin_and_stdout_both_arbitrary_flows() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        out = bytearray()
        await eio.process.run(
            env.process_mgr,
            ["tr", "a-z", "A-Z"],
            stdin=Chunks([b"one ", b"two ", b"three\n"]),
            stdout=eio.flow.buffer_sink(out),
        )
        return bytes(out)

    assert go(main) == b"ONE TWO THREE\n"


def test_await_waits_for_the_copying_fibers() -> None:
    # The child exits while its output is still being copied into the sink.
    async def main(env: eio.Stdenv) -> tuple[eio.process.ExitStatus, int]:
        out = bytearray()
        async with eio.Switch.run() as sw:
            t = await eio.process.spawn(
                sw, env.process_mgr, ["head", "-c", "1000000", "/dev/zero"], stdout=eio.flow.buffer_sink(out)
            )
            status = await t.await_()
            return status, len(out)

    assert go(main) == (Exited(0), 1_000_000)


def test_a_child_that_does_not_read_all_its_stdin() -> None:
    # The rest of the input can't be delivered: that is reported, not silently dropped.
    async def main(env: eio.Stdenv) -> bytes:
        return await eio.process.parse_out(
            env.process_mgr,
            eio.BufRead.take_all,
            ["head", "-c", "5"],
            stdin=eio.flow.string_source(b"x" * 1_000_000),
        )

    with pytest.raises(eio.process.StdinNotRead, match=r"head \(pid \d+\) stopped reading its stdin"):
        go(main)


def test_the_child_gets_only_its_standard_streams() -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        out = bytearray()
        # A descriptor of ours that is inheritable must still not reach the child.
        r, w = os.pipe()
        os.set_inheritable(r, True)
        try:
            await eio.process.run(
                env.process_mgr,
                ["sh", "-c", "ls /proc/self/fd"],
                stdin=eio.flow.string_source(""),
                stdout=eio.flow.buffer_sink(out),
            )
        finally:
            os.close(r)
            os.close(w)
        return sorted(out.decode().split())

    # 0, 1, 2 and the descriptor ls opened to list the directory.
    assert go(main) == ["0", "1", "2", "3"]


# -- directories ------------------------------------------------------------------------------


def test_changing_directory_unconfined(capfd: pytest.CaptureFixture[str]) -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.run(env.process_mgr, ["env", "pwd"], cwd=fs_path("/"))

    go(main)
    assert capfd.readouterr().out == "/\n"


def test_changing_directory_confined(
    capfd: pytest.CaptureFixture[str], tmp_path: OsPath, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    async def main(env: eio.Stdenv) -> None:
        subdir = cwd_path() / "proc-sub-dir"
        await subdir.mkdir(perm=0o700)
        async with subdir.open_subtree() as sub:
            await (sub / "test-cwd").save("test-data", create="exclusive", perm=0o600)
            await eio.process.run(env.process_mgr, ["cat", "test-cwd"], cwd=sub)

    go(main)
    assert capfd.readouterr().out == "test-data"


def test_a_directory_outside_the_sandbox_is_refused() -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.run(env.process_mgr, ["cat", "test-cwd"], cwd=cwd_path() / "..")

    with pytest.raises(eio.fs.PermissionDenied) as info:
        go(main)
    assert info.value.__notes__ == ["opening <cwd:..> as a child's directory"]


def test_cwd_that_is_not_a_directory(tmp_path: OsPath) -> None:
    (tmp_path / "file").write_bytes(b"")

    async def main(env: eio.Stdenv) -> None:
        await eio.process.run(env.process_mgr, ["pwd"], cwd=fs_path(str(tmp_path / "file")))

    with pytest.raises(eio.Io) as info:
        go(main)
    assert str(info.value) == f"[Errno {errno.ENOTDIR}] Not a directory: '<fs:{tmp_path}/file>'"
    assert info.value.__notes__ == [f"opening <fs:{tmp_path}/file> as a child's directory"]


# -- errors -------------------------------------------------------------------------------------


def test_a_failed_command_shows_its_arguments_quoted() -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.run(env.process_mgr, ["sh", "-c", "exit 3", "", "foo", '"bar"'])

    with pytest.raises(ChildError) as info:
        go(main)
    assert info.value.status == Exited(3)
    assert str(info.value) == "Exited (code 3)"
    assert info.value.__notes__ == ['running command: sh -c "exit 3" "" foo "\\"bar\\""']


def test_killed_by_a_signal_is_a_child_error() -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.run(env.process_mgr, ["sh", "-c", "kill -TERM $$"])

    with pytest.raises(ChildError) as info:
        go(main)
    assert info.value.status == Signaled(signal.SIGTERM)
    assert str(info.value) == "Signaled (SIGTERM)"
    assert info.value.__notes__ == ['running command: sh -c "kill -TERM $$"']


def test_too_many_arguments() -> None:
    big = "x" * (1024 * 1024)

    async def main(env: eio.Stdenv) -> None:
        await eio.process.run(env.process_mgr, ["echo", *([big] * 8)])

    with pytest.raises(eio.process.ArgumentListTooLong) as info:
        go(main)
    assert str(info.value) == "[Errno 7] Argument list too long"


def test_a_file_that_is_not_executable(tmp_path: OsPath, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def main(env: eio.Stdenv) -> None:
        f = cwd_path() / "ocamlrocks"
        await f.save("#!/bin/sh\necho hi\n", create="exclusive", perm=0o600)
        await eio.process.run(env.process_mgr, ["./ocamlrocks"])

    with pytest.raises(eio.process.PermissionDenied) as info:
        go(main)
    assert str(info.value) == "[Errno 13] Permission denied: './ocamlrocks'"
    assert isinstance(info.value, PermissionError)


def test_an_executable_in_no_runnable_format(tmp_path: OsPath, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def main(env: eio.Stdenv) -> None:
        f = cwd_path() / "badfmt"
        await f.save(b"\x00\x01 not a binary \xff", create="exclusive", perm=0o700)
        await eio.process.run(env.process_mgr, ["./badfmt"])

    with pytest.raises(eio.process.ExecutableFormatError) as info:
        go(main)
    assert str(info.value) == "[Errno 8] Exec format error: './badfmt'"


def test_a_script_whose_interpreter_is_missing(tmp_path: OsPath, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def main(env: eio.Stdenv) -> None:
        f = cwd_path() / "badinterp"
        await f.save("#!/nonexistent/interpreter\n", create="exclusive", perm=0o700)
        await eio.process.run(env.process_mgr, ["./badinterp"])

    with pytest.raises(ExecutableNotFound) as info:
        go(main)
    assert str(info.value) == "[Errno 2] Executable not found: './badinterp'"


def test_a_missing_executable() -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.run(env.process_mgr, ["eio-no-such-program", "arg"])

    with pytest.raises(ExecutableNotFound) as info:
        go(main)
    assert str(info.value) == "[Errno 2] Executable not found: 'eio-no-such-program'"
    assert info.value.filename == "eio-no-such-program"


def test_a_missing_executable_with_pipes_leaks_nothing() -> None:
    async def main(env: eio.Stdenv) -> None:
        await eio.process.run(
            env.process_mgr,
            ["./eio-no-such-program"],
            stdin=eio.flow.string_source("x"),
            stdout=eio.flow.buffer_sink(bytearray()),
            stderr=eio.flow.buffer_sink(bytearray()),
        )

    with pytest.raises(ExecutableNotFound, match="eio-no-such-program"):
        go(main)


def test_an_explicit_executable() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        # argv[0] is only what the program sees as its name.
        return await eio.process.parse_out(
            env.process_mgr, eio.BufRead.take_all, ["my-name", "-c", 'echo "$0"'], executable="/bin/sh"
        )

    assert go(main) == b"my-name\n"


def test_arguments_must_be_a_non_empty_list_of_strings() -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        errors: list[str] = []
        bad: list[object] = [[], "echo hello", ["echo", b"bytes"]]
        for args in bad:
            try:
                await eio.process.run(env.process_mgr, args)  # pyright: ignore[reportArgumentType] - testing bad input
            except (TypeError, ValueError) as ex:
                errors.append(f"{type(ex).__name__}: {ex}")
        return errors

    assert go(main) == [
        "ValueError: args is empty: the first argument must name the program to run",
        "TypeError: args must be a list of strings (the program, then its arguments), not one string: "
        "use ['echo', 'hello'], not 'echo hello'",
        "TypeError: each argument must be a str, not bytes: b'bytes'",
    ]


def test_is_success_for_run() -> None:
    async def ok(env: eio.Stdenv) -> None:
        await eio.process.run(env.process_mgr, ["sh", "-c", "exit 3"], is_success=lambda c: c == 3)

    go(ok)

    async def fails(env: eio.Stdenv) -> None:
        await eio.process.run(env.process_mgr, ["sh", "-c", "exit 0"], is_success=lambda c: c == 3)

    with pytest.raises(ChildError) as info:
        go(fails)
    assert str(info.value) == "Exited (code 0)"
    assert info.value.__notes__ == ['running command: sh -c "exit 0"']


def test_is_success_for_parse_out() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        return await eio.process.parse_out(
            env.process_mgr, eio.BufRead.line, ["sh", "-c", "echo 123; exit 5"], is_success=lambda c: c == 5
        )

    assert go(main) == b"123"


def test_parse_out_adds_the_command_to_io_errors() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        return await eio.process.parse_out(env.process_mgr, eio.BufRead.take_all, ["eio-no-such-program"])

    with pytest.raises(ExecutableNotFound) as info:
        go(main)
    assert info.value.__notes__ == ["running command: eio-no-such-program"]


def test_await_exn() -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            t = await eio.process.spawn(sw, env.process_mgr, ["sh", "-c", "exit 4"])
            await eio.process.await_exn(t, is_success=lambda c: c == 4)
            t = await eio.process.spawn(sw, env.process_mgr, ["sh", "-c", "exit 4"])
            await eio.process.await_exn(t)

    with pytest.raises(ChildError) as info:
        go(main)
    assert info.value.status == Exited(4)


# -- environment -----------------------------------------------------------------------------------


def test_the_default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":1")

    async def main(env: eio.Stdenv) -> bytes:
        return await eio.process.parse_out(env.process_mgr, eio.BufRead.line, ["sh", "-c", "echo $DISPLAY"])

    assert go(main) == b":1"


def test_a_custom_environment() -> None:
    async def main(env: eio.Stdenv) -> bytes:
        return await eio.process.parse_out(
            env.process_mgr, eio.BufRead.line, ["sh", "-c", "echo $DISPLAY"], env={"DISPLAY": ":2"}
        )

    assert go(main) == b":2"


def test_path_is_looked_up_in_the_given_environment(tmp_path: OsPath) -> None:
    prog = tmp_path / "eio-test-prog"
    prog.write_text("#!/bin/sh\necho found it\n")
    prog.chmod(stat.S_IRWXU)

    async def main(env: eio.Stdenv) -> bytes:
        return await eio.process.parse_out(
            env.process_mgr, eio.BufRead.line, ["eio-test-prog"], env={"PATH": f"/nonexistent:{tmp_path}"}
        )

    assert go(main) == b"found it"


# -- domains and other spawners ----------------------------------------------------------------------


def test_spawning_in_a_new_domain(capfd: pytest.CaptureFixture[str]) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def in_domain() -> None:
            await eio.process.run(env.process_mgr, ["echo", "Hello from another domain"])

        await eio.domain_manager.run(env.domain_mgr, in_domain)

    go(main)
    assert capfd.readouterr().out == "Hello from another domain\n"


def test_other_process_spawning_is_not_disturbed(capfd: pytest.CaptureFixture[str]) -> None:
    async def main(env: eio.Stdenv) -> int:
        p = subprocess.Popen(["/usr/bin/env", "echo", "hi"])
        async with eio.Switch.run() as sw:
            t = await eio.process.spawn(sw, env.process_mgr, ["true"])
            await t.await_()
        await eio.time.sleep(env.mono_clock, 0.01)
        return p.wait()

    assert go(main) == 0
    assert capfd.readouterr().out == "hi\n"


# -- formatting ------------------------------------------------------------------------------------------


def test_pp_args() -> None:
    assert eio.process.pp_args(["sh", "-c", "exit 3", "", "foo", '"bar"']) == 'sh -c "exit 3" "" foo "\\"bar\\""'
    assert eio.process.pp_args(["a\\b", "it's", "tab\there", "caf\u00e9"]) == ('"a\\\\b" "it\'s" "tab\\there" "caf\\195\\169"')
    assert eio.process.pp_args([]) == ""
