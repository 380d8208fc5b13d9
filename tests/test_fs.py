"""File-system tests: Eio's tests/fs.md (the OS parts), on the io_uring backend and the mock's in-memory file system.

Each test runs in a fresh temporary directory that is the process's current
directory (so ``cwd`` is sandboxed to it), with umask 022, and checks that no
file descriptor leaked. Error lines are formatted as
``<error class>, <note>, <note>...``: Eio's ``Eio.Io Fs Not_found _, opening <cwd:x>``
is ``eio.fs.NotFound, opening <cwd:x>`` here.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path as StdPath
from pathlib import PurePosixPath
from typing import TypeVar

import eio
import pytest
from conftest import Trace
from eio.path import join, split
from fsenv import FsEnv, make, names, uring_unavailable

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


@pytest.fixture(params=names())
def fsenv(request: pytest.FixtureRequest, tmp_cwd: StdPath) -> FsEnv:
    """The file system of the backend under test: the real one (io_uring) or the mock's in-memory one."""
    return make(str(request.param))


@pytest.fixture
def uring_fs(tmp_cwd: StdPath) -> FsEnv:
    """The real file system, for tests of what only it has (descriptors, /proc, /dev)."""
    reason = uring_unavailable()
    if reason is not None:
        pytest.skip(f"io_uring is not usable here: {reason}")
    return make("uring")


# -- helpers (fs.md's try_* functions) ---------------------------------------------


def err(ex: BaseException) -> str:
    """``eio.fs.NotFound, opening <cwd:x>``."""
    notes: list[str] = getattr(ex, "__notes__", [])
    return ", ".join([f"{type(ex).__module__}.{type(ex).__qualname__}", *notes])


async def try_read_file(path: eio.Path) -> None:
    try:
        data = await path.load()
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"read {path} -> {data!r}")


async def try_write_file(path: eio.Path, data: str, create: eio.fs.Create, perm: int = 0o600) -> None:
    try:
        await path.save(data, create=create, perm=perm)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"write {path} -> ok")


async def try_mkdir(path: eio.Path) -> None:
    try:
        await path.mkdir(perm=0o700)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"mkdir {path} -> ok")


async def try_mkdirs(path: eio.Path, exists_ok: bool = False) -> None:
    try:
        await path.mkdirs(exists_ok=exists_ok, perm=0o700)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"mkdirs {path} -> ok")


async def try_rename(p1: eio.Path, p2: eio.Path) -> None:
    try:
        await p1.rename(p2)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"rename {p1} to {p2} -> ok")


async def try_read_dir(path: eio.Path) -> None:
    try:
        names = await path.read_dir()
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"read_dir {path} -> {names}")


async def try_read_link(path: eio.Path) -> None:
    try:
        target = await path.read_link()
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"read_link {path} -> {target!r}")


async def try_unlink(path: eio.Path) -> None:
    try:
        await path.unlink()
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"unlink {path} -> ok")


async def try_rmdir(path: eio.Path) -> None:
    try:
        await path.rmdir()
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"rmdir {path} -> ok")


async def try_rmtree(path: eio.Path, missing_ok: bool = False) -> None:
    try:
        await path.rmtree(missing_ok=missing_ok)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"rmtree {path} -> ok")


async def try_symlink(path: eio.Path, link_to: str) -> None:
    try:
        await path.symlink(link_to=link_to)
    except eio.Io as ex:
        eio.traceln(err(ex))
    else:
        eio.traceln(f"symlink {path} -> {link_to!r}")


async def try_stat(path: eio.Path) -> None:
    async def one(follow: bool) -> str:
        try:
            return (await path.stat(follow=follow)).kind
        except eio.Io as ex:
            return type(ex).__qualname__

    a = await one(False)
    b = await one(True)
    eio.traceln(f"{path} -> {a}" if a == b else f"{path} -> {a} / {b}")


def chdir(fsenv: FsEnv, path: str) -> None:
    eio.traceln(f"chdir {path!r}")
    fsenv.chdir(path)


# -- basic cases, sandboxing, creation modes -------------------------------------------


def test_save_and_load(trace: Trace, tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "test-file").save("my-data", create="exclusive", perm=0o666)
        eio.traceln(f"Got {await (cwd / 'test-file').load()!r}")

    fsenv.run(main)
    assert trace.lines() == ["Got b'my-data'"]
    assert oct(fsenv.perm("test-file") & 0o777) == "0o644"  # 0o666 less the umask


@pytest.mark.parametrize("path", ["../test-file", "/tmp/test-file"])
def test_sandbox_refuses_leaving_cwd(path: str, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / path).save("my-data", create="exclusive", perm=0o666)

    with pytest.raises(eio.fs.PermissionDenied) as info:
        fsenv.run(main)
    assert info.value.errno == errno.EXDEV
    assert info.value.__notes__ == [f"opening <cwd:{path}>"]


def test_exclusive_create_fails_if_exists(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "test-file").save("first-write", create="exclusive", perm=0o666)
        await (cwd / "test-file").save("first-write", create="exclusive", perm=0o666)

    with pytest.raises(eio.fs.AlreadyExists) as info:
        fsenv.run(main)
    assert info.value.__notes__ == ["opening <cwd:test-file>"]


