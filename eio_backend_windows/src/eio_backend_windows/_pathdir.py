"""`PathDir`: a directory capability over path strings, for systems without ``dir_fd`` (Windows).

Every operation runs on a worker thread. A sandboxed `PathDir` resolves a
path the way the descriptor walk of `eio.unix.resolve_beneath` does, but on
path strings: component by component from its directory, each name checked
by the Windows path rules (`check_component`: drives, UNC and device
prefixes, alternate data streams, reserved device names, trailing dots and
spaces), each step looked at with ``os.lstat`` before the next. An entry
that redirects (a symlink, a junction: `is_name_surrogate`) is read with
``os.readlink`` and its target resolved by the same rules from where it
sits, at most `eio.unix.MAX_SYMLINKS` times; an absolute target and a
``..`` above the directory are refused with `eio.fs.PermissionDenied`.

Unlike a descriptor walk, a path string is read again by the OS when the
operation runs: a directory replaced by a link between the check and the
use is not seen. The walk narrows that window to one system call; programs
that share their sandbox with an adversary writing into it need the
descriptor-based directories (Linux, macOS, the BSDs).

A `PathDir` holds no handle: it names its directory by an absolute path
(or the process's current directory, whatever it is at each operation).
"""

from __future__ import annotations

import errno
import os
import stat as _stat
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TypeVar

from eio import Io
from eio.fs import ClosableDir, Create, Dir, PermissionDenied
from eio.lowlevel import from_oserror, run_in_systhread
from eio.path import path_str
from eio.unix import MAX_SYMLINKS, O_OPEN_NONBLOCK, ResourceClosed, UnixFile, check_cancelled, opened_file, stat_of

from ._winpath import check_component, is_absolute, is_name_surrogate, refuse, split_relative

if TYPE_CHECKING:
    from eio import Switch
    from eio.file import Stat

__all__ = ["PathDir", "cwd_path_dir", "fs_path_dir"]

T = TypeVar("T")

# Files are binary and not inherited by children (Windows' O_NOINHERIT is POSIX's O_CLOEXEC).
_O_COMMON: Final = getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0) | getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS: Final[dict[str, int]] = {
    "never": 0,
    "if_missing": os.O_CREAT,
    "or_truncate": os.O_CREAT | os.O_TRUNC,
    "exclusive": os.O_CREAT | os.O_EXCL,
}


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _redirects(st: os.stat_result) -> bool:
    if sys.platform == "win32":
        return is_name_surrogate(st.st_mode, st.st_file_attributes, st.st_reparse_tag)
    return is_name_surrogate(st.st_mode, 0, 0)


class _Walk:
    """Resolving one path below ``root`` (a native directory path, ``.`` for the current directory)."""

    def __init__(self, root: str, path: str) -> None:
        self.root = root
        self.path = path
        self.parts: list[str] = []  # the checked names from the root to where the walk is
        self.hops = 0

    def native(self, *more: str) -> str:
        return os.path.join(self.root, *self.parts, *more)

    def push(self, name: str, rest: list[str]) -> None:
        """Take one (checked) step; ``rest`` gets a redirecting entry's target."""
        if name == ".":
            return
        if name == "..":
            if not self.parts:
                raise refuse(self.path, "'..' above the directory")
            self.parts.pop()
            return
        self.parts.append(name)

    def redirect(self, rest: list[str]) -> None:
        """Replace the last step, a link, by its target (before ``rest``)."""
        here = self.native()
        try:
            target = os.readlink(here)
        except (OSError, ValueError):
            raise refuse(self.path, f"a reparse point that can't be read as a link ({self.parts[-1]!r})") from None
        if is_absolute(target):  # junctions' targets always are
            raise refuse(self.path, f"a link to an absolute path ({self.parts[-1]!r})")
        self.hops += 1
        if self.hops > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), self.path)
        self.parts.pop()
        rest[:0] = split_relative(target, self.path) or ["."]


