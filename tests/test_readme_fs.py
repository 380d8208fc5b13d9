"""Eio's README, section "Filesystem Access", on the io_uring backend and on the mock's in-memory file system.

Each ``Eio_main.run`` block of the README is one `run` here, in a fresh
temporary directory that is the current directory. Eio prints errors as
``Eio.Io Fs Permission_denied _, creating directory <cwd:../dir2>``; here the
same facts read ``eio.fs.PermissionDenied, creating directory <cwd:../dir2>``
(the class, then the exception's notes).
"""

from __future__ import annotations

import errno
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path as StdPath

import eio
import pytest
from conftest import Trace
from fsenv import FsEnv, make, names


@pytest.fixture(autouse=True)
def tmp_cwd(tmp_path: StdPath, monkeypatch: pytest.MonkeyPatch) -> Iterator[StdPath]:
    """The README's blocks run in a fresh current directory."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture(params=names())
def fsenv(request: pytest.FixtureRequest, tmp_cwd: StdPath) -> FsEnv:
    """The real file system (io_uring) or the mock's in-memory one."""
    return make(str(request.param))


def run(fsenv: FsEnv, fn: Callable[[eio.Path], Awaitable[None]]) -> None:
    """``Eio_main.run @@ fun env -> fn (Eio.Stdenv.cwd env)`` (on io_uring, checking no descriptor leaked)."""
    fsenv.run(lambda cwd, fs: fn(cwd))


def err(ex: BaseException) -> str:
    notes: list[str] = getattr(ex, "__notes__", [])
    return ", ".join([f"{type(ex).__module__}.{type(ex).__qualname__}", *notes])


async def try_save(path: eio.Path, data: str) -> None:
    try:
        await path.save(data, create="exclusive", perm=0o600)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"save {path} : ok")


async def try_mkdir(path: eio.Path) -> None:
    try:
        await path.mkdir(perm=0o700)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"mkdir {path} : ok")


def test_readme_filesystem_access(trace: Trace, tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    # You can save a whole file using save:
    async def save(cwd: eio.Path) -> None:
        path = cwd / "test.txt"
        eio.traceln(f"Saving to {path}")
        await path.save("line one\nline two\n", create="exclusive", perm=0o600)

    run(fsenv, save)
    assert trace.lines() == ["Saving to <cwd:test.txt>"]
    assert fsenv.read_bytes("test.txt") == b"line one\nline two\n"

    # ... and stream its lines:
    async def lines(cwd: eio.Path) -> None:
        async for line in (cwd / "test.txt").lines():
            eio.traceln(f"Processing {line!r}")

    run(fsenv, lines)
    assert trace.lines() == ["Processing b'line one'", "Processing b'line two'"]

    # Access to cwd only grants access to that sub-tree:
    async def mkdirs(cwd: eio.Path) -> None:
        await try_mkdir(cwd / "dir1")
        await try_mkdir(cwd / "../dir2")
        await try_mkdir(cwd / "/tmp/dir3")

    run(fsenv, mkdirs)
    assert trace.lines() == [
        "mkdir <cwd:dir1> : ok",
        "eio.fs.PermissionDenied, creating directory <cwd:../dir2>",
        "eio.fs.PermissionDenied, creating directory <cwd:/tmp/dir3>",
    ]

    # The checks also apply to following symlinks:
    tmp = tempfile.gettempdir() if fsenv.name == "uring" else "/tmp"
    if fsenv.name == "mock":
        fsenv.mkdir(tmp)
    fsenv.symlink("dir1", "link-to-dir1")
    fsenv.symlink(tmp, "link-to-tmp")

    async def through_links(cwd: eio.Path) -> None:
        await try_save(cwd / "dir1/file1", "A")
        await try_save(cwd / "link-to-dir1/file2", "B")
        await try_save(cwd / "link-to-tmp/file3", "C")

    run(fsenv, through_links)
    assert trace.lines() == [
        "save <cwd:dir1/file1> : ok",
        "save <cwd:link-to-dir1/file2> : ok",
        "eio.fs.PermissionDenied, opening <cwd:link-to-tmp/file3>",
    ]
    assert sorted(fsenv.listdir("dir1")) == ["file1", "file2"]
    assert "file3" not in fsenv.listdir(tmp)

    # open_subtree creates a restricted capability to a subdirectory:
    async def subtree(cwd: eio.Path) -> None:
        async with (cwd / "dir1").open_subtree() as dir1:
            await try_save(dir1 / "file4", "D")
            await try_save(dir1 / "../file5", "E")

    run(fsenv, subtree)
    assert trace.lines() == [
        "save <dir1:file4> : ok",
        "eio.fs.PermissionDenied, opening <dir1:../file5>",
    ]
    assert "file5" not in fsenv.listdir()


def test_readme_sandbox_error_in_full(tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    """The escape attempt's exception itself: class, errno, message, notes."""

    async def escape(cwd: eio.Path) -> None:
        await (cwd / "../dir2").mkdir(perm=0o700)

    with pytest.raises(eio.fs.PermissionDenied) as info:
        run(fsenv, escape)
    ex = info.value
    assert isinstance(ex, PermissionError)
    assert ex.errno == errno.EXDEV
    assert str(ex) == "[Errno 18] Path leads outside the sandboxed directory: '..'"
    assert ex.__notes__ == ["creating directory <cwd:../dir2>"]
    assert "dir2" not in fsenv.listdir("..")
