"""`eio.Path.chmod`, `chown` and `read_dir_entries` on every backend: the real disk (io_uring's own
directories, the shared Unix layer's on trio, asyncio and selectors) and the mock's in-memory file system.

Each test runs in a fresh temporary current directory (``env.cwd``), reads
what it changed back with `eio.Path.stat`, and checks no descriptor leaked.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path as StdPath
from typing import Any, TypeVar

import eio
import pytest
from conftest import Trace, run_checked
from eio.path import DirEntry

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")

T = TypeVar("T")


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
    """``main(env.cwd)`` on ``backend``; then no descriptor may be left open and no child unreaped."""

    async def with_cwd(env: eio.Stdenv) -> T:
        return await main(env.cwd)

    return run_checked(backend, with_cwd)


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


# -- Eio's tests/fs.md: chmod and chown ------------------------------------------------------------


go_env = run_checked  # main(env), for tests that need ``env.fs`` too


def err(ex: BaseException) -> str:
    """An error as a trace line: ``eio.fs.PermissionDenied, changing permissions of <sandbox:escape>``."""
    return ", ".join([f"{type(ex).__module__}.{type(ex).__qualname__}", *notes(ex)])


async def try_chmod(path: eio.Path, *, follow: bool, perm: int) -> None:
    try:
        await path.chmod(perm, follow=follow)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"chmod {path} to {perm:o} -> ok")


async def try_stat_perm(path: eio.Path) -> None:
    """fs.md's ``try_stat ~info_type:`Perm``: the permissions without and with following a final symlink."""

    async def one(follow: bool) -> str:
        try:
            return f"{(await path.stat(follow=follow)).perm:o}"
        except eio.Io as ex:
            return type(ex).__qualname__

    a = await one(False)
    b = await one(True)
    eio.traceln(f"{path} -> {a}" if a == b else f"{path} -> {a} / {b}")


def test_fs_md_chmod_works(env_backend: str, trace: Trace) -> None:
    async def main(cwd: eio.Path) -> None:
        file_path = cwd / "test-file"
        await file_path.save("test data", create="exclusive", perm=0o644)
        await try_chmod(file_path, follow=False, perm=0o400)
        await try_stat_perm(file_path)
        await try_chmod(file_path, follow=False, perm=0o600)
        await try_stat_perm(file_path)

    go(env_backend, main)
    assert trace.lines() == [
        "chmod <cwd:test-file> to 400 -> ok",
        "<cwd:test-file> -> 400",
        "chmod <cwd:test-file> to 600 -> ok",
        "<cwd:test-file> -> 600",
    ]


