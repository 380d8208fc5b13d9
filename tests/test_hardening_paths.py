"""The sandbox boundary takes only real strings.

A `str` subclass that overrides the methods the path code uses (``rfind``,
``split``, ``startswith``, ``__eq__``, ``__contains__``...), given directly or
returned by ``__fspath__``, must not steer an operation on ``env.cwd`` out of
its directory: `eio.Path` copies every path, step and link target to a plain
`str` first. Each test runs in a fresh sandbox directory (the process's
current directory) next to an ``outside`` directory holding a ``secret``
file, on the io_uring backend, and checks that nothing outside was created,
removed or read.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path as StdPath
from typing import SupportsIndex

import eio
import pytest

pytest.importorskip("eio_backend_uring._ring", reason="the io_uring backend is not installed")

from eio_backend_uring._fs import cwd_dir  # noqa: E402
from eio_backend_uring._ring import unavailable_reason  # noqa: E402
from eio_backend_uring._run import run_plain  # noqa: E402

if unavailable_reason() is not None:
    pytest.skip(f"io_uring is not usable here: {unavailable_reason()}", allow_module_level=True)


class Sneaky(str):
    """A path whose string methods lie: it looks like one plain name, with no slash or dot-dot."""

    __slots__ = ()

    def rfind(self, *args: object) -> int:
        return -1

    def find(self, *args: object) -> int:
        return -1

    def split(self, *args: object, **kwargs: object) -> list[str]:
        return ["harmless"]

    def rsplit(self, *args: object, **kwargs: object) -> list[str]:
        return ["harmless"]

    def partition(self, *args: object) -> tuple[str, str, str]:
        return ("harmless", "", "")

    def startswith(self, *args: object) -> bool:
        return False

    def endswith(self, *args: object) -> bool:
        return False

    def __contains__(self, item: object) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __len__(self) -> int:
        return 1

    def __getitem__(self, key: SupportsIndex | slice) -> str:
        return "h"

    def __str__(self) -> str:
        return "harmless"

    def encode(self, *args: object, **kwargs: object) -> bytes:
        return b"harmless"

    def __fspath__(self) -> str:
        return "harmless"


class Lies:
    """An os.PathLike whose ``__fspath__`` returns the lying string."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __fspath__(self) -> str:
        return Sneaky(self.text)


class GivesBytes:
    def __fspath__(self) -> bytes:
        return b"../outside/made"


class GivesOther:
    def __fspath__(self) -> object:
        return 42


def _tree(root: StdPath) -> dict[str, str]:
    """Every entry under ``root``, with its kind (and a file's contents)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = StdPath(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = f"-> {os.readlink(p)}"
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_text()
    return out


@pytest.fixture
def outside(tmp_path: StdPath, monkeypatch: pytest.MonkeyPatch) -> Iterator[StdPath]:
    """``tmp/outside/secret`` next to the sandbox ``tmp/sandbox``, which is the current directory."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret").write_text("secret data")
    (out / "empty").mkdir()
    os.symlink("secret", out / "link")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    (sandbox / "inside").write_text("inside data")
    monkeypatch.chdir(sandbox)
    before = _tree(tmp_path)
    fds = sorted(os.listdir("/proc/self/fd"))
    yield out
    assert sorted(os.listdir("/proc/self/fd")) == fds
    after = _tree(tmp_path)
    # Nothing outside the sandbox changed; inside, only what a test made on purpose.
    assert {k: v for k, v in after.items() if not k.startswith("sandbox/")} == {
        k: v for k, v in before.items() if not k.startswith("sandbox/")
    }


Op = Callable[[eio.Path], Awaitable[object]]

OPS: dict[str, Op] = {
    "mkdir": lambda p: p.mkdir(),
    "mkdirs": lambda p: p.mkdirs(),
    "save": lambda p: p.save(b"x", create="or_truncate"),
    "load": lambda p: p.load(),
    "unlink": lambda p: p.unlink(),
    "rmdir": lambda p: p.rmdir(),
    "rmtree": lambda p: p.rmtree(),
    "read_link": lambda p: p.read_link(),
    "lstat": lambda p: p.stat(follow=False),
    "stat": lambda p: p.stat(),
    "read_dir": lambda p: p.read_dir(),
    "symlink": lambda p: p.symlink(link_to="secret"),
}