def resolve(root: str, path: str, *, follow: bool) -> tuple[str, str]:
    """``(parent, leaf)``: the native directory holding ``path``'s last component below ``root``, and that name.

    Every component is checked by the Windows path rules and every
    intermediate link followed inside ``root`` (the last one too with
    ``follow``). ``leaf`` is ``""`` when the path names a directory by its
    last component ``.`` or ``..`` (or is empty): ``parent`` is then that
    directory. Blocking: run it on a worker thread.
    """
    walk = _Walk(root, path)
    rest = split_relative(path)
    for name in rest:
        check_component(name, path)  # every rule first: a refusal never depends on what exists
    name = "."
    while rest:
        name = check_component(rest.pop(0), path)
        walk.push(name, rest)
        if name in (".", ".."):
            continue
        if not (rest or follow):
            break
        st = _lstat(walk.native())
        if st is not None and _redirects(st):
            walk.redirect(rest)
        elif rest:
            if st is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
            if not _stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
    if name in (".", ".."):
        return walk.native(), ""  # the directory itself, not an entry of its parent
    leaf = walk.parts.pop()
    return walk.native(), leaf


class PathDir:
    """A directory capability over path strings (an `eio.fs.ClosableDir`).

    ``PathDir(root, label, sandboxed)``: ``root`` is the directory's native
    path (``""``: the process's current directory at each operation);
    ``sandboxed`` confines every path to it by the Windows path rules and
    the link checks described in the module.
    """

    __slots__ = ("label", "_root", "_sandboxed", "_closed", "_closable")

    def __init__(self, root: str, label: str, sandboxed: bool, *, closable: bool = False) -> None:
        self.label: str = label
        self._root = root
        self._sandboxed = sandboxed
        self._closed = False
        self._closable = closable

    def __repr__(self) -> str:
        kind = "sandbox" if self._sandboxed else "unconfined"
        state = " closed" if self._closed else ""
        return f"<PathDir {self.label} ({kind}){state}>"

    @property
    def sandboxed(self) -> bool:
        """Whether paths are confined to this directory."""
        return self._sandboxed

    def attach(self, sw: Switch | None) -> PathDir:
        """Close the directory when ``sw`` finishes."""
        if sw is not None:
            sw.on_release(self._close_now)
        return self

    def _close_now(self) -> None:
        self._closed = True

    async def close(self) -> None:
        """Close the capability (idempotent); later use raises `eio.ResourceClosed`."""
        if not self._closable:
            raise RuntimeError(f"<{self.label}> is not an opened directory and can't be closed")
        self._closed = True

    # -- running an operation ---------------------------------------------------------

    def _where(self, path: str, follow: bool, entry: bool = False) -> str:
        """The native path of ``path`` (checked if sandboxed; the last component followed if ``follow``).

        ``entry``: the operation removes or makes a directory entry, which
        ``.``, ``..`` and an empty path don't name (Windows would drop them
        and act on the directory they lead to).
        """
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "PathDir", "path")
        root = self._root or "."
        if not self._sandboxed:
            return os.path.join(root, path) if path else root
        parent, leaf = resolve(root, path, follow=follow)
        if leaf:
            return os.path.join(parent, leaf)
        if entry:
            raise OSError(errno.EINVAL, "Not a directory entry (the path ends with '.' or '..', or is empty)", path)
        return parent

    async def _run(self, path: str, fn: Callable[[], T]) -> T:
        check_cancelled()
        if self._closed:
            raise ResourceClosed(9, f"{path or '.'}: the directory <{self.label}> is closed")
        try:
            return await run_in_systhread(fn)
        except OSError as ex:
            if not isinstance(ex, Io):
                # The OS names the native path it was given; name the one asked for.
                ex.filename = path
                ex.filename2 = None
            raise from_oserror(ex) from ex

    async def _on(self, path: str, follow: bool, fn: Callable[[str], T], entry: bool = False) -> T:
        return await self._run(path, lambda: fn(self._where(path, follow, entry)))

    # -- the Dir interface -------------------------------------------------------------

    async def open_in(self, sw: Switch | None, path: str, /) -> UnixFile:
        """Open ``path`` for reading."""
        fd = await self._on(path, True, lambda p: os.open(p, os.O_RDONLY | _O_COMMON | O_OPEN_NONBLOCK))
        return opened_file(fd, f"<{self.label}:{path}>").attach(sw)

    async def open_out(self, sw: Switch | None, path: str, append: bool, create: Create, perm: int, /) -> UnixFile:
        """Open ``path`` for reading and writing, creating it as ``create`` says."""
        flags = os.O_RDWR | _CREATE_FLAGS[create] | _O_COMMON
        if append:
            flags |= os.O_APPEND
        mode = perm if create != "never" else 0
        fd = await self._on(path, True, lambda p: os.open(p, flags | O_OPEN_NONBLOCK, mode))
        return opened_file(fd, f"<{self.label}:{path}>").attach(sw)

    async def open_dir(self, sw: Switch | None, path: str, /) -> PathDir:
        """A new sandboxed capability for the directory ``path``."""

        def opened(p: str) -> str:
            if not _stat.S_ISDIR(os.stat(p).st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
            return os.path.abspath(p)

        root = await self._on(path, True, opened)
        name = os.path.basename(root.rstrip("\\/")) or root
        return PathDir(root, name, True, closable=True).attach(sw)

    async def read_dir(self, path: str, /) -> list[str]:
        """The names in the directory ``path``."""
        return await self._on(path, True, os.listdir)

    async def stat(self, path: str, follow: bool, /) -> Stat:
        """The metadata of ``path`` (of a final link's target if ``follow``)."""
        return stat_of(await self._on(path, follow, os.stat if follow else os.lstat))

    async def mkdir(self, path: str, perm: int, /) -> None:
        """Create the directory ``path``."""
        await self._on(path, False, lambda p: os.mkdir(p, perm))

    async def unlink(self, path: str, /) -> None:
        """Remove the entry ``path`` (a link itself, never its target)."""
        await self._on(path, False, os.unlink, entry=True)

    async def rmdir(self, path: str, /) -> None:
        """Remove the empty directory ``path``."""
        await self._on(path, False, os.rmdir, entry=True)

    async def rename(self, old_path: str, new_dir: Dir, new_path: str, /) -> None:
        """Move ``old_path`` to ``new_path`` in ``new_dir`` (which must be a `PathDir`), replacing what is there."""
        if not isinstance(new_dir, PathDir):
            # Only a directory of this kind can vouch for where the new path lands.
            raise PermissionDenied(errno.EXDEV, "Can't rename to a directory of another kind", new_path)
        target = new_dir
        if target._closed:
            await target._run(new_path, lambda: None)  # raises the closed error

        def move() -> None:
            os.replace(self._where(old_path, False, True), target._where(new_path, False, True))

        await self._run(old_path, move)

    async def symlink(self, path: str, link_to: str, /) -> None:
        """Create the link ``path`` pointing at ``link_to`` (not checked: following it is)."""
        if type(link_to) is not str:
            link_to = path_str(link_to, "PathDir.symlink", "link_to")

        def make(p: str) -> None:
            if sys.platform == "win32":
                # Windows makes file and directory links differently: look at what the target is now.
                os.symlink(link_to, p, target_is_directory=os.path.isdir(os.path.join(os.path.dirname(p), link_to)))
            else:
                os.symlink(link_to, p)

        await self._on(path, False, make, entry=True)

    async def read_link(self, path: str, /) -> str:
        """The target of the link ``path``."""
        return await self._on(path, False, os.readlink)

    def native(self, path: str, /) -> str | None:
        """The OS path for ``path`` (relative to the process's current directory unless absolute)."""
        if type(path) is not str:
            path = path_str(path, "PathDir.native", "path")
        if os.path.isabs(path):
            return path
        if not self._root:
            return path or "."
        return os.path.join(self._root, path) if path else self._root

    async def native_checked(self, path: str, /) -> str:
        """The OS path for ``path`` after the sandbox's checks (for a child process's directory)."""
        return await self._on(path, True, os.path.abspath)


def cwd_path_dir() -> PathDir:
    """The sandboxed capability for the current directory (label ``cwd``)."""
    return PathDir("", "cwd", True)


def fs_path_dir() -> PathDir:
    """The unrestricted capability for the whole file system (label ``fs``)."""
    return PathDir("", "fs", False)


if TYPE_CHECKING:
    _DIR_IS: type[ClosableDir] = PathDir  # pyright checks the Protocol