def test_fs_md_chmod_follows_a_leaf_symlink_within_the_sandbox(env_backend: str, trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        cwd = env.cwd
        async with eio.Switch.run() as sw:
            await (cwd / "outside.txt").save("outside", create="exclusive", perm=0o644)
            await try_mkdir(cwd / "sandbox")
            await (cwd / "sandbox/inside.txt").save("inside", create="exclusive", perm=0o644)
            # Set the mode, so that the umask has no effect.
            await try_chmod(cwd / "outside.txt", follow=True, perm=0o644)
            await try_chmod(cwd / "sandbox/inside.txt", follow=True, perm=0o644)
            sandbox = await (cwd / "sandbox").open_subtree(sw)
            await (sandbox / "ok").symlink(link_to="inside.txt")
            await (sandbox / "escape").symlink(link_to="../outside.txt")
            # Following a symlink to a file inside the sandbox works:
            await try_chmod(sandbox / "inside.txt", follow=False, perm=0o600)
            await try_stat_perm(sandbox / "inside.txt")
            await try_chmod(sandbox / "ok", follow=True, perm=0o400)
            await try_stat_perm(sandbox / "inside.txt")
            # Following a symlink out of the sandbox is refused, and the target is unchanged:
            await try_chmod(sandbox / "escape", follow=True, perm=0o400)
            await try_stat_perm(cwd / "outside.txt")
            eio.traceln("Try without sandboxing")
            unconfined = env.fs / "sandbox"
            await try_chmod(unconfined / "escape", follow=True, perm=0o400)
            await try_stat_perm(cwd / "outside.txt")

    go_env(env_backend, main)
    assert trace.lines() == [
        "mkdir <cwd:sandbox> -> ok",
        "chmod <cwd:outside.txt> to 644 -> ok",
        "chmod <cwd:sandbox/inside.txt> to 644 -> ok",
        "chmod <sandbox:inside.txt> to 600 -> ok",
        "<sandbox:inside.txt> -> 600",
        "chmod <sandbox:ok> to 400 -> ok",
        "<sandbox:inside.txt> -> 400",
        "eio.fs.PermissionDenied, changing permissions of <sandbox:escape>",
        "<cwd:outside.txt> -> 644",
        "Try without sandboxing",
        "chmod <fs:sandbox/escape> to 400 -> ok",
        "<cwd:outside.txt> -> 400",
    ]


def test_fs_md_chmod_on_a_symlink_where_the_platform_allows_it(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> None:
        path = cwd / "symlink"
        await path.symlink(link_to="/foo")
        try:
            await path.chmod(0o600, follow=False)
            assert (await path.stat(follow=False)).perm == 0o600
            await path.chmod(0o660, follow=False)
            assert (await path.stat(follow=False)).perm == 0o660
        except eio.Io as ex:
            # Eio's Not_available: some systems (Linux) can't change a symlink's own permissions.
            assert ex.errno == errno.EOPNOTSUPP

    assert go(env_backend, main) is None


async def try_mkdir(path: eio.Path) -> None:
    try:
        await path.mkdir(perm=0o700)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"mkdir {path} -> ok")


def _other_gid(gid0: int) -> int | None:
    """A group of this process other than ``gid0`` (fs.md's choice), None if it has none."""
    return next((gid for gid in [os.getegid(), *os.getgroups()] if gid != gid0), None)


@pytest.mark.real_os  # it picks a group of this process's own (the mock's files belong to its pretend user)
def test_fs_md_changing_ownership(env_backend: str) -> None:
    async def main(cwd: eio.Path) -> bool:
        async def stat_uid_gid(path: eio.Path) -> tuple[int, int]:
            st = await path.stat(follow=False)
            return st.uid, st.gid

        path = cwd / "owner.txt"
        link = cwd / "link.txt"
        symlink = cwd / "symlink.txt"
        async with path.open_out(create="or_truncate", perm=0o644):
            pass
        uid0, gid0 = await stat_uid_gid(path)
        target = gid0 + 1 if os.geteuid() == 0 else _other_gid(gid0)
        if target is None:
            return False
        gid = target
        await path.chown(uid0, gid, follow=False)
        assert await stat_uid_gid(path) == (uid0, gid)

        # link is a regular file; symlink points at it. Both start out in the group gid0.
        async with link.open_out(create="or_truncate", perm=0o644):
            pass
        await symlink.symlink(link_to="link.txt")
        luid1, lgid1 = await stat_uid_gid(link)
        suid1, _sgid1 = await stat_uid_gid(symlink)

        # follow=False changes the symlink itself, not its target (-1: the owner is unchanged).
        await symlink.chown(-1, gid, follow=False)
        luid2, lgid2 = await stat_uid_gid(link)
        suid2, sgid2 = await stat_uid_gid(symlink)
        assert (luid1, lgid1) == (luid2, lgid2)
        assert (suid1, sgid2) == (suid2, gid)

        # follow=True changes the target instead.
        await symlink.chown(-1, gid, follow=True)
        luid3, lgid3 = await stat_uid_gid(link)
        _suid3, sgid3 = await stat_uid_gid(symlink)
        assert (luid3, lgid3) == (luid2, gid)
        assert sgid3 == gid
        return True

    # As root (as here, usually) the group is always changed; otherwise only with a second group.
    assert go(env_backend, main) == (os.geteuid() == 0 or _other_gid(os.getegid()) is not None)


@pytest.mark.real_os  # it picks a group of this process's own (the mock's files belong to its pretend user)
def test_fs_md_chown_is_sandboxed(env_backend: str, trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        cwd = env.cwd
        async with eio.Switch.run() as sw:
            await (cwd / "outside.txt").save("outside", create="exclusive", perm=0o644)
            await try_mkdir(cwd / "sandbox")
            await (cwd / "sandbox/inside.txt").save("inside", create="exclusive", perm=0o644)
            sandbox = await (cwd / "sandbox").open_subtree(sw)
            await (sandbox / "ok").symlink(link_to="inside.txt")
            await (sandbox / "escape").symlink(link_to="../outside.txt")
            gid0 = (await sandbox.stat(follow=False)).gid
            # Another group we have, or else the file's own.
            other_gid = _other_gid(gid0)
            other_gid = gid0 if other_gid is None else other_gid

            async def try_chown(path: eio.Path, *, follow: bool) -> None:
                try:
                    await path.chown(-1, other_gid, follow=follow)
                except eio.Io as ex:
                    eio.traceln(f"chown {path} (follow={follow}) -> {err(ex)}")
                    return
                eio.traceln(f"chown {path} (follow={follow}) -> ok")
                if (await path.stat(follow=follow)).gid != other_gid:
                    raise AssertionError("chown didn't set correct group!")
                await path.chown(-1, gid0, follow=follow)

            # Following a symlink out of the sandbox is refused, and the target is unchanged:
            await try_chown(sandbox / "ok", follow=True)
            await try_chown(sandbox / "escape", follow=True)
            await try_chown(sandbox / "ok", follow=False)
            await try_chown(sandbox / "escape", follow=False)
            eio.traceln("Try without sandboxing")
            unconfined = env.fs / "sandbox"
            await try_chown(unconfined / "escape", follow=False)
            await try_chown(unconfined / "escape", follow=True)

    go_env(env_backend, main)
    assert trace.lines() == [
        "mkdir <cwd:sandbox> -> ok",
        "chown <sandbox:ok> (follow=True) -> ok",
        "chown <sandbox:escape> (follow=True) -> eio.fs.PermissionDenied, changing owner of <sandbox:escape>",
        "chown <sandbox:ok> (follow=False) -> ok",
        "chown <sandbox:escape> (follow=False) -> ok",
        "Try without sandboxing",
        "chown <fs:sandbox/escape> (follow=False) -> ok",
        "chown <fs:sandbox/escape> (follow=True) -> ok",
    ]