# The targets: a new name, the secret file, an empty directory, a symlink, all
# outside; then the same by absolute path ("ABS" is the test's own outside directory).
TARGETS = ["../outside/made", "../outside/secret", "../outside/empty", "../outside/link", "ABS/made", "ABS/secret"]


def _run(fn: Callable[[eio.Path], Awaitable[object]]) -> None:
    run_plain(lambda: fn(eio.Path(cwd_dir())))


async def _escape_fails(path: eio.Path, op: Op) -> None:
    # Refused by the sandbox (the plain string is seen as it is), or simply not
    # found for a read of a name that isn't there: never success outside.
    with pytest.raises((eio.fs.PermissionDenied, eio.fs.NotFound)):
        await op(path)


@pytest.mark.parametrize("op_name", sorted(OPS))
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("how", ["init", "step", "fspath-init", "fspath-step"])
def test_lying_strings_do_not_escape(op_name: str, target: str, how: str, outside: StdPath) -> None:
    op = OPS[op_name]
    target = target.replace("ABS", str(outside))

    async def main(cwd: eio.Path) -> None:
        if how == "init":
            path = eio.Path(cwd.dir, Sneaky(target))
        elif how == "step":
            path = cwd / Sneaky(target)
        elif how == "fspath-init":
            path = eio.Path(cwd.dir, Lies(target))
        else:
            path = cwd / Lies(target)
        # The path holds the real string, whatever the object said of itself.
        assert type(path.path) is str and path.path == str.__str__(target)
        await _escape_fails(path, op)

    _run(main)


@pytest.mark.usefixtures("outside")
def test_rename_to_or_from_a_lying_path_does_not_escape() -> None:
    async def main(cwd: eio.Path) -> None:
        with pytest.raises(eio.fs.PermissionDenied):
            await (cwd / "inside").rename(cwd / Sneaky("../outside/moved"))
        with pytest.raises(eio.fs.PermissionDenied):
            await (cwd / Sneaky("../outside/secret")).rename(cwd / "stolen")
        with pytest.raises(eio.fs.PermissionDenied):
            await (cwd / Lies("../outside/secret")).rename(cwd / Lies("stolen"))
        assert await (cwd / "inside").load() == b"inside data"

    _run(main)


@pytest.mark.usefixtures("outside")
def test_a_lying_link_target_is_stored_as_its_real_text() -> None:
    async def main(cwd: eio.Path) -> None:
        await (cwd / "ln").symlink(link_to=Sneaky("../outside/secret"))
        assert await (cwd / "ln").read_link() == "../outside/secret"
        # Following it is refused by the sandbox.
        with pytest.raises(eio.fs.PermissionDenied):
            await (cwd / "ln").load()
        await (cwd / "ln").unlink()

    _run(main)


@pytest.mark.usefixtures("outside")
def test_a_lying_path_inside_the_sandbox_works_as_its_real_text() -> None:
    async def main(cwd: eio.Path) -> None:
        # A subclass is fine as long as its text is a path inside: it is used as that text.
        await (cwd / Sneaky("sub")).mkdir()
        await (cwd / Sneaky("sub/file")).save(Sneaky("text"))
        assert await (cwd / "sub" / "file").load() == b"text"
        assert await (cwd / "sub").read_dir() == ["file"]
        await (cwd / Sneaky("sub")).rmtree()

    _run(main)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"../outside/made", r"^eio.Path: path must be a str \(bytes paths are not supported\), got bytes$"),
        (bytearray(b"x"), r"^eio.Path: path must be a str \(bytes paths are not supported\), got bytearray$"),
        (None, r"^eio.Path: path must be a str or os.PathLike\[str\], got NoneType$"),
        (42, r"^eio.Path: path must be a str or os.PathLike\[str\], got int$"),
        (GivesBytes(), r"^eio.Path: path.__fspath__\(\) must return a str \(bytes paths are not supported\), got bytes$"),
        (GivesOther(), r"^eio.Path: path.__fspath__\(\) must return a str \(bytes paths are not supported\), got int$"),
    ],
)
@pytest.mark.usefixtures("outside")
def test_other_path_types_are_refused(bad: object, message: str) -> None:
    async def main(cwd: eio.Path) -> None:
        with pytest.raises(TypeError, match=message):
            eio.Path(cwd.dir, bad)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=message.replace("eio.Path: path", "eio.Path /: step")):
            cwd / bad  # pyright: ignore[reportOperatorIssue, reportUnusedExpression] - the error tested
        with pytest.raises(TypeError, match=message.replace("eio.Path: path", "eio.Path.symlink: link_to")):
            await (cwd / "ln").symlink(link_to=bad)  # pyright: ignore[reportArgumentType] - the error tested

    _run(main)


