"""`eio.Path.chmod`, `chown` and `read_dir_entries` on every backend: the real disk (io_uring's own
directories, the shared Unix layer's on trio, asyncio and selectors) and the mock's in-memory file system.

Each test runs in a fresh temporary current directory (``env.cwd``), reads
what it changed back with `eio.Path.stat`, and checks no descriptor leaked.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path as StdPath
from typing import Any, TypeVar

import eio
import pytest
from conftest import run_env
from eio.path import DirEntry

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

T = TypeVar("T")
_warmed: set[str] = set()


async def _nothing(_env: eio.Stdenv) -> None:
    pass


@pytest.fixture(autouse=True)
def tmp_cwd(tmp_path: StdPath, monkeypatch: pytest.MonkeyPatch) -> Iterator[StdPath]:
    """A fresh current directory and umask 022 for every test."""
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)
    try:
        yield tmp_path
    finally:
        os.umask(old)


def go(backend: str, main: Callable[[eio.Path], Awaitable[T]]) -> T:
    """``main(env.cwd)`` on ``backend``; then no descriptor may be left open."""
    if backend not in _warmed:
        run_env(backend, _nothing)  # a host library's first loop keeps descriptors for good (uvloop's)
        _warmed.add(backend)
    before = sorted(os.listdir("/proc/self/fd"))

    async def with_cwd(env: eio.Stdenv) -> T:
        return await main(env.cwd)

    try:
        return run_env(backend, with_cwd)
    finally:
        for t in threading.enumerate():
            if t.name.startswith("eio-domain-"):
                t.join()
        assert sorted(os.listdir("/proc/self/fd")) == before


def notes(ex: BaseException) -> list[str]:
    return list(getattr(ex, "__notes__", []))


# -- chmod -------------------------------------------------------------------------------------------


def test_chmod_and_read_back(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> list[int]:
        f = cwd / "f.txt"
        await f.save("x", create="exclusive", perm=0o600)
        perms = [(await f.stat()).perm]
        await f.chmod(0o640)
        perms.append((await f.stat()).perm)
        await (cwd / "d").mkdir(perm=0o700)
        await (cwd / "d").chmod(0o751)
        perms.append((await (cwd / "d").stat()).perm)
        await f.chmod(0o4755)  # the set-user-ID bit too
        perms.append((await f.stat()).perm)
        return perms

    assert go(env_backend, main) == [0o600, 0o640, 0o751, 0o4755]


def test_chmod_follows_a_symlink_unless_told_not_to(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> tuple[int, int, int, list[str]]:
        await (cwd / "target").save("t", create="exclusive", perm=0o600)
        await (cwd / "link").symlink(link_to="target")
        await (cwd / "link").chmod(0o604)
        link_perm = (await (cwd / "link").stat(follow=False)).perm
        with pytest.raises(eio.Io) as info:
            await (cwd / "link").chmod(0o600, follow=False)
        return (await (cwd / "target").stat()).perm, link_perm, info.value.errno or 0, notes(info.value)

    perm, link_perm, code, why = go(env_backend, main)
    assert (perm, code, why) == (0o604, errno.EOPNOTSUPP, ["changing permissions of <cwd:link>"])
    assert link_perm == 0o777  # Linux symlinks have no permissions of their own


def test_chmod_is_sandboxed(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> list[list[str]]:
        await (cwd / "escape").symlink(link_to="/")
        await (cwd / "up").symlink(link_to="..")
        out: list[list[str]] = []
        for path in (cwd / "..", cwd / "escape", cwd / "up", cwd / "/tmp"):
            with pytest.raises(eio.fs.PermissionDenied) as info:
                await path.chmod(0o700)
            out.append(notes(info.value))
        return out

    assert go(env_backend, main) == [
        ["changing permissions of <cwd:..>"],
        ["changing permissions of <cwd:escape>"],
        ["changing permissions of <cwd:up>"],
        ["changing permissions of <cwd:/tmp>"],
    ]


def test_chmod_missing_file(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> None:
        await (cwd / "missing").chmod(0o600)

    with pytest.raises(eio.fs.NotFound) as info:
        go(env_backend, main)
    assert notes(info.value) == ["changing permissions of <cwd:missing>"]


def test_chmod_and_chown_bad_arguments(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> list[str]:
        f = cwd / "f"
        await f.save("")
        out: list[str] = []

        async def attempt(coro: Awaitable[None]) -> None:
            with pytest.raises((TypeError, ValueError)) as info:
                await coro
            out.append(f"{type(info.value).__name__}: {info.value}")

        await attempt(f.chmod("644"))  # pyright: ignore[reportArgumentType] - wrong on purpose
        await attempt(f.chmod(0o10000))
        await attempt(f.chmod(-1))
        await attempt(f.chmod(0o644, follow="yes"))  # pyright: ignore[reportArgumentType] - wrong on purpose
        await attempt(f.chown("root", 0))  # pyright: ignore[reportArgumentType] - wrong on purpose
        await attempt(f.chown(0, -2))
        await attempt(f.chown(True, 0))
        return out

    assert go(env_backend, main) == [
        "TypeError: eio.Path.chmod: perm must be an int in 0..0o7777, got '644'",
        "ValueError: eio.Path.chmod: perm must be an int in 0..0o7777, got 4096",
        "ValueError: eio.Path.chmod: perm must be an int in 0..0o7777, got -1",
        "TypeError: eio.Path.chmod: follow must be True or False, got 'yes'",
        "TypeError: eio.Path.chown: uid must be an int (-1: unchanged), got 'root'",
        "ValueError: eio.Path.chown: gid must be -1 or a valid id (0 <= id < 2**32 - 1), got -2",
        "TypeError: eio.Path.chown: uid must be an int (-1: unchanged), got True",
    ]


# -- chown -------------------------------------------------------------------------------------------


def test_chown_to_the_same_owner_and_unchanged(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> bool:
        f = cwd / "f"
        await f.save("")
        before = await f.stat()
        await f.chown(-1, -1)
        await f.chown(before.uid, before.gid)
        after = await f.stat()
        return (after.uid, after.gid) == (before.uid, before.gid)

    assert go(env_backend, main)


def test_chown_to_another_owner(env_backend: str) -> None:
    privileged = env_backend != "mock" and os.geteuid() == 0  # the mock runs as uid 1000

    async def main(cwd: eio.Path) -> tuple[int, int] | list[str]:
        f = cwd / "f"
        await f.save("")
        if privileged:
            await f.chown(4321, 8765)
            st = await f.stat()
            return st.uid, st.gid
        with pytest.raises(eio.fs.PermissionDenied) as info:
            await f.chown(0, -1)
        return notes(info.value)

    assert go(env_backend, main) == ((4321, 8765) if privileged else ["changing owner of <cwd:f>"])


def test_chown_a_symlink_itself(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> tuple[int, int]:
        await (cwd / "target").save("")
        await (cwd / "link").symlink(link_to="target")
        st = await (cwd / "link").stat(follow=False)
        await (cwd / "link").chown(st.uid, st.gid, follow=False)
        after = await (cwd / "link").stat(follow=False)
        return after.uid - st.uid, after.gid - st.gid

    assert go(env_backend, main) == (0, 0)


# -- read_dir_entries ----------------------------------------------------------------------------


def test_read_dir_entries(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> list[DirEntry]:
        d = cwd / "d"
        await d.mkdir()
        await (d / "b.txt").save("b")
        await (d / "a-dir").mkdir()
        await (d / "c-link").symlink(link_to="a-dir")
        await (d / "dangling").symlink(link_to="nowhere")
        return await d.read_dir_entries()

    assert go(env_backend, main) == [
        ("a-dir", "directory"),
        ("b.txt", "regular_file"),
        ("c-link", "symbolic_link"),
        ("dangling", "symbolic_link"),
    ]


@pytest.mark.real_os
def test_read_dir_entries_special_files(env_backend: str, tmp_cwd: StdPath) -> None:
    os.mkfifo(tmp_cwd / "fifo")

    async def main(cwd: eio.Path) -> list[DirEntry]:
        return await cwd.read_dir_entries()

    entries = go(env_backend, main)
    assert entries == [DirEntry("fifo", "fifo")]
    assert entries[0].name == "fifo" and entries[0].kind == "fifo"


def test_read_dir_entries_errors(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> list[tuple[str, list[str]]]:
        await (cwd / "file").save("")
        out: list[tuple[str, list[str]]] = []
        for path in (cwd / "file", cwd / "missing", cwd / ".."):
            with pytest.raises(eio.Io) as info:
                await path.read_dir_entries()
            out.append((type(info.value).__name__, notes(info.value)))
        return out

    assert go(env_backend, main) == [
        ("Io", ["reading directory <cwd:file>"]),
        ("NotFound", ["reading directory <cwd:missing>"]),
        ("PermissionDenied", ["reading directory <cwd:..>"]),
    ]


class _PlainDir:
    """A directory capability with only the required methods (no chmod, no read_dir_entries)."""

    def __init__(self, inner: eio.fs.Dir) -> None:
        self._inner = inner
        self.label = inner.label

    def __getattr__(self, name: str) -> object:
        if name in ("chmod", "chown", "read_dir_entries"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_directory_without_the_optional_methods(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> tuple[list[DirEntry], list[str]]:
        await (cwd / "f").save("")
        await (cwd / "l").symlink(link_to="f")
        plain = eio.Path(_PlainDir(cwd.dir))  # pyright: ignore[reportArgumentType] - its methods come from __getattr__
        errors: list[str] = []
        with pytest.raises(TypeError) as info:
            await (plain / "f").chmod(0o600)
        errors.append(str(info.value).split(" <", 1)[0])
        with pytest.raises(TypeError) as info:
            await (plain / "f").chown(-1, -1)
        errors.append(str(info.value).split(" <", 1)[0])
        return await plain.read_dir_entries(), errors

    assert go(env_backend, main) == (
        [("f", "regular_file"), ("l", "symbolic_link")],
        ["eio.Path.chmod: the directory capability", "eio.Path.chown: the directory capability"],
    )


def test_stat_follows_a_final_symlink_in_the_sandbox(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> list[str]:
        await (cwd / "target").save("t")
        await (cwd / "link").symlink(link_to="target")
        await (cwd / "chain").symlink(link_to="link")
        return [
            (await (cwd / "link").stat()).kind,
            (await (cwd / "chain").stat()).kind,
            (await (cwd / "link").stat(follow=False)).kind,
        ]

    assert go(env_backend, main) == ["regular_file", "regular_file", "symbolic_link"]


class _Lying(str):
    """A path whose methods lie (no slash, no dot-dot): a backend's Dir must use its real text."""

    __slots__ = ()

    def rfind(self, *args: object) -> int:
        return -1

    def find(self, *args: object) -> int:
        return -1

    def startswith(self, *args: object) -> bool:
        return False

    def __contains__(self, item: object) -> bool:
        return False


@pytest.mark.real_os
def test_the_new_dir_operations_take_the_real_text(env_backend: str, tmp_cwd: StdPath) -> None:
    async def main(cwd: eio.Path) -> list[str]:
        out: list[str] = []
        dir_: Any = cwd.dir  # the optional operations are found at run time
        for call in (
            lambda: dir_.chmod(_Lying("../escaped"), 0o777, True),
            lambda: dir_.chown(_Lying("../escaped"), -1, -1, False),
            lambda: dir_.read_dir_entries(_Lying("..")),
        ):
            with pytest.raises(eio.fs.PermissionDenied) as info:
                await call()
            out.append(type(info.value).__name__)
        return out

    (tmp_cwd.parent / "escaped").write_bytes(b"")
    try:
        assert go(env_backend, main) == ["PermissionDenied"] * 3
        assert (tmp_cwd.parent / "escaped").stat().st_mode & 0o777 == 0o644
    finally:
        (tmp_cwd.parent / "escaped").unlink()
