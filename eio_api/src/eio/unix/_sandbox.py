"""Resolving a path inside a directory without ``openat2``: one component at a time.

`resolve_beneath(root, path)` walks ``path`` from the directory descriptor
``root``, opening each directory with ``O_NOFOLLOW`` relative to the one
before (``os.open(name, ..., dir_fd=...)``), so no step can be redirected by
a symlink the walk did not see. A symlink met on the way is read
(``os.readlink(name, dir_fd=...)``) and its target resolved by the same
rules, at most `MAX_SYMLINKS` times (then ``ELOOP``). ``..`` returns to the
directory the walk came from (a descriptor it still holds, so a directory
renamed meanwhile can't lead elsewhere); a ``..`` above ``root``, an
absolute path and an absolute symlink target are refused with
`eio.fs.PermissionDenied` (``EXDEV``, as the kernel's ``RESOLVE_BENEATH``).

These are blocking system calls: run them on a worker thread.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Final

from .._io_errors import PermissionDenied

__all__ = ["MAX_SYMLINKS", "open_beneath", "resolve_beneath"]

MAX_SYMLINKS: Final = 40  # as Linux's own limit
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)
# A descriptor naming a directory, only to walk from: O_PATH needs no read permission (Linux).
DIR_FLAGS: Final = (os.O_PATH if sys.platform == "linux" else os.O_RDONLY) | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC


def escape_error(path: str) -> PermissionDenied:
    """The error for a path that would leave the sandbox."""
    return PermissionDenied(errno.EXDEV, "Path leads outside the sandboxed directory", path)


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c and c != "."]


def _is_symlink(name: str, dir_fd: int) -> str | None:
    """The target of ``name`` if it is a symlink (None if it is not)."""
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError as ex:
        if ex.errno in (errno.EINVAL, errno.ENOENT, errno.ENOTDIR):
            return None
        raise


class _Walk:
    """The directories the walk went through (descriptors it owns, except the root)."""

    def __init__(self, root: int, path: str) -> None:
        self.stack = [root]
        self.path = path
        self.hops = 0

    @property
    def here(self) -> int:
        return self.stack[-1]

    def close(self, keep: int = -1) -> None:
        for fd in self.stack[1:]:
            if fd != keep:
                os.close(fd)
        del self.stack[1:]

    def up(self) -> None:
        if len(self.stack) == 1:
            raise escape_error(self.path)
        os.close(self.stack.pop())

    def follow(self, target: str, rest: list[str]) -> None:
        """Continue with a symlink's ``target`` in place of its name, before ``rest``."""
        self.hops += 1
        if self.hops > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), self.path)
        if target.startswith("/"):
            raise escape_error(self.path)
        rest[:0] = _components(target) or ["."]

    def enter(self, name: str, rest: list[str]) -> None:
        """Step into the directory ``name`` (following it if it is a symlink)."""
        if name == "..":
            self.up()
            return
        if name == ".":
            return
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=self.here)
        except OSError as ex:
            if ex.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise
            target = _is_symlink(name, self.here)
            if target is None:
                raise
            self.follow(target, rest)
            return
        self.stack.append(fd)


def _named(ex: OSError, path: str) -> OSError:
    """``ex``, naming the whole path asked for (not the component or symlink target that failed)."""
    ex.filename = path
    return ex


def resolve_beneath(root: int, path: str, *, follow: bool = False) -> tuple[int, str]:
    """``(dir_fd, leaf)``: the directory holding ``path``'s last component, and that component.

    ``dir_fd`` is a new descriptor the caller closes, or ``root`` itself
    (compare before closing). ``leaf`` is ``"."`` when the path names a
    directory by ``.``/``..``/an empty path. With ``follow``, a final symlink
    is followed (and the result names its target).
    """
    try:
        return _resolve(root, path, follow)
    except OSError as ex:
        raise _named(ex, path) from None


def _resolve(root: int, path: str, follow: bool) -> tuple[int, str]:
    if path.startswith("/"):
        raise escape_error(path)
    walk = _Walk(root, path)
    rest = _components(path)
    try:
        while True:
            if not rest:
                leaf = "."
                break
            name = rest.pop(0)
            if rest:
                walk.enter(name, rest)
                continue
            if name == "..":
                walk.up()
                leaf = "."
                break
            if follow:
                target = _is_symlink(name, walk.here)
                if target is not None:
                    walk.follow(target, rest)
                    continue
            leaf = name
            break
    except BaseException:
        walk.close()
        raise
    here = walk.here
    walk.close(keep=here)
    return here, leaf


def open_beneath(root: int, path: str, flags: int, mode: int = 0o777) -> int:
    """Open ``path`` below ``root`` with ``flags`` (a final symlink followed inside the sandbox)."""
    try:
        return _open(root, path, flags, mode)
    except OSError as ex:
        raise _named(ex, path) from None


def _open(root: int, path: str, flags: int, mode: int) -> int:
    hops = 0
    while True:
        dir_fd, leaf = _resolve(root, path, False)
        try:
            try:
                return os.open(leaf, flags | _O_NOFOLLOW | _O_CLOEXEC, mode, dir_fd=dir_fd)
            except OSError as ex:
                if ex.errno not in (errno.ELOOP, errno.EMLINK) and not (ex.errno == errno.ENOTDIR and flags & _O_DIRECTORY):
                    raise
                target = _is_symlink(leaf, dir_fd)
                if target is None:
                    raise
        finally:
            if dir_fd != root:
                os.close(dir_fd)
        # A final symlink: resolve its target from the same directory, by the same rules.
        hops += 1
        if hops > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        if target.startswith("/"):
            raise escape_error(path)
        parent = path.rstrip("/").rpartition("/")[0]
        path = f"{parent}/{target}" if parent else target
