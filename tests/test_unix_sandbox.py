"""The component-wise sandbox resolver of `eio.unix` (for systems without ``openat2``), run directly.

The same escape cases as the ``openat2`` path of test_fs.py: ``..`` above
the root, absolute paths, symlinks leading out (absolute or by ``..``), a
symlink created after the root was opened, a directory swapped for a
symlink in the middle of a walk, and a directory renamed while held. Then
the same cases through `eio.unix.UnixDir` (``env.cwd`` of backends that use
it), on every OS backend.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from pathlib import Path as OsPath

import eio
import pytest
from conftest import run_env
from eio.unix import MAX_SYMLINKS, UnixDir, open_beneath, resolve_beneath

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="dir_fd calls are POSIX-only")


@pytest.fixture
def box(tmp_path: OsPath) -> Iterator[tuple[OsPath, int]]:
    """A sandbox root ``tmp/box`` (and its descriptor), with ``tmp/secret.txt`` outside it.

    Afterwards no descriptor the walks opened is left open.
    """
    before = sorted(os.listdir("/dev/fd"))
    root = tmp_path / "box"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "file.txt").write_text("inside")
    (root / "sub" / "file.txt").write_text("sub inside")
    (tmp_path / "secret.txt").write_text("secret")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield root, fd
    finally:
        os.close(fd)
    assert sorted(os.listdir("/dev/fd")) == before


def read(root: int, path: str) -> str:
    fd = open_beneath(root, path, os.O_RDONLY)
    try:
        return os.read(fd, 100).decode()
    finally:
        os.close(fd)


def refused(root: int, path: str) -> str:
    """The message of the `eio.fs.PermissionDenied` that opening ``path`` raises."""
    with pytest.raises(eio.fs.PermissionDenied) as info:
        read(root, path)
    assert info.value.errno == errno.EXDEV
    assert info.value.filename == path
    return info.value.strerror or ""


def leaf_of(root: int, path: str) -> tuple[str, str]:
    """``(directory's inode relation, leaf)``: ``"root"`` if the parent is the root itself."""
    dir_fd, leaf = resolve_beneath(root, path)
    try:
        where = "root" if dir_fd == root else os.readlink(f"/proc/self/fd/{dir_fd}").rsplit("/", 1)[1]
        return where, leaf
    finally:
        if dir_fd != root:
            os.close(dir_fd)


def test_plain_paths_inside(box: tuple[OsPath, int]) -> None:
    _root, fd = box
    assert read(fd, "file.txt") == "inside"
    assert read(fd, "sub/file.txt") == "sub inside"
    assert read(fd, "./sub/./file.txt") == "sub inside"
    assert read(fd, "sub/deeper/../file.txt") == "sub inside"
    assert read(fd, "sub//file.txt") == "sub inside"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names descriptors through /proc")
def test_resolve_gives_the_parent_and_the_leaf(box: tuple[OsPath, int]) -> None:
    _root, fd = box
    assert leaf_of(fd, "file.txt") == ("root", "file.txt")
    assert leaf_of(fd, "sub/file.txt") == ("sub", "file.txt")
    assert leaf_of(fd, "sub/deeper/..") == ("sub", ".")
    assert leaf_of(fd, "sub/..") == ("root", ".")
    assert leaf_of(fd, "") == ("root", ".")


def test_dotdot_above_the_root_is_refused(box: tuple[OsPath, int]) -> None:
    _root, fd = box
    assert refused(fd, "../secret.txt") == "Path leads outside the sandboxed directory"
    refused(fd, "sub/../../secret.txt")
    refused(fd, "sub/deeper/../../../secret.txt")
    with pytest.raises(eio.fs.PermissionDenied):
        resolve_beneath(fd, "..")


def test_absolute_paths_are_refused(box: tuple[OsPath, int]) -> None:
    root, fd = box
    refused(fd, "/etc/passwd")
    refused(fd, str(root / "file.txt"))  # even one that points inside


def test_symlinks_inside_are_followed(box: tuple[OsPath, int]) -> None:
    root, fd = box
    (root / "to-sub").symlink_to("sub")
    (root / "sub" / "up").symlink_to("..")
    (root / "sub" / "to-file").symlink_to("../file.txt")
    assert read(fd, "to-sub/file.txt") == "sub inside"
    assert read(fd, "sub/up/file.txt") == "inside"
    assert read(fd, "sub/to-file") == "inside"
    assert read(fd, "to-sub/to-file") == "inside"
    # Not followed when the last component is what the operation acts on.
    assert resolve_beneath(fd, "to-sub") == (fd, "to-sub")


def test_symlinks_out_are_refused(box: tuple[OsPath, int]) -> None:
    root, fd = box
    (root / "abs").symlink_to("/")
    (root / "abs-inside").symlink_to(root / "file.txt")
    (root / "up").symlink_to("..")
    (root / "sub" / "up2").symlink_to("../..")
    (root / "leak").symlink_to("../secret.txt")
    refused(fd, "abs/etc/passwd")
    refused(fd, "abs-inside")  # absolute targets are refused even when they point inside
    refused(fd, "up/secret.txt")
    refused(fd, "sub/up2/secret.txt")
    refused(fd, "leak")
    with pytest.raises(eio.fs.PermissionDenied):
        resolve_beneath(fd, "up/x")


def test_symlink_loops_end_with_eloop(box: tuple[OsPath, int]) -> None:
    root, fd = box
    (root / "a").symlink_to("b")
    (root / "b").symlink_to("a")
    for path in ("a", "a/x"):
        with pytest.raises(OSError) as info:
            read(fd, path)
        assert info.value.errno == errno.ELOOP
    # A long chain within the limit still resolves.
    (root / "l0").symlink_to("file.txt")
    for i in range(1, MAX_SYMLINKS // 2):
        (root / f"l{i}").symlink_to(f"l{i - 1}")
    assert read(fd, f"l{MAX_SYMLINKS // 2 - 1}") == "inside"


def test_a_symlink_created_after_the_root_was_opened(box: tuple[OsPath, int]) -> None:
    root, fd = box
    os.symlink("../secret.txt", root / "late")
    os.symlink("/", root / "late-abs")
    refused(fd, "late")
    refused(fd, "late-abs/etc/passwd")
    # Reading the link itself is fine: it is inside.
    dir_fd, leaf = resolve_beneath(fd, "late")
    assert os.readlink(leaf, dir_fd=dir_fd) == "../secret.txt"


def test_a_directory_swapped_for_a_symlink_during_the_walk(box: tuple[OsPath, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Between the walk opening ``sub`` and looking up ``deeper``, ``deeper`` becomes a symlink to ``/``."""
    root, fd = box
    real_open = os.open
    swapped: list[str] = []

    def racing_open(path: str, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if path == "deeper" and not swapped:
            swapped.append(path)
            os.rename(root / "sub" / "deeper", root / "deeper-old")
            os.symlink("/", root / "sub" / "deeper")
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", racing_open)
    refused(fd, "sub/deeper/etc/passwd")
    assert swapped == ["deeper"]


def test_a_held_directory_renamed_away_keeps_dotdot_inside(tmp_path: OsPath) -> None:
    """A sandbox whose directory is moved elsewhere: ``..`` still stops at it."""
    (tmp_path / "a" / "box").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.txt").write_text("secret")
    fd = os.open(tmp_path / "a" / "box", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rename(tmp_path / "a" / "box", tmp_path / "elsewhere" / "box")
        refused(fd, "../secret.txt")
        (tmp_path / "elsewhere" / "box" / "f").write_text("moved with it")
        assert read(fd, "f") == "moved with it"
    finally:
        os.close(fd)


# -- the same through `eio.unix.UnixDir` on each OS backend -------------------------------


def test_unix_dir_refuses_escapes(os_backend: str, box: tuple[OsPath, int]) -> None:
    root, _fd = box
    (root / "abs").symlink_to("/")
    (root / "leak").symlink_to("../secret.txt")

    async def main(_env: eio.Stdenv) -> list[str]:
        out: list[str] = []
        async with eio.Switch.run() as sw:
            d = UnixDir(os.open(root, os.O_RDONLY | os.O_DIRECTORY), "box", True).attach(sw)
            base = eio.Path(d)
            out.append((await (base / "sub/file.txt").load()).decode())
            for path in ("../secret.txt", "/etc/passwd", "abs/etc/passwd", "leak"):
                try:
                    await (base / path).load()
                except eio.fs.PermissionDenied as ex:
                    out.append(f"{path}: refused ({ex.strerror})")
            for make in ("../outside", "abs/tmp/outside"):
                try:
                    await (base / make).mkdir(perm=0o700)
                except eio.fs.PermissionDenied:
                    out.append(f"mkdir {make}: refused")
            await (base / "new").mkdir(perm=0o700)
            await (base / "new/f").save(b"data", create="exclusive", perm=0o600)
            await eio.Path.rename(base / "new/f", base / "sub/g")
            out.append(" ".join(sorted(await (base / "sub").read_dir())))
            out.append(await (base / "leak").read_link())
            st = await (base / "abs").stat(follow=False)
            out.append(st.kind)
        return out

    assert run_env(os_backend, main) == [
        "sub inside",
        "../secret.txt: refused (Path leads outside the sandboxed directory)",
        "/etc/passwd: refused (Path leads outside the sandboxed directory)",
        "abs/etc/passwd: refused (Path leads outside the sandboxed directory)",
        "leak: refused (Path leads outside the sandboxed directory)",
        "mkdir ../outside: refused",
        "mkdir abs/tmp/outside: refused",
        "deeper file.txt g",
        "../secret.txt",
        "symbolic_link",
    ]
    assert (root / "sub" / "g").read_bytes() == b"data"
    assert not (root.parent / "outside").exists()
