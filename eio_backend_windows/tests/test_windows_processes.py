"""Child processes the Windows way, run here: the shared layer's Windows branches with ``sys.platform`` faked.

Only `eio.unix._process` sees ``win32``: it then gives a child's directory as
a path checked by the directory capability (`PathDir.native_checked`), waits
for the exit through ``Popen.wait`` on a thread (Windows' ``waitpid`` takes
a handle, not a PID), and searches ``PATH`` with the ``PATHEXT`` suffixes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path as OsPath
from types import SimpleNamespace

import eio
import eio.unix._process as unix_process
import pytest
from eio.process import Exited

from eio_backend_windows import run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fakes Windows on a POSIX system")


@pytest.fixture
def windows_processes(tmp_path: OsPath, monkeypatch: pytest.MonkeyPatch) -> OsPath:
    """``tmp/box`` as the current directory, a program ``hello.cmd`` in ``tmp/bin`` on ``PATH``, Windows in `_process`."""
    box = tmp_path / "box"
    (box / "sub").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "hello.cmd"
    script.write_text("#!/bin/sh\necho hello from $(pwd)\nexit 3\n")
    script.chmod(0o755)
    monkeypatch.chdir(box)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PATHEXT", ".com;.exe;.cmd")  # lower case: this file system is case-sensitive
    monkeypatch.setattr(unix_process, "sys", SimpleNamespace(platform="win32"))
    return box


def test_a_child_in_a_sandboxed_directory_found_by_pathext(windows_processes: OsPath) -> None:
    box = windows_processes

    async def main(env: eio.Stdenv) -> tuple[str, eio.process.ExitStatus]:
        buf = bytearray()
        async with eio.Switch.run() as sw:
            proc = await eio.process.spawn(
                sw, env.process_mgr, ["hello"], cwd=env.cwd / "sub", stdout=eio.flow.buffer_sink(buf)
            )
            status = await proc.await_()
        return buf.decode(), status

    assert run(main, path_dirs=True) == (f"hello from {box / 'sub'}\n", Exited(3))


def test_a_child_directory_outside_the_sandbox_is_refused(windows_processes: OsPath) -> None:
    async def main(env: eio.Stdenv) -> str:
        async with eio.Switch.run() as sw:
            try:
                await eio.process.spawn(sw, env.process_mgr, ["hello"], cwd=env.cwd / "..")
            except eio.fs.PermissionDenied as ex:
                return f"{ex.strerror}; {'; '.join(getattr(ex, '__notes__', []))}"
        return "not refused"

    assert run(main, path_dirs=True) == (
        "Path leads outside the sandboxed directory ('..' above the directory); opening <cwd:..> as a child's directory"
    )


def test_without_a_checked_path_the_child_directory_is_refused(windows_processes: OsPath) -> None:
    async def main(env: eio.Stdenv) -> str:
        async with eio.Switch.run() as sw:
            try:
                await eio.process.spawn(sw, env.process_mgr, ["hello"], cwd=env.cwd / "sub")
            except eio.Io as ex:
                return f"{type(ex).__name__}: {ex}"
        return "not refused"

    # The descriptor-walking directory of other systems can't name a path for Windows.
    assert run(main, path_dirs=False) == (
        "NotNative: <cwd:sub>: a child's directory must be a directory of the operating system"
    )
