"""The Windows backend's path-string directories (`PathDir`, its ``cwd`` and ``fs`` on Windows), run on this OS.

``eio_backend_windows.run(main, path_dirs=True)`` gives the directories
Windows gets, so the sandbox's walk (the Windows path rules, links checked
with ``os.lstat`` and followed inside, ``..`` above the directory refused)
is tested wherever the suite runs. Each test checks that no descriptor leaked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path as OsPath

import eio
import pytest

from eio_backend_windows import PathDir, run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="makes symlinks, which need a privilege on Windows")

REFUSED = "Path leads outside the sandboxed directory"


def open_fds() -> list[str]:
    return sorted(os.listdir("/dev/fd")) if os.path.isdir("/dev/fd") else []


@pytest.fixture
def box(tmp_path: OsPath, monkeypatch: pytest.MonkeyPatch) -> Iterator[OsPath]:
    """The current directory ``tmp/box``, with ``tmp/secret.txt`` outside it; afterwards no descriptor leaked."""
    before = open_fds()
    root = tmp_path / "box"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "file.txt").write_text("inside")
    (root / "sub" / "file.txt").write_text("sub inside")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "abs").symlink_to("/")
    (root / "leak").symlink_to("../secret.txt")
    (root / "deep_leak").symlink_to("sub/../../secret.txt")
    (root / "inner").symlink_to("sub/file.txt")
    (root / "subdir").symlink_to("sub")
    (root / "loop").symlink_to("loop")
    (root / "to_device").symlink_to("sub/nul")
    (root / "to_stream").symlink_to("file.txt:hidden")
    (root / "to_drive").symlink_to("C:secret.txt")
    monkeypatch.chdir(root)
    yield root
    assert open_fds() == before


async def refusal(path: eio.Path) -> str:
    try:
        await path.load()
    except eio.fs.PermissionDenied as ex:
        return f"{ex.filename}: {ex.strerror}"
    return f"{path}: not refused"


def test_cwd_and_fs_are_path_dirs(box: OsPath) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        return [env.backend_id, repr(env.cwd.dir), repr(env.fs.dir)]

    assert run(main, path_dirs=True) == ["windows", "<PathDir cwd (sandbox)>", "<PathDir fs (unconfined)>"]


def test_operations_inside_the_sandbox(box: OsPath) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        cwd = env.cwd
        out = [(await (cwd / "sub/file.txt").load()).decode(), (await (cwd / "sub\\file.txt").load()).decode()]
        out.append((await (cwd / "inner").load()).decode())
        out.append((await (cwd / "subdir/file.txt").load()).decode())
        out.append((await (cwd / "sub/deeper/../file.txt").load()).decode())
        await (cwd / "new").mkdir(perm=0o700)
        await (cwd / "new/f").save(b"data", create="exclusive", perm=0o600)
        await (cwd / "new/f").save(b"+more", append=True, create="never")
        out.append((await (cwd / "new/f").load()).decode())
        await eio.Path.rename(cwd / "new/f", cwd / "sub/g")
        out.append(" ".join(sorted(await (cwd / "sub").read_dir())))
        out.append(await (cwd / "leak").read_link())
        out.append((await (cwd / "abs").stat(follow=False)).kind)
        out.append((await (cwd / "subdir").stat(follow=True)).kind)
        await (cwd / "sub/g").unlink()
        await (cwd / "new").rmdir()
        async with eio.Switch.run() as sw:
            sub = await (cwd / "subdir").open_dir(sw)
            out.append(repr(sub.dir))
            out.append((await (sub / "file.txt").load()).decode())
            out.append(await refusal(sub / "../file.txt"))
        out.append(repr(sub.dir))
        try:
            await (sub / "file.txt").load()
        except eio.ResourceClosed as ex:
            out.append(f"closed: {ex}")
        out.append((await (env.fs / str(box / "file.txt")).load()).decode())
        return out

    assert run(main, path_dirs=True) == [
        "sub inside",
        "sub inside",
        "sub inside",
        "sub inside",
        "sub inside",
        "data+more",
        "deeper file.txt g",
        "../secret.txt",
        "symbolic_link",
        "directory",
        "<PathDir sub (sandbox)>",
        "sub inside",
        f"../file.txt: {REFUSED} ('..' above the directory)",
        "<PathDir sub (sandbox) closed>",
        "closed: [Errno 9] file.txt: the directory <sub> is closed",
        "inside",
    ]


def test_escapes_are_refused_naming_the_rule(box: OsPath) -> None:
    paths = [
        "../secret.txt",
        "sub/../../secret.txt",
        "/etc/passwd",
        "abs/etc/passwd",
        "leak",
        "deep_leak",
        "C:secret.txt",
        "c:\\secret.txt",
        "\\\\server\\share\\x",
        "\\\\?\\C:\\x",
        "sub\\..\\..\\secret.txt",
        "file.txt:stream",
        "file.txt::$DATA",
        "nul",
        "sub/CON.txt",
        "Com1",
        "missing/dir/nul.txt",
        "to_device",
        "to_stream",
        "to_drive",
        ".. /secret.txt",
        ".../secret.txt",
    ]

    async def main(env: eio.Stdenv) -> list[str]:
        return [await refusal(env.cwd / p) for p in paths]

    assert run(main, path_dirs=True) == [
        f"../secret.txt: {REFUSED} ('..' above the directory)",
        f"sub/../../secret.txt: {REFUSED} ('..' above the directory)",
        f"/etc/passwd: {REFUSED} (an absolute path)",
        f"abs/etc/passwd: {REFUSED} (a link to an absolute path ('abs'))",
        f"leak: {REFUSED} ('..' above the directory)",
        f"deep_leak: {REFUSED} ('..' above the directory)",
        f"C:secret.txt: {REFUSED} (a drive letter (C:))",
        f"c:\\secret.txt: {REFUSED} (a drive letter (c:))",
        f"\\\\server\\share\\x: {REFUSED} (a UNC path (\\\\server\\share))",
        f"\\\\?\\C:\\x: {REFUSED} (a device or verbatim prefix (\\\\?\\))",
        f"sub\\..\\..\\secret.txt: {REFUSED} ('..' above the directory)",
        f"file.txt:stream: {REFUSED} (an alternate data stream or drive ('file.txt:stream'))",
        f"file.txt::$DATA: {REFUSED} (an alternate data stream or drive ('file.txt::$DATA'))",
        f"nul: {REFUSED} (a reserved device name (NUL in 'nul'))",
        f"sub/CON.txt: {REFUSED} (a reserved device name (CON in 'CON.txt'))",
        f"Com1: {REFUSED} (a reserved device name (COM1 in 'Com1'))",
        f"missing/dir/nul.txt: {REFUSED} (a reserved device name (NUL in 'nul.txt'))",
        f"to_device: {REFUSED} (a reserved device name (NUL in 'nul'))",
        f"to_stream: {REFUSED} (an alternate data stream or drive ('file.txt:hidden'))",
        f"to_drive: {REFUSED} (a link to an absolute path ('to_drive'))",
        f".. /secret.txt: {REFUSED} (trailing dots or spaces ('.. ': Windows reads a name of dots and spaces as '.' or '..'))",
        f".../secret.txt: {REFUSED} (trailing dots or spaces ('...': Windows reads a name of dots and spaces as '.' or '..'))",
    ]


def test_writes_that_would_escape_are_refused_and_change_nothing(box: OsPath) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        out: list[str] = []
        for path in ("../outside", "abs/tmp/outside", "nul", "a:b"):
            try:
                await (env.cwd / path).mkdir(perm=0o700)
            except eio.fs.PermissionDenied:
                out.append(f"mkdir {path}: refused")
        try:
            await (env.cwd / "leak").save(b"overwritten", create="or_truncate")
        except eio.fs.PermissionDenied:
            out.append("save through leak: refused")
        return out

    assert run(main, path_dirs=True) == [
        "mkdir ../outside: refused",
        "mkdir abs/tmp/outside: refused",
        "mkdir nul: refused",
        "mkdir a:b: refused",
        "save through leak: refused",
    ]
    assert sorted(os.listdir(box.parent)) == ["box", "secret.txt"]
    assert (box.parent / "secret.txt").read_text() == "secret"


def test_errors_inside_the_sandbox(box: OsPath) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        out: list[str] = []
        for path in ("missing/x", "file.txt/x", "loop", "missing"):
            try:
                await (env.cwd / path).load()
            except eio.Io as ex:
                out.append(f"{type(ex).__qualname__} {ex.errno} {ex.filename}")
        return out

    assert run(main, path_dirs=True) == [
        "NotFound 2 missing/x",
        "Io 20 file.txt/x",
        "Io 40 loop",
        "NotFound 2 missing",
    ]


def test_dot_and_dotdot_are_not_entries(box: OsPath) -> None:
    """Windows drops a final ``.`` or ``..``: removing ``sub/deeper/..`` must not remove ``sub``."""
    (box / "empty").mkdir()

    async def main(env: eio.Stdenv) -> list[str]:
        out: list[str] = []
        for what, path in (("rmdir", "empty/."), ("rmdir", "sub/deeper/.."), ("unlink", "sub/.."), ("rmdir", "")):
            try:
                await (env.cwd / path).rmdir() if what == "rmdir" else await (env.cwd / path).unlink()
            except eio.Io as ex:
                out.append(f"{what} {path!r}: {ex.strerror}")
        out.append((await (env.cwd / "sub/deeper/..").stat(follow=False)).kind)
        out.append(" ".join(sorted(await (env.cwd / "subdir/..").read_dir())))
        return out

    assert run(main, path_dirs=True) == [
        "rmdir 'empty/.': Not a directory entry (the path ends with '.' or '..', or is empty)",
        "rmdir 'sub/deeper/..': Not a directory entry (the path ends with '.' or '..', or is empty)",
        "unlink 'sub/..': Not a directory entry (the path ends with '.' or '..', or is empty)",
        "rmdir '': Not a directory entry (the path ends with '.' or '..', or is empty)",
        "directory",
        " ".join(sorted(os.listdir(box))),
    ]
    assert (box / "empty").is_dir() and (box / "sub" / "deeper").is_dir()


def test_rename_needs_a_path_dir(box: OsPath) -> None:
    async def main(env: eio.Stdenv) -> str:
        other = PathDir(str(box), "other", True)
        await eio.Path.rename(env.cwd / "file.txt", eio.Path(other) / "moved.txt")
        try:
            await eio.Path.rename(env.cwd / "sub/file.txt", env.cwd / "../escaped.txt")
        except eio.fs.PermissionDenied as ex:
            return str(ex.strerror)
        return "not refused"

    assert run(main, path_dirs=True) == f"{REFUSED} ('..' above the directory)"
    assert (box / "moved.txt").read_text() == "inside"
    assert (box / "sub" / "file.txt").exists()