@pytest.mark.usefixtures("outside")
def test_nul_characters_are_refused() -> None:
    async def main(cwd: eio.Path) -> None:
        with pytest.raises(ValueError, match=r"^eio.Path: path must not contain a NUL character, got 'a\\x00b'$"):
            eio.Path(cwd.dir, "a\0b")
        with pytest.raises(ValueError, match=r"^eio.Path /: step must not contain a NUL character"):
            cwd / "inside\0/../../outside"  # pyright: ignore[reportUnusedExpression] - the error tested
        with pytest.raises(ValueError, match=r"^eio.Path.symlink: link_to must not contain a NUL character"):
            await (cwd / "ln").symlink(link_to="x\0y")

    _run(main)


@pytest.mark.usefixtures("outside")
def test_a_path_is_fixed_once_made() -> None:
    async def main(cwd: eio.Path) -> None:
        p = cwd / "inside"
        with pytest.raises(AttributeError):
            p.path = Sneaky("../outside/secret")  # pyright: ignore[reportAttributeAccessIssue] - the error tested
        assert await p.load() == b"inside data"

    _run(main)


@pytest.mark.parametrize("bad_dir", ["/tmp", None, 42])
def test_the_directory_must_be_a_capability(bad_dir: object) -> None:
    with pytest.raises(TypeError, match=r"^eio.Path: dir must be a directory capability \(such as env.cwd.dir\), got "):
        eio.Path(bad_dir, "x")  # pyright: ignore[reportArgumentType] - the error tested


@pytest.mark.usefixtures("outside")
def test_a_path_is_not_a_directory_capability() -> None:
    async def main(cwd: eio.Path) -> None:
        with pytest.raises(TypeError, match=r"got Path; to name a file beneath a path, use path / 'name'$"):
            eio.Path(cwd, "x")  # pyright: ignore[reportArgumentType] - the error tested

    _run(main)


class TwoFacedPath(eio.Path):
    """A Path subclass whose ``path`` says something else than what it was made with."""

    __slots__ = ()

    @property
    def path(self) -> str:
        return Sneaky("../outside/moved")


@pytest.mark.usefixtures("outside")
def test_rename_to_a_path_subclass_uses_its_checked_text() -> None:
    async def main(cwd: eio.Path) -> None:
        with pytest.raises(eio.fs.PermissionDenied):
            await (cwd / "inside").rename(TwoFacedPath(cwd.dir, "renamed"))
        assert await (cwd / "inside").load() == b"inside data"

    _run(main)


@pytest.mark.usefixtures("outside")
def test_opening_wants_a_switch() -> None:
    async def main(cwd: eio.Path) -> None:
        with pytest.raises(TypeError, match=r"^eio.Path.open_in: sw must be an eio.Switch or None, got str$"):
            (cwd / "inside").open_in("sw")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.Path.open_out: sw must be an eio.Switch or None, got int$"):
            (cwd / "new").open_out(1)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.Path.open_subtree: sw must be an eio.Switch or None, got list$"):
            cwd.open_subtree([])  # pyright: ignore[reportArgumentType] - the error tested

    _run(main)
