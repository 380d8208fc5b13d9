"""A backend's directory capability, called directly, takes only real strings too.

`eio.Path` copies every path to a plain `str`; a program (or a library) can
also call the `eio.fs.Dir` behind a path (``path.dir``) itself. There, a
`str` subclass whose methods lie (``rfind`` says there is no slash, ``==``
says yes to everything...) must not steer an operation out of the
directory either: each backend's Dir takes the real text of what it is
given. Every test runs on every OS backend, in a sandbox directory (the
process's current directory) next to ``outside/secret``, and checks that
nothing outside changed.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path as StdPath
from typing import Any

import eio
import pytest
from conftest import run_env

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")


class Sneaky(str):
    """A path whose string methods lie: no slash, no dot-dot, equal to anything."""

    __slots__ = ()

    def rfind(self, *args: object) -> int:
        return -1

    def find(self, *args: object) -> int:
        return -1

    def split(self, *args: object, **kwargs: object) -> list[str]:
        return ["harmless"]

    def startswith(self, *args: object) -> bool:
        return False

    def __contains__(self, item: object) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0


@pytest.fixture
def outside(tmp_path: StdPath, monkeypatch: pytest.MonkeyPatch) -> Iterator[StdPath]:
    """``tmp/outside/secret`` next to the sandbox ``tmp/sandbox``, the current directory; nothing outside may change."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret").write_text("secret data")
    (out / "empty").mkdir()
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    monkeypatch.chdir(sandbox)
    before = sorted((str(p.relative_to(out)), p.is_dir()) for p in out.rglob("*"))
    fds = sorted(os.listdir("/proc/self/fd"))
    yield out
    assert sorted(os.listdir("/proc/self/fd")) == fds
    assert sorted((str(p.relative_to(out)), p.is_dir()) for p in out.rglob("*")) == before
    assert (out / "secret").read_text() == "secret data"


DirOp = Callable[[Any, str], Awaitable[object]]

OPS: dict[str, DirOp] = {
    "mkdir": lambda d, p: d.mkdir(p, 0o755),
    "unlink": lambda d, p: d.unlink(p),
    "rmdir": lambda d, p: d.rmdir(p),
    "read_link": lambda d, p: d.read_link(p),
    "lstat": lambda d, p: d.stat(p, False),
    "stat": lambda d, p: d.stat(p, True),
    "read_dir": lambda d, p: d.read_dir(p),
    "open_in": lambda d, p: d.open_in(None, p),
    "open_out": lambda d, p: d.open_out(None, p, False, "if_missing", 0o644),
    "symlink": lambda d, p: d.symlink(p, "secret"),
    "rename_from": lambda d, p: d.rename(p, d, "stolen"),
    "rename_to": lambda d, p: d.rename("mine", d, p),
    "read_dir_entries": lambda d, p: d.read_dir_entries(p),
    "chmod": lambda d, p: d.chmod(p, 0o777, False),
    "chmod_follow": lambda d, p: d.chmod(p, 0o777, True),
    "chown": lambda d, p: d.chown(p, -1, -1, False),
}


@pytest.mark.usefixtures("outside")
@pytest.mark.parametrize("op_name", sorted(OPS))
@pytest.mark.parametrize("target", ["../outside/secret", "../outside/empty", "../outside/made"])
def test_a_lying_string_given_to_a_dir_does_not_escape(os_backend: str, op_name: str, target: str) -> None:
    op = OPS[op_name]

    async def main(env: eio.Stdenv) -> None:
        (StdPath("mine")).write_text("mine")
        with pytest.raises((eio.fs.PermissionDenied, eio.fs.NotFound)):
            result = await op(env.cwd.dir, Sneaky(target))
            close = getattr(result, "close", None)
            if close is not None:
                await close()  # not reached unless the sandbox failed; don't leak the file then

    run_env(os_backend, main)


@pytest.mark.usefixtures("outside")
def test_a_lying_string_inside_the_directory_is_used_as_its_text(os_backend: str) -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        await env.cwd.dir.mkdir(Sneaky("made_here"), 0o755)
        return sorted(os.listdir("."))

    assert run_env(os_backend, main) == ["made_here"]


@pytest.mark.usefixtures("outside")
@pytest.mark.parametrize("op_name", sorted(OPS))
@pytest.mark.parametrize("target", ["../outside/secret", "../outside/empty", "../outside/made"])
def test_a_lying_string_given_to_a_windows_path_dir_does_not_escape(op_name: str, target: str) -> None:
    """The Windows backend's directories work on path strings (its sandbox on Windows); tested here too."""
    windows = pytest.importorskip("eio_backend_windows")
    op = OPS[op_name]
    method = op_name.split("_")[0] if op_name.startswith(("chmod", "chown", "rename")) else op_name
    if not hasattr(windows.PathDir, method):
        pytest.skip(f"the path directories have no {method} (an optional directory operation)")

    async def main(env: eio.Stdenv) -> None:
        (StdPath("mine")).write_text("mine")
        with pytest.raises((eio.fs.PermissionDenied, eio.fs.NotFound)):
            result = await op(env.cwd.dir, Sneaky(target))
            close = getattr(result, "close", None)
            if close is not None:
                await close()

    windows.run(main, path_dirs=True)