def test_create_modes(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        f = cwd / "test-file"
        await f.save("1st-write-original", create="if_missing", perm=0o666)
        await f.save("2nd-write", create="if_missing", perm=0o666)
        eio.traceln(f"if_missing: {await f.load()!r}")
        await f.save("1st-write-original", create="or_truncate", perm=0o666)
        await f.save("2nd-write", create="or_truncate", perm=0o666)
        eio.traceln(f"or_truncate: {await f.load()!r}")
        await f.save("1st-write-original", create="or_truncate", perm=0o666)
        await f.save("2nd-write", create="never", append=True)
        eio.traceln(f"append: {await f.load()!r}")

    fsenv.run(main)
    assert trace.lines() == [
        "if_missing: b'2nd-write-original'",
        "or_truncate: b'2nd-write'",
        "append: b'1st-write-original2nd-write'",
    ]


def test_never_create_missing_file(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "test-file").save("1st-write-original", create="never")

    with pytest.raises(eio.fs.NotFound) as info:
        fsenv.run(main)
    assert info.value.__notes__ == ["opening <cwd:test-file>"]


def test_bad_create_mode(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "x").save("data", create="always")  # pyright: ignore[reportArgumentType] - the error tested

    expected = "create must be one of 'never', 'if_missing', 'or_truncate', 'exclusive', not 'always'"
    with pytest.raises(ValueError, match=expected):
        fsenv.run(main)


# -- mkdir and mkdirs --------------------------------------------------------------------


def test_mkdir(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await try_mkdir(cwd / "subdir")
        await try_mkdir(cwd / "subdir/nested")
        await (cwd / "subdir/nested/test-file").save("data", create="exclusive", perm=0o600)

    fsenv.run(main)
    assert trace.lines() == ["mkdir <cwd:subdir> -> ok", "mkdir <cwd:subdir/nested> -> ok"]
    assert fsenv.perm("subdir") & 0o777 == 0o700


def test_mkdir_through_symlinks(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "to-root").symlink(link_to="/")
        await (cwd / "to-subdir").symlink(link_to="subdir")
        await (cwd / "dangle").symlink(link_to="foo")
        await try_mkdir(cwd / "subdir")
        await try_mkdir(cwd / "to-subdir/nested")
        await try_mkdir(cwd / "to-root/tmp/foo")
        await try_mkdir(cwd / "../foo")
        await try_mkdir(cwd / "to-subdir")
        await try_mkdir(cwd / "dangle/foo")

    fsenv.run(main)
    assert trace.lines() == [
        "mkdir <cwd:subdir> -> ok",
        "mkdir <cwd:to-subdir/nested> -> ok",
        "eio.fs.PermissionDenied, creating directory <cwd:to-root/tmp/foo>",
        "eio.fs.PermissionDenied, creating directory <cwd:../foo>",
        "eio.fs.AlreadyExists, creating directory <cwd:to-subdir>",
        "eio.fs.NotFound, creating directory <cwd:dangle/foo>",
    ]
    assert fsenv.isdir("subdir/nested")


def test_mkdirs(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        nested = cwd / "subdir1" / "subdir2" / "subdir3"
        await try_mkdirs(nested)
        assert await nested.is_directory()
        one_more = nested / "subdir4"
        await try_mkdirs(one_more)
        await try_mkdirs(one_more, exists_ok=True)
        await try_mkdirs(one_more)
        assert await one_more.is_directory()
        await try_mkdirs(cwd / ".." / "outside")

    fsenv.run(main)
    assert trace.lines() == [
        "mkdirs <cwd:subdir1/subdir2/subdir3> -> ok",
        "mkdirs <cwd:subdir1/subdir2/subdir3/subdir4> -> ok",
        "mkdirs <cwd:subdir1/subdir2/subdir3/subdir4> -> ok",
        "eio.fs.AlreadyExists, creating directory <cwd:subdir1/subdir2/subdir3/subdir4>",
        "eio.fs.PermissionDenied, examining <cwd:..>, creating directory <cwd:../outside>",
    ]


def test_mkdirs_edge_cases(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await try_mkdirs(cwd / ".")
        await try_mkdirs(cwd / "././")
        lots_of_slashes = "./test//////////////test"
        await try_mkdirs(cwd / lots_of_slashes)
        assert await (cwd / lots_of_slashes).is_directory()
        await try_mkdirs(cwd / "..")

    fsenv.run(main)
    assert trace.lines() == [
        "eio.fs.AlreadyExists, creating directory <cwd:.>",
        "eio.fs.AlreadyExists, creating directory <cwd:././>",
        "mkdirs <cwd:./test//////////////test> -> ok",
        "eio.fs.PermissionDenied, creating directory <cwd:..>",
    ]


def test_mkdirs_default_is_exists_ok(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> bool:
        await (cwd / "a/b").mkdirs()
        await (cwd / "a/b").mkdirs()
        return await (cwd / "a/b").is_directory()

    assert fsenv.run(main) is True


def test_mkdirs_with_fs(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> bool:
        path = fs / "foo/bar"
        await path.mkdirs(perm=0o700)
        return await path.is_directory()

    assert fsenv.run(main) is True


# -- split and join -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("foo/bar", ("foo", "bar")),
        ("/foo/bar", ("/foo", "bar")),
        ("/foo/bar/baz", ("/foo/bar", "baz")),
        ("/foo/bar//baz/", ("/foo/bar", "baz")),
        ("bar", ("", "bar")),
        ("/bar", ("/", "bar")),
        (".", ("", ".")),
        ("./", ("", ".")),
        ("", None),
        ("/", None),
        ("///", None),
        ("/a//b/", ("/a", "b")),
    ],
)
def test_split(path: str, expected: tuple[str, str] | None) -> None:
    assert split(path) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [("a", "b", "a/b"), ("/", "a", "/a"), ("", "b", "b"), ("a/", "b", "a/b")])
def test_join(a: str, b: str, expected: str) -> None:
    assert join(a, b) == expected


@pytest.mark.parametrize("path", ["/a/b", "/a", "a/b", "bar"])
def test_split_join(path: str) -> None:
    parts = split(path)
    assert parts is not None
    assert join(*parts) == path


def test_extending_paths(fsenv: FsEnv) -> None:
    base = fsenv.cwd_path()
    cases = [
        ("foo", "bar"),
        ("foo/", "bar"),
        ("foo", "/bar"),
        ("foo", ""),
        ("foo/", ""),
        ("", ""),
        ("", "bar"),
        ("/", ""),
    ]
    got = [(eio.Path(base.dir, a) / b).path for a, b in cases]
    assert got == ["foo/bar", "foo/bar", "/bar", "foo/", "foo/", "", "bar", "/"]


def test_path_split_and_str(fsenv: FsEnv) -> None:
    cwd = fsenv.cwd_path()
    parts = (cwd / "a" / "b.txt").split()
    assert parts is not None
    assert (str(parts[0]), parts[1]) == ("<cwd:a>", "b.txt")
    assert str(cwd) == "<cwd>"
    assert str(cwd / 'we"ird\n') == '<cwd:we\\"ird\\n>'
    assert cwd.split() is None
    assert str(cwd / PurePosixPath("a/b")) == "<cwd:a/b>"
    with pytest.raises(TypeError, match="^eio.Path /: step must be a str \\(bytes paths are not supported\\), got bytes$"):
        cwd / b"x"  # pyright: ignore[reportOperatorIssue, reportUnusedExpression] - the error tested


# -- unlink, rmdir, rmtree ----------------------------------------------------------------


def test_unlink(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "subdir").mkdir()
        await (cwd / "to-subdir").symlink(link_to="subdir")
        await (cwd / "file").save("data", create="exclusive", perm=0o600)
        await (cwd / "subdir/file2").save("data2", create="exclusive", perm=0o600)
        await try_read_file(cwd / "file")
        await try_read_file(cwd / "subdir/file2")
        assert await (cwd / "file").kind() == "regular_file"
        await try_unlink(cwd / "file")
        assert await (cwd / "file").kind() == "not_found"
        await try_unlink(cwd / "subdir/file2")
        await try_read_file(cwd / "file")
        await try_read_file(cwd / "subdir/file2")
        await try_write_file(cwd / "subdir/file2", "data2", create="exclusive")
        await try_unlink(cwd / "to-subdir/file2")
        await try_read_file(cwd / "subdir/file2")

    fsenv.run(main)
    assert trace.lines() == [
        "read <cwd:file> -> b'data'",
        "read <cwd:subdir/file2> -> b'data2'",
        "unlink <cwd:file> -> ok",
        "unlink <cwd:subdir/file2> -> ok",
        "eio.fs.NotFound, opening <cwd:file>",
        "eio.fs.NotFound, opening <cwd:subdir/file2>",
        "write <cwd:subdir/file2> -> ok",
        "unlink <cwd:to-subdir/file2> -> ok",
        "eio.fs.NotFound, opening <cwd:subdir/file2>",
    ]


def test_unlink_missing_or_out_of_scope(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "subdir").mkdir()
        await (cwd / "to-subdir").symlink(link_to="subdir")
        await (cwd / "to-root").symlink(link_to="/")
        await try_unlink(cwd / "missing")
        await try_unlink(cwd / "../foo")
        await try_unlink(cwd / "to-subdir/foo")
        await try_unlink(cwd / "to-root/foo")
        await (cwd / "missing").unlink(missing_ok=True)
        eio.traceln("missing_ok: ok")

    fsenv.run(main)
    assert trace.lines() == [
        "eio.fs.NotFound, removing file <cwd:missing>",
        "eio.fs.PermissionDenied, removing file <cwd:../foo>",
        "eio.fs.NotFound, removing file <cwd:to-subdir/foo>",
        "eio.fs.PermissionDenied, removing file <cwd:to-root/foo>",
        "missing_ok: ok",
    ]


def test_symlinks_followed_by_reads_not_by_unlink(trace: Trace, tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await try_mkdir(cwd / "dir1")
        file1 = cwd / "dir1" / "file1"
        file2 = cwd / "file2"
        await try_write_file(file1, "data1", create="exclusive", perm=0o600)
        await try_write_file(file2, "data2", create="exclusive", perm=0o400)
        await (cwd / "link1").symlink(link_to="dir1/file1")
        await (cwd / "dir1/link2").symlink(link_to="../file2")
        await (cwd / "linkdir").symlink(link_to="dir1")
        await (cwd / "linkroot").symlink(link_to="/")
        await try_read_file(file1)
        await try_read_file(cwd / "link1")
        await try_read_file(cwd / "linkdir" / "file1")
        await try_stat(file1)
        await try_stat(cwd / "link1")
        await try_stat(cwd / "linkdir")
        await try_stat(cwd / "linkroot")
        await try_stat(fs / "linkroot")
        try:
            chdir(fsenv, "dir1")
            await try_read_file(cwd / "file1")
            # Removes the link itself, even though it points outside cwd.
            await (cwd / "link2").unlink()
        finally:
            chdir(fsenv, "..")
        await try_read_file(file2)
        await (cwd / "link1").unlink()
        await (cwd / "linkdir").unlink()
        await (cwd / "linkroot").unlink()

    fsenv.run(main)
    assert trace.lines() == [
        "mkdir <cwd:dir1> -> ok",
        "write <cwd:dir1/file1> -> ok",
        "write <cwd:file2> -> ok",
        "read <cwd:dir1/file1> -> b'data1'",
        "read <cwd:link1> -> b'data1'",
        "read <cwd:linkdir/file1> -> b'data1'",
        "<cwd:dir1/file1> -> regular_file",
        "<cwd:link1> -> symbolic_link / regular_file",
        "<cwd:linkdir> -> symbolic_link / directory",
        "<cwd:linkroot> -> symbolic_link / PermissionDenied",
        "<fs:linkroot> -> symbolic_link / directory",
        "chdir 'dir1'",
        "read <cwd:file1> -> b'data1'",
        "chdir '..'",
        "read <cwd:file2> -> b'data2'",
    ]
    assert sorted(fsenv.listdir()) == ["dir1", "file2"]
    assert fsenv.listdir("dir1") == ["file1"]


def test_rmdir(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "subdir").mkdir()
        await (cwd / "to-subdir").symlink(link_to="subdir")
        await try_mkdir(cwd / "d1")
        await try_mkdir(cwd / "subdir/d2")
        await try_read_dir(cwd / "d1")
        await try_read_dir(cwd / "subdir/d2")
        await try_rmdir(cwd / "d1")
        await try_rmdir(cwd / "subdir/d2")
        await try_read_dir(cwd / "d1")
        await try_read_dir(cwd / "subdir/d2")
        await try_mkdir(cwd / "subdir/d3")
        await try_rmdir(cwd / "to-subdir/d3")
        await try_read_dir(cwd / "subdir/d3")

    fsenv.run(main)
    assert trace.lines() == [
        "mkdir <cwd:d1> -> ok",
        "mkdir <cwd:subdir/d2> -> ok",
        "read_dir <cwd:d1> -> []",
        "read_dir <cwd:subdir/d2> -> []",
        "rmdir <cwd:d1> -> ok",
        "rmdir <cwd:subdir/d2> -> ok",
        "eio.fs.NotFound, reading directory <cwd:d1>",
        "eio.fs.NotFound, reading directory <cwd:subdir/d2>",
        "mkdir <cwd:subdir/d3> -> ok",
        "rmdir <cwd:to-subdir/d3> -> ok",
        "eio.fs.NotFound, reading directory <cwd:subdir/d3>",
    ]


def test_rmdir_missing_or_out_of_scope(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "subdir").mkdir()
        await (cwd / "to-subdir").symlink(link_to="subdir")
        await (cwd / "to-root").symlink(link_to="/")
        await try_rmdir(cwd / "missing")
        await try_rmdir(cwd / "../foo")
        await try_rmdir(cwd / "to-subdir/foo")
        await try_rmdir(cwd / "to-root/foo")

    fsenv.run(main)
    assert trace.lines() == [
        "eio.fs.NotFound, removing directory <cwd:missing>",
        "eio.fs.PermissionDenied, removing directory <cwd:../foo>",
        "eio.fs.NotFound, removing directory <cwd:to-subdir/foo>",
        "eio.fs.PermissionDenied, removing directory <cwd:to-root/foo>",
    ]


def test_rmtree(trace: Trace, tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        foo = cwd / "foo"
        await try_mkdirs(foo / "bar" / "baz")
        await try_write_file(foo / "bar/file1", "data", create="exclusive")
        await (foo / "link").symlink(link_to="/")  # removed itself, its target untouched
        await try_rmtree(foo)
        assert await foo.kind(follow=False) == "not_found"
        eio.traceln("A second rmtree is OK with missing_ok:")
        await try_rmtree(foo, missing_ok=True)
        eio.traceln("But not without:")
        await try_rmtree(foo, missing_ok=False)

    fsenv.run(main)
    assert trace.lines() == [
        "mkdirs <cwd:foo/bar/baz> -> ok",
        "write <cwd:foo/bar/file1> -> ok",
        "rmtree <cwd:foo> -> ok",
        "A second rmtree is OK with missing_ok:",
        "rmtree <cwd:foo> -> ok",
        "But not without:",
        "eio.fs.NotFound, removing file <cwd:foo>",
    ]
    assert fsenv.listdir() == []


# -- subtrees --------------------------------------------------------------------------------


def test_subtree_sandbox(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        async with eio.Switch.run() as sw:
            await try_mkdir(cwd / "sandbox")
            subdir = await (cwd / "sandbox").open_subtree(sw)
            await (subdir / "test-file").save("data", create="exclusive", perm=0o600)
            await try_mkdir(subdir / "../new-sandbox")
            eio.traceln(f"Got {await (cwd / 'sandbox/test-file').load()!r}")

    fsenv.run(main)
    assert trace.lines() == [
        "mkdir <cwd:sandbox> -> ok",
        "eio.fs.PermissionDenied, creating directory <sandbox:../new-sandbox>",
        "Got b'data'",
    ]


def test_open_subtree_cases(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "foo/bar").mkdirs(perm=0o700)

        async def test(path: eio.Path) -> None:
            try:
                async with eio.Switch.run() as sw:
                    await path.open_subtree(sw)
                    eio.traceln(f"open_subtree {path} -> OK")
            except eio.Io as ex:
                eio.traceln(err(ex))

        await test(cwd / "foo/bar")
        await test(cwd / "..")
        await test(cwd / ".")
        await test(cwd / "/")
        await test(cwd / "foo/bar/..")
        await test(fs / "foo/bar")
        await (cwd / "foo/up").symlink(link_to="..")
        await test(cwd / "foo/up/foo/bar")
        await test(cwd / "foo/up/../bar")
        await (cwd / "foo/root").symlink(link_to="/")
        await test(cwd / "foo/root/..")
        await test(cwd / "missing")

    fsenv.run(main)
    assert trace.lines() == [
        "open_subtree <cwd:foo/bar> -> OK",
        "eio.fs.PermissionDenied, opening directory <cwd:..>",
        "open_subtree <cwd:.> -> OK",
        "eio.fs.PermissionDenied, opening directory <cwd:/>",
        "open_subtree <cwd:foo/bar/..> -> OK",
        "open_subtree <fs:foo/bar> -> OK",
        "open_subtree <cwd:foo/up/foo/bar> -> OK",
        "eio.fs.PermissionDenied, opening directory <cwd:foo/up/../bar>",
        "eio.fs.PermissionDenied, opening directory <cwd:foo/root/..>",
        "eio.fs.NotFound, opening directory <cwd:missing>",
    ]


def test_subtree_refuses_symlink_created_later(tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    """A symlink made after the subtree was opened (by anyone) can't lead out of it."""
    fsenv.write_bytes("secret.txt", b"secret")
    fsenv.mkdir("box")
    # The absolute path of the current directory, as the backend sees it.
    here = str(tmp_cwd) if fsenv.name == "uring" else "/"

    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        async with (cwd / "box").open_subtree() as box:
            fsenv.symlink("../secret.txt", "box/late")
            fsenv.symlink(here, "box/abs")
            for name in ("late", "abs/secret.txt"):
                with pytest.raises(eio.fs.PermissionDenied) as info:
                    await (box / name).load()
                assert info.value.__notes__ == [f"opening <box:{name}>"]
            assert await (box / "late").read_link() == "../secret.txt"

    fsenv.run(main)


def test_subtree_async_with_closes(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "d").mkdir()
        async with (cwd / "d").open_subtree() as d:
            await (d / "x").save("1", create="exclusive")
            eio.traceln(d, await d.read_dir())
        with pytest.raises(ValueError, match=r"^I/O operation on closed directory <d>$"):
            await d.read_dir()

    fsenv.run(main)
    assert trace.lines() == ["<d> ['x']"]


def test_use_after_close(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        async with eio.Switch.run() as sw:
            closed = await cwd.open_subtree(sw)
        try:
            await closed.read_dir()
        except ValueError:
            eio.traceln("Got ValueError for closed FD")

    fsenv.run(main)
    assert trace.lines() == ["Got ValueError for closed FD"]


def test_open_subtree_needs_switch_when_awaited(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await cwd.open_subtree()

    with pytest.raises(TypeError, match=r"open_subtree needs a switch to be awaited"):
        fsenv.run(main)


# -- unconfined access ---------------------------------------------------------------------


def test_operations_on_fs_itself(trace: Trace, tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (fs / "foo").mkdir(perm=0o700)
        fsenv.chdir("foo")
        try:
            await try_mkdir(fs)
            await try_symlink(fs, link_to="should-fail")
            await try_read_link(fs)
            await try_stat(fs)
            await try_read_dir(fs)
            async with fs.open_subtree() as confined:
                await try_stat(confined)
        finally:
            fsenv.chdir("..")

    fsenv.run(main)
    assert trace.lines() == [
        "eio.fs.AlreadyExists, creating directory <fs>",
        "eio.fs.AlreadyExists, creating symlink <fs> -> should-fail",
        "eio.Io, reading target of symlink <fs>",
        "<fs> -> directory",
        "read_dir <fs> -> []",
        "<.> -> directory",
    ]


def test_fs_reaches_the_parent(trace: Trace, tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await try_mkdir(cwd / "fs-test")
        chdir(fsenv, "fs-test")
        try:
            await try_mkdir(cwd / "../outside-cwd")
            await try_write_file(cwd / "../test-file", "data", create="exclusive")
            await try_mkdir(fs / "../outside-cwd")
            await try_write_file(fs / "../test-file", "data", create="exclusive")
        finally:
            chdir(fsenv, "..")

    fsenv.run(main)
    assert trace.lines() == [
        "mkdir <cwd:fs-test> -> ok",
        "chdir 'fs-test'",
        "eio.fs.PermissionDenied, creating directory <cwd:../outside-cwd>",
        "eio.fs.PermissionDenied, opening <cwd:../test-file>",
        "mkdir <fs:../outside-cwd> -> ok",
        "write <fs:../test-file> -> ok",
        "chdir '..'",
    ]
    assert sorted(fsenv.listdir()) == ["fs-test", "outside-cwd", "test-file"]


def test_read_dir(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await try_mkdir(cwd / "readdir")
        async with (cwd / "readdir").open_subtree() as tmpdir:
            await try_mkdir(tmpdir / "test-1")
            await try_mkdir(tmpdir / "test-2")
            await try_write_file(tmpdir / "test-1/file", "data", create="exclusive")
            await try_read_dir(tmpdir)
            await try_read_dir(tmpdir / ".")
            await try_read_dir(tmpdir / "..")
            await try_read_dir(tmpdir / "test-3")
            await (cwd / "readdir/link-1").symlink(link_to="test-1")
            await try_read_dir(tmpdir / "link-1")

    fsenv.run(main)
    assert trace.lines() == [
        "mkdir <cwd:readdir> -> ok",
        "mkdir <readdir:test-1> -> ok",
        "mkdir <readdir:test-2> -> ok",
        "write <readdir:test-1/file> -> ok",
        "read_dir <readdir> -> ['test-1', 'test-2']",
        "read_dir <readdir:.> -> ['test-1', 'test-2']",
        "eio.fs.PermissionDenied, reading directory <readdir:..>",
        "eio.fs.NotFound, reading directory <readdir:test-3>",
        "read_dir <readdir:link-1> -> ['file']",
    ]


def test_read_dir_permission_from_the_os(trace: Trace, tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    if fsenv.name == "uring" and os.geteuid() == 0:
        pytest.skip("root may read any directory")
    fsenv.mkdir("test-no-access", 0)
    try:
        fsenv.run(lambda cwd, fs: try_read_dir(cwd / "test-no-access"))
    finally:
        fsenv.chmod("test-no-access", 0o700)
    assert trace.lines() == ["eio.fs.PermissionDenied, reading directory <cwd:test-no-access>"]


def test_absolute_paths_need_fs(trace: Trace, uring_fs: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        b = bytearray()
        async with (fs / os.devnull).open_in() as flow:
            await eio.flow.copy(flow, eio.flow.buffer_sink(b))
        eio.traceln(f"Read {os.devnull!r} and got {bytes(b)!r}")
        eio.traceln("Trying with cwd instead fails:")
        async with (cwd / os.devnull).open_in() as flow:
            await eio.flow.copy(flow, eio.flow.buffer_sink(b))

    with pytest.raises(eio.fs.PermissionDenied) as info:
        uring_fs.run(main)
    assert info.value.__notes__ == ["opening <cwd:/dev/null>"]
    assert trace.lines() == ["Read '/dev/null' and got b''", "Trying with cwd instead fails:"]


def test_symlinks_and_sandboxing(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "hello.txt").save("Hello World!", create="exclusive")
        await try_symlink(cwd / "../world.txt", link_to="hello.txt")
        await try_symlink(cwd / "/world.txt", link_to="hello.txt")
        await try_symlink(cwd / "world.txt", link_to="hello.txt")
        eio.traceln(f"world.txt -> hello.txt: {(await (cwd / 'world.txt').load()).decode()}")
        await try_symlink(cwd / "world.txt", link_to="hello.txt")
        await try_symlink(cwd / "root", link_to="/")
        await try_read_dir(cwd / "root")

    fsenv.run(main)
    assert trace.lines() == [
        "eio.fs.PermissionDenied, creating symlink <cwd:../world.txt> -> hello.txt",
        "eio.fs.PermissionDenied, creating symlink <cwd:/world.txt> -> hello.txt",
        "symlink <cwd:world.txt> -> 'hello.txt'",
        "world.txt -> hello.txt: Hello World!",
        "eio.fs.AlreadyExists, creating symlink <cwd:world.txt> -> hello.txt",
        "symlink <cwd:root> -> '/'",
        "eio.fs.PermissionDenied, reading directory <cwd:root>",
    ]


# -- rename --------------------------------------------------------------------------------


async def _rename_script(fsenv: FsEnv, t: eio.Path) -> None:
    await try_mkdir(t / "tmp")
    await try_rename(t / "tmp", t / "dir")
    await try_write_file(t / "foo", "FOO", create="exclusive")
    await try_rename(t / "foo", t / "dir/bar")
    await try_read_file(t / "dir/bar")
    async with (t / "dir").open_subtree() as d:
        await try_rename(d / "bar", t / "foo")
    await try_read_file(t / "foo")
    fsenv.chdir("dir")
    try:
        await try_rename(t / "../foo", t / "foo")
    finally:
        fsenv.chdir("..")


def test_rename(trace: Trace, tmp_cwd: StdPath, fsenv: FsEnv) -> None:
    fsenv.run(lambda cwd, fs: _rename_script(fsenv, cwd))
    assert trace.lines() == [
        "mkdir <cwd:tmp> -> ok",
        "rename <cwd:tmp> to <cwd:dir> -> ok",
        "write <cwd:foo> -> ok",
        "rename <cwd:foo> to <cwd:dir/bar> -> ok",
        "read <cwd:dir/bar> -> b'FOO'",
        "rename <dir:bar> to <cwd:foo> -> ok",
        "read <cwd:foo> -> b'FOO'",
        "eio.fs.PermissionDenied, renaming <cwd:../foo> to <cwd:foo>",
    ]
    # Then unconfined, over what the confined run left.
    fsenv.rmdir("dir")
    fsenv.run(lambda cwd, fs: _rename_script(fsenv, fs))
    assert trace.lines() == [
        "mkdir <fs:tmp> -> ok",
        "rename <fs:tmp> to <fs:dir> -> ok",
        "eio.fs.AlreadyExists, opening <fs:foo>",
        "rename <fs:foo> to <fs:dir/bar> -> ok",
        "read <fs:dir/bar> -> b'FOO'",
        "rename <dir:bar> to <fs:foo> -> ok",
        "read <fs:foo> -> b'FOO'",
        "rename <fs:../foo> to <fs:foo> -> ok",
    ]


def test_rename_to_a_foreign_directory_is_refused(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "a").save("x", create="exclusive")
        foreign = eio.Path(_ForeignDir(), "b")
        await (cwd / "a").rename(foreign)

    with pytest.raises(eio.fs.PermissionDenied) as info:
        fsenv.run(main)
    assert info.value.__notes__ == ["renaming <cwd:a> to <elsewhere:b>"]


class _ForeignDir:
    """A directory capability of some other backend (only its label is used)."""

    label = "elsewhere"

    async def open_in(self, sw: eio.Switch | None, path: str, /) -> eio.file.Ro:
        raise NotImplementedError

    async def open_out(
        self, sw: eio.Switch | None, path: str, append: bool, create: eio.fs.Create, perm: int, /
    ) -> eio.file.Rw:
        raise NotImplementedError

    async def mkdir(self, path: str, perm: int, /) -> None:
        raise NotImplementedError

    async def open_dir(self, sw: eio.Switch | None, path: str, /) -> eio.fs.ClosableDir:
        raise NotImplementedError

    async def read_dir(self, path: str, /) -> list[str]:
        raise NotImplementedError

    async def stat(self, path: str, follow: bool, /) -> eio.file.Stat:
        raise NotImplementedError

    async def unlink(self, path: str, /) -> None:
        raise NotImplementedError

    async def rmdir(self, path: str, /) -> None:
        raise NotImplementedError

    async def rename(self, old_path: str, new_dir: eio.fs.Dir, new_path: str, /) -> None:
        raise NotImplementedError

    async def symlink(self, path: str, link_to: str, /) -> None:
        raise NotImplementedError

    async def read_link(self, path: str, /) -> str:
        raise NotImplementedError

    def native(self, path: str, /) -> str | None:
        return None


# -- stat ----------------------------------------------------------------------------------------


def test_stat_kinds(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await try_mkdir(cwd / "stat_subdir")
        assert await (cwd / "stat_subdir").is_directory()
        assert not await (cwd / "stat_subdir").is_file()
        await try_write_file(cwd / "stat_reg", "kingbula", create="exclusive")
        assert await (cwd / "stat_reg").is_file()
        assert not await (cwd / "missing").is_file()
        st = await (cwd / "stat_reg").stat()
        eio.traceln(f"size={st.size} perm={oct(st.perm)} nlink={st.nlink} kind={st.kind}")
        assert (st.ino, st.dev, st.uid, st.gid, st.mtime) == fsenv.ids("stat_reg")

    fsenv.run(main)
    assert trace.lines() == [
        "mkdir <cwd:stat_subdir> -> ok",
        "write <cwd:stat_reg> -> ok",
        "size=8 perm=0o600 nlink=1 kind=regular_file",
    ]


def test_fstatat(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await try_mkdir(cwd / "stat_subdir2")
        await (cwd / "symlink").symlink(link_to="stat_subdir2")
        await (cwd / "broken-symlink").symlink(link_to="missing")
        await try_stat(cwd / "stat_subdir2")
        await try_stat(cwd / "symlink")
        await try_stat(cwd / "broken-symlink")
        await try_stat(cwd)
        await try_stat(cwd / "..")
        await try_stat(cwd / "stat_subdir2/..")
        await (cwd / "parent-symlink").symlink(link_to="..")
        await try_stat(cwd / "parent-symlink")
        await try_stat(cwd / "missing1" / "missing2")

    fsenv.run(main)
    assert trace.lines() == [
        "mkdir <cwd:stat_subdir2> -> ok",
        "<cwd:stat_subdir2> -> directory",
        "<cwd:symlink> -> symbolic_link / directory",
        "<cwd:broken-symlink> -> symbolic_link / NotFound",
        "<cwd> -> directory",
        "<cwd:..> -> PermissionDenied",
        "<cwd:stat_subdir2/..> -> directory",
        "<cwd:parent-symlink> -> symbolic_link / PermissionDenied",
        "<cwd:missing1/missing2> -> NotFound",
    ]


def test_stat_notes(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "missing").stat()

    with pytest.raises(eio.fs.NotFound) as info:
        fsenv.run(main)
    assert info.value.__notes__ == ["examining <cwd:missing>"]


def test_read_link(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "symlink").symlink(link_to="file")
        await try_read_link(cwd / "symlink")
        await try_read_link(fs / "symlink")
        await try_write_file(cwd / "file", "data", create="exclusive")
        await try_read_link(cwd / "file")
        await try_read_link(cwd / "../unknown")

    fsenv.run(main)
    assert trace.lines() == [
        "read_link <cwd:symlink> -> 'file'",
        "read_link <fs:symlink> -> 'file'",
        "write <cwd:file> -> ok",
        "eio.Io, reading target of symlink <cwd:file>",
        "eio.fs.PermissionDenied, reading target of symlink <cwd:../unknown>",
    ]


# -- files: pread/pwrite, seek, truncate, sync, lines ------------------------------------------


def test_pread_pwrite(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        async with (cwd / "test.txt").open_out(create="exclusive") as file:
            await eio.flow.copy_string("+-!", file)
            await eio.file.pwrite_all(file, [b"abc", b"123"], file_offset=2)
            buf1 = bytearray(3)
            buf2 = bytearray(4)
            await eio.file.pread_exact(file, [buf1, buf2], file_offset=1)
            eio.traceln(f" {bytes(buf1)!r}/{bytes(buf2)!r}")

    fsenv.run(main)
    assert trace.lines() == [" b'-ab'/b'c123'"]


def test_pread_at_end(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        async with (cwd / "test.txt").open_out(create="or_truncate") as file:
            await eio.flow.copy_string("abc", file)
            buf = bytearray(10)
            got = await eio.file.pread(file, buf, file_offset=0)
            eio.traceln(f"Read {bytes(buf[:got])!r}")
            try:
                await eio.file.pread(file, buf, file_offset=3)
                raise AssertionError("read past the end")
            except eio.EndOfFile:
                eio.traceln("End-of-file")
            with pytest.raises(eio.EndOfFile):
                await eio.file.pread_exact(file, buf, file_offset=1)
            assert bytes(buf[:2]) == b"bc"

    fsenv.run(main)
    assert trace.lines() == ["Read b'abc'", "End-of-file"]


def test_seek_truncate_sync(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        async with (cwd / "seek-test").open_out(create="if_missing", perm=0o700) as file:
            await eio.file.truncate(file, 10)
            assert (await eio.file.stat(file)).size == 10
            assert await eio.file.size(file) == 10
            eio.traceln(f"seek from start: {await eio.file.seek(file, 3, 'set')}")
            eio.traceln(f"relative seek: {await eio.file.seek(file, 2, 'cur')}")
            eio.traceln(f"seek from end: {await eio.file.seek(file, -1, 'end')}")
            await eio.file.sync(file)
            # Flow reads and writes use the position.
            await eio.file.seek(file, 2)
            await eio.flow.copy_string("XY", file)
            assert await eio.file.seek(file, 0, "cur") == 4
            await eio.file.seek(file, 0)
            buf = bytearray(10)
            await eio.flow.read_exact(file, buf)
            assert bytes(buf) == b"\0\0XY\0\0\0\0\0\0"

    fsenv.run(main)
    assert trace.lines() == ["seek from start: 3", "relative seek: 5", "seek from end: 9"]


def test_lines(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "test-data").save("one\ntwo\nthree", create="exclusive")
        async for line in (cwd / "test-data").lines():
            eio.traceln(f"Line: {line.decode()}")

    fsenv.run(main)
    assert trace.lines() == ["Line: one", "Line: two", "Line: three"]


def test_lines_left_early_closes_the_file(trace: Trace, fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "test-data").save("one\ntwo\nthree", create="exclusive")
        async with (cwd / "test-data").lines() as lines:
            async for line in lines:
                eio.traceln(f"Line: {line.decode()}")
                break
        lines = (cwd / "test-data").lines()
        assert await lines.__anext__() == b"one"
        await lines.aclose()
        with pytest.raises(StopAsyncIteration):
            await lines.__anext__()

    fsenv.run(main)
    assert trace.lines() == ["Line: one"]


def test_lines_of_missing_file(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        async for _ in (cwd / "missing").lines():
            pass

    with pytest.raises(eio.fs.NotFound) as info:
        fsenv.run(main)
    assert info.value.__notes__ == ["opening <cwd:missing>"]


def test_open_in_with_switch_closes_at_switch_end(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "f").save("data", create="exclusive")
        async with eio.Switch.run() as sw:
            f = await (cwd / "f").open_in(sw)
            if fsenv.name == "uring":
                from eio_backend_uring._fs import UringFile

                assert isinstance(f, UringFile)
                fd = f.fileno()
                assert os.read(fd, 10) == b"data"
            else:
                assert await eio.flow.read_all(f) == b"data"
        with pytest.raises(ValueError, match=r"^I/O operation on closed file <cwd:f>$"):
            await eio.flow.single_read(f, bytearray(1))
        await f.close()  # idempotent

    fsenv.run(main)


def test_open_in_without_switch_must_be_async_with(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await cwd.open_in()

    with pytest.raises(TypeError, match=r"^open_in needs a switch to be awaited"):
        fsenv.run(main)


def test_read_only_file_refuses_writes(fsenv: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "f").save("data", create="exclusive")
        async with (cwd / "f").open_in() as f:
            await eio.flow.copy_string("x", f)  # pyright: ignore[reportArgumentType] - an Ro is no Sink

    with pytest.raises(eio.Io) as info:
        fsenv.run(main)
    assert info.value.errno == errno.EBADF


def test_load_larger_and_special_files(tmp_cwd: StdPath, uring_fs: FsEnv) -> None:
    data = bytes(range(256)) * 1000
    (tmp_cwd / "big").write_bytes(data)

    async def main(cwd: eio.Path, fs: eio.Path) -> tuple[bytes, bytes, bytes, bytes, bytes]:
        big = await (cwd / "big").load()
        status = await (fs / "/proc/self/status").load()  # size 0 in stat: read until the end
        async with (cwd / "big").open_in() as f:
            await eio.file.seek(f, 1000)
            rest = await eio.flow.read_all(f)
        async with (cwd / "big").open_in() as f:
            from eio_backend_uring._fs import UringFile

            assert isinstance(f, UringFile)
            await eio.flow.read_exact(f, bytearray(10))
            after_read = await f.read_all()  # the fast path load uses, from the position
            await eio.file.seek(f, -5, "end")
            after_seek = await f.read_all()
            assert await f.read_all() == b""
        return big, status, rest, after_read, after_seek

    big, status, rest, after_read, after_seek = uring_fs.run(main)
    assert big == data
    assert status.startswith(b"Name:")
    assert rest == data[1000:]
    assert after_read == data[10:]
    assert after_seek == data[-5:]


def test_fd_interop(trace: Trace, uring_fs: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        async with (fs / os.devnull).open_in() as flow:
            from eio_backend_uring._fs import UringFile

            assert isinstance(flow, UringFile)
            fd = flow.fileno()
            eio.traceln(f"Read {len(os.read(fd, 10))} bytes from null device")

    uring_fs.run(main)
    assert trace.lines() == ["Read 0 bytes from null device"]


def test_cancelling_while_readable(uring_fs: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        async with (fs / "/dev/zero").open_out(create="never") as null:

            async def reader() -> None:
                buf = bytearray(4)
                for _ in range(10):
                    await eio.flow.read_exact(null, buf)
                raise AssertionError("not cancelled")

            async def fail() -> None:
                raise RuntimeError("Simulated error")

            await eio.fiber.both(reader, fail)

    with pytest.raises(RuntimeError, match="^Simulated error$"):
        uring_fs.run(main)


def test_cancelled_open_leaks_nothing(fsenv: FsEnv) -> None:
    """Many opens cancelled at once: every descriptor is closed, whichever way each op ended."""

    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        await (cwd / "f").save("data", create="exclusive")

        async def opener() -> None:
            async with eio.Switch.run() as sw:
                for _ in range(1000):
                    await (cwd / "f").open_in(sw)

        async def stop() -> None:
            for _ in range(20):
                await eio.fiber.yield_()

        await eio.fiber.first(opener, stop)

    fsenv.run(main)


# -- native paths --------------------------------------------------------------------------------


def test_native(trace: Trace, uring_fs: FsEnv) -> None:
    async def main(cwd: eio.Path, fs: eio.Path) -> None:
        def test(x: eio.Path) -> None:
            eio.traceln(f"{x} -> {x.native()}")

        test(fs)
        test(fs / "/")
        test(fs / "/etc/hosts")
        test(fs / ".")
        test(fs / "foo/bar")
        test(cwd)
        test(cwd / "..")
        async with (fs / ".").open_subtree() as x:
            eio.traceln(f"subtree (<fs> / '.') -> {x.native()}")
        sub = cwd / "native-sub"
        await sub.mkdir(perm=0o700)
        async with sub.open_subtree() as sub:
            test(sub)
            test(sub / "foo.txt")
            test(sub / ".")
            test(sub / "..")
            test(sub / "/etc/passwd")
        assert (cwd / "x").native_exn() == "./x"

    uring_fs.run(main)
    assert trace.lines() == [
        "<fs> -> .",
        "<fs:/> -> /",
        "<fs:/etc/hosts> -> /etc/hosts",
        "<fs:.> -> .",
        "<fs:foo/bar> -> ./foo/bar",
        "<cwd> -> .",
        "<cwd:..> -> ./..",
        "subtree (<fs> / '.') -> .",
        "<native-sub> -> ./native-sub/",
        "<native-sub:foo.txt> -> ./native-sub/foo.txt",
        "<native-sub:.> -> ./native-sub/.",
        "<native-sub:..> -> ./native-sub/..",
        "<native-sub:/etc/passwd> -> /etc/passwd",
    ]


# -- the benchmark still runs ----------------------------------------------------------------


def test_bench_files_smoke(tmp_cwd: StdPath, uring_fs: FsEnv) -> None:
    """bench/files.py's eio runs read every file right (no timing checked)."""
    import sys

    root = str(StdPath(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench import files

    names, tail = files.make_files(str(tmp_cwd), 5, 64)
    for bench in (files.eio_subtree, files.eio_fs):
        sample = bench(str(tmp_cwd), names, tail)
        assert (sample.ops, sample.count) == (5, 5)
