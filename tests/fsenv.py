"""The file-system tests' two worlds: the real disk through io_uring, and the mock backend's in-memory file system.

A test takes the `fsenv` fixture (see tests/test_fs.py) and gets an `FsEnv`:
``fsenv.run(main)`` runs ``main(cwd, fs)`` on that backend, and the other
methods look at or change the file system from outside, as a test of the real
backend does with `os` (``listdir``, ``perm``, ``chdir``...). On io_uring each
run also checks that no file descriptor leaked.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import eio

import eio_mock

T = TypeVar("T")
Main = Callable[[eio.Path, eio.Path], Awaitable[T]]


def uring_unavailable() -> str | None:
    """Why the io_uring backend can't run these tests here (None if it can)."""
    try:
        from eio_backend_uring._ring import unavailable_reason
    except ImportError:
        return "the io_uring backend is not installed"
    return unavailable_reason()


class FsEnv(Protocol):
    """One backend's file system, from inside (``run``) and from outside (the rest)."""

    name: str

    def run(self, fn: Main[T]) -> T:
        """Run ``await fn(cwd, fs)`` on the backend."""
        ...

    def cwd_path(self) -> eio.Path:
        """``env.cwd`` of the backend, for path arithmetic outside a run."""
        ...

    def listdir(self, path: str = ".") -> list[str]:
        """The names in ``path`` (relative to the current directory)."""
        ...

    def isdir(self, path: str) -> bool:
        """Whether ``path`` is a directory."""
        ...

    def perm(self, path: str) -> int:
        """The permission bits of ``path``."""
        ...

    def ids(self, path: str) -> tuple[int, int, int, int, float]:
        """``(ino, dev, uid, gid, mtime)`` of ``path``."""
        ...

    def chdir(self, path: str) -> None:
        """Change the current directory."""
        ...

    def mkdir(self, path: str, mode: int = 0o777) -> None:
        """Create a directory."""
        ...

    def rmdir(self, path: str) -> None:
        """Remove an empty directory."""
        ...

    def chmod(self, path: str, mode: int) -> None:
        """Set permission bits."""
        ...

    def write_bytes(self, path: str, data: bytes) -> None:
        """Create or replace a file."""
        ...

    def symlink(self, target: str, path: str) -> None:
        """Create a symlink ``path`` -> ``target``."""
        ...

    def read_bytes(self, path: str) -> bytes:
        """The contents of a file."""
        ...


class UringFsEnv:
    """The real file system, with the current directory a fresh temporary one."""

    name = "uring"

    def run(self, fn: Main[T]) -> T:
        from eio_backend_uring._fs import cwd_dir, fs_dir
        from eio_backend_uring._run import run_plain

        before = sorted(os.listdir("/proc/self/fd"))
        result = run_plain(lambda: fn(eio.Path(cwd_dir()), eio.Path(fs_dir())))
        assert sorted(os.listdir("/proc/self/fd")) == before
        return result

    def cwd_path(self) -> eio.Path:
        from eio_backend_uring._fs import cwd_dir

        return eio.Path(cwd_dir())

    def listdir(self, path: str = ".") -> list[str]:
        return os.listdir(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def perm(self, path: str) -> int:
        return os.stat(path).st_mode & 0o7777

    def ids(self, path: str) -> tuple[int, int, int, int, float]:
        st = os.stat(path)
        return st.st_ino, st.st_dev, st.st_uid, st.st_gid, st.st_mtime_ns / 1e9

    def chdir(self, path: str) -> None:
        os.chdir(path)

    def mkdir(self, path: str, mode: int = 0o777) -> None:
        os.mkdir(path, mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(path)

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(path, mode)

    def write_bytes(self, path: str, data: bytes) -> None:
        with open(path, "wb") as f:
            f.write(data)

    def symlink(self, target: str, path: str) -> None:
        os.symlink(target, path)

    def read_bytes(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()


class MockFsEnv:
    """The mock backend's in-memory file system: one per test, kept across runs."""

    name = "mock"

    def __init__(self) -> None:
        self.env = eio_mock.backend.new_env(echo=False)
        self.files = self.env.files

    def run(self, fn: Main[T]) -> T:
        async def main(env: eio_mock.backend.MockEnv) -> T:
            return await fn(env.cwd, env.fs)

        return eio_mock.backend.run_env(main, self.env)

    def cwd_path(self) -> eio.Path:
        return self.env.cwd

    def listdir(self, path: str = ".") -> list[str]:
        return self.files.listdir(path)

    def isdir(self, path: str) -> bool:
        try:
            return self.files.stat(path).kind == "directory"
        except eio.fs.NotFound:
            return False

    def perm(self, path: str) -> int:
        return self.files.stat(path).perm

    def ids(self, path: str) -> tuple[int, int, int, int, float]:
        st = self.files.stat(path)
        return st.ino, st.dev, st.uid, st.gid, st.mtime

    def chdir(self, path: str) -> None:
        self.files.chdir(path)

    def mkdir(self, path: str, mode: int = 0o777) -> None:
        self.files.mkdir(path, mode)

    def rmdir(self, path: str) -> None:
        self.files.rmdir(path)

    def chmod(self, path: str, mode: int) -> None:
        self.files.chmod(path, mode)

    def write_bytes(self, path: str, data: bytes) -> None:
        self.files.write_bytes(path, data)

    def symlink(self, target: str, path: str) -> None:
        self.files.symlink(target, path)

    def read_bytes(self, path: str) -> bytes:
        return self.files.read_bytes(path)


def names() -> list[str]:
    """The backends to run file-system tests on here."""
    return ["mock"] if uring_unavailable() is not None else ["mock", "uring"]


def make(name: str) -> FsEnv:
    """A fresh `FsEnv` for backend ``name`` (for uring, the caller has made the current directory fresh)."""
    return MockFsEnv() if name == "mock" else UringFsEnv()
