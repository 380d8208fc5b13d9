"""An in-memory file system with the real backends' rules (the mock environment's ``fs`` and ``cwd``).

`MemFs` holds the tree: directories, regular files and symbolic links, each
with permissions, an inode number and times taken from a mock clock. Nothing
touches the disk. `MemDir` is a directory capability over it (an
`eio.fs.Dir`); `MemFile` an open file (an `eio.file.Rw`).

Paths resolve component by component, as the OS does: symlinks (relative
or absolute targets) are followed, ``..`` goes up. A sandboxed `MemDir`
(``env.cwd``, every `eio.Path.open_subtree` result) refuses, with
`eio.fs.PermissionDenied` (errno ``EXDEV``, as the io_uring backend reports
it), any path that leads outside it: ``..`` above it, an absolute path, a
symlink whose target is absolute or climbs out. Errors are those of the OS:
`eio.fs.NotFound` (ENOENT), `eio.fs.AlreadyExists` (EEXIST),
`eio.fs.PermissionDenied` (EACCES from the permission bits: the mock process
owns every file and is not root), and a plain `eio.Io` with ``errno``
ENOTDIR, EISDIR, ENOTEMPTY, EINVAL, EBADF or ELOOP. The umask is ``0o022``.

The file system starts empty, with the current directory at ``/``. A test
prepares or inspects it from outside any fiber with the synchronous
methods of `MemFs` (``write_bytes``, ``read_bytes``, ``mkdir``,
``symlink``, ``listdir``, ``stat``, ``chmod``, ``chdir``), much as a test of
a real backend uses `os`.
"""

from __future__ import annotations

import errno
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import eio
from eio._io_errors import from_oserror
from eio.file import FileKind, Rw, SeekWhence, Stat
from eio.fs import ClosableDir, Create, Dir

__all__ = ["MemDir", "MemFile", "MemFs", "Node"]

UMASK: Final = 0o022
_MAX_SYMLINKS: Final = 40
_DEV: Final = 0x6D6F636B  # "mock"
_UID: Final = 1000
_GID: Final = 1000
_BLOCK: Final = 4096


def _err(code: int, path: str, message: str | None = None) -> eio.Io:
    return from_oserror(OSError(code, message or _MESSAGES.get(code, errno.errorcode.get(code, "error")), path))


_MESSAGES: Final = {
    errno.ENOENT: "No such file or directory",
    errno.EEXIST: "File exists",
    errno.EACCES: "Permission denied",
    errno.ENOTDIR: "Not a directory",
    errno.EISDIR: "Is a directory",
    errno.ENOTEMPTY: "Directory not empty",
    errno.EINVAL: "Invalid argument",
    errno.EBADF: "Bad file descriptor",
    errno.ELOOP: "Too many levels of symbolic links",
    errno.EXDEV: "Path leads outside the sandboxed directory",
    errno.EBUSY: "Device or resource busy",
    errno.EPERM: "Operation not permitted",
}


def _parent_shown(path: str) -> str:
    """What the OS names when it can't reach ``path``'s parent: the parent (or the path, if it ends in ``.`` or ``..``)."""
    stripped = path.rstrip("/")
    if not stripped:
        return path or "."
    cut = stripped.rfind("/")
    if stripped[cut + 1 :] in (".", ".."):
        return path
    if cut < 0:
        return "."
    return stripped[:cut].rstrip("/") or "/"


class Node:
    """One inode: a directory (``entries``), a regular file (``data``) or a symlink (``target``)."""

    __slots__ = ("kind", "perm", "ino", "atime", "mtime", "ctime", "data", "entries", "target", "parent", "uid", "gid")

    def __init__(self, kind: FileKind, perm: int, ino: int, now: float) -> None:
        self.kind: FileKind = kind
        self.perm = perm
        self.ino = ino
        self.atime = self.mtime = self.ctime = now
        self.data = bytearray()
        self.entries: dict[str, Node] = {}
        self.target = ""
        # A directory's parent (the root is its own); None once removed.
        self.parent: Node | None = None
        self.uid: int = _UID
        self.gid: int = _GID

    def __repr__(self) -> str:
        return f"<mock {self.kind} inode {self.ino}>"


class MemFs:
    """The state of an in-memory file system: its tree, its current directory, its clock.

    ``now`` gives the time stamped on changes (the mock clock's ``now``).
    """

    def __init__(self, now: Callable[[], float] = lambda: 0.0) -> None:
        self.now = now
        self._inos = itertools.count(2)
        self.root = self._node("directory", 0o755)
        self.root.parent = self.root
        self.cwd = self.root

    def __repr__(self) -> str:
        return f"<MemFs cwd={self.path_of(self.cwd)}>"

    def _node(self, kind: FileKind, perm: int) -> Node:
        return Node(kind, perm, next(self._inos), self.now())

    def path_of(self, node: Node) -> str:
        """The absolute path of a directory (``?`` parts for a removed one)."""
        parts: list[str] = []
        while node is not self.root:
            parent = node.parent
            if parent is None:
                return "?/" + "/".join(reversed(parts))
            name = next((n for n, child in parent.entries.items() if child is node), "?")
            parts.append(name)
            node = parent
        return "/" + "/".join(reversed(parts))

    # -- resolution ---------------------------------------------------------------------

    def _chain(self, node: Node) -> list[Node]:
        """The directories from the root down to ``node``."""
        chain = [node]
        while node is not self.root:
            parent = node.parent
            if parent is None:
                raise _err(errno.ENOENT, "", "The directory was removed")
            chain.append(parent)
            node = parent
        chain.reverse()
        return chain

    def resolve(
        self, anchor: Node | None, path: str, follow: bool, shown: str, walk_shown: str | None = None
    ) -> tuple[list[Node], str, Node | None]:
        """Walk ``path`` from ``anchor`` (``None``: unconfined, from the current directory).

        Returns ``(stack, leaf, node)``: the directories from the anchor (or
        the root) down to the one holding the last component, that
        component's name, and its node (None if missing). A last component of
        ``.`` or ``..`` (or an empty path) is resolved, so the leaf is ``.``
        and the node the directory itself. ``follow``: follow a final symlink.
        Errors name ``shown``; those met on the way to the last component
        name ``walk_shown`` if given (the OS names the parent directory that
        operations such as ``mkdirat`` first open).
        """
        final_shown = shown
        if walk_shown is not None:
            shown = walk_shown
        sandboxed = anchor is not None
        if sandboxed:
            stack = [anchor]
        else:
            stack = self._chain(self.cwd)
        parts: list[str] = [p for p in path.split("/") if p]
        if path.startswith("/"):
            if sandboxed:
                raise _err(errno.EXDEV, shown)
            stack = [self.root]
        if not parts:
            return stack, ".", stack[-1]
        links = 0
        todo: list[str] = parts
        trailing_slash = path.endswith("/")
        i = 0
        while i < len(todo):
            name = todo[i]
            last = i == len(todo) - 1
            here = stack[-1]
            if here.kind != "directory":
                raise _err(errno.ENOTDIR, shown)
            if not here.perm & 0o100:
                raise _err(errno.EACCES, shown)
            if name == ".":
                if last:
                    return stack, ".", here
                i += 1
                continue
            if name == "..":
                if len(stack) == 1:
                    if sandboxed:
                        raise _err(errno.EXDEV, shown)
                else:
                    stack.pop()
                if last:
                    return stack, ".", stack[-1]
                i += 1
                continue
            child = here.entries.get(name)
            if child is None:
                if last:
                    return stack, name, None
                raise _err(errno.ENOENT, shown)
            if child.kind == "symbolic_link" and (not last or follow or trailing_slash):
                links += 1
                if links > _MAX_SYMLINKS:
                    raise _err(errno.ELOOP, shown)
                target = child.target
                if target.startswith("/"):
                    if sandboxed:
                        raise _err(errno.EXDEV, shown)
                    stack = [self.root]
                todo = [p for p in target.split("/") if p] + todo[i + 1 :]
                if not todo:
                    return stack, ".", stack[-1]
                i = 0
                continue
            if last:
                if trailing_slash and child.kind != "directory":
                    raise _err(errno.ENOTDIR, final_shown)
                return stack, name, child
            stack.append(child)
            i += 1
        return stack, ".", stack[-1]

    def lookup(self, anchor: Node | None, path: str, follow: bool, shown: str) -> Node:
        """The node at ``path`` (see `resolve`); `eio.fs.NotFound` if it is missing."""
        _, _, node = self.resolve(anchor, path, follow, shown)
        if node is None:
            raise _err(errno.ENOENT, shown)
        return node

    def _writable_dir(self, node: Node, shown: str) -> None:
        if node.parent is None:
            raise _err(errno.ENOENT, shown)
        if node.perm & 0o300 != 0o300:
            raise _err(errno.EACCES, shown)

    def touch(self, node: Node) -> None:
        """Stamp ``node`` as modified now."""
        node.mtime = node.ctime = self.now()

    def add(self, parent: Node, name: str, node: Node) -> None:
        """Link ``node`` into ``parent`` as ``name``."""
        parent.entries[name] = node
        if node.kind == "directory":
            node.parent = parent
        self.touch(parent)

    def new_node(self, kind: FileKind, perm: int) -> Node:
        """A new unlinked inode with ``perm`` less the umask."""
        return self._node(kind, perm & ~UMASK & 0o7777)

    # -- operations shared by `MemDir` and the synchronous helpers --------------------------

    def mkdir_at(self, anchor: Node | None, path: str, perm: int, shown: str) -> None:
        """Create the directory ``path``."""
        stack, leaf, node = self.resolve(anchor, path, False, shown, _parent_shown(path))
        if node is not None:
            raise _err(errno.EEXIST, shown)
        parent = stack[-1]
        self._writable_dir(parent, shown)
        self.add(parent, leaf, self.new_node("directory", perm))

    def symlink_at(self, anchor: Node | None, path: str, link_to: str, shown: str) -> None:
        """Create the symlink ``path`` -> ``link_to``."""
        stack, leaf, node = self.resolve(anchor, path, False, shown, _parent_shown(path))
        if node is not None:
            raise _err(errno.EEXIST, shown)
        parent = stack[-1]
        self._writable_dir(parent, shown)
        link = self._node("symbolic_link", 0o777)
        link.target = link_to
        self.add(parent, leaf, link)

    def remove_at(self, anchor: Node | None, path: str, directory: bool, shown: str) -> None:
        """Remove the entry ``path``: a directory (which must be empty) if ``directory``, else anything else."""
        stack, leaf, node = self.resolve(anchor, path, False, shown, _parent_shown(path))
        if node is None:
            raise _err(errno.ENOENT, shown)
        if leaf == ".":
            raise _err(errno.EINVAL if directory else errno.EISDIR, shown)
        parent = stack[-1]
        if directory:
            if node.kind != "directory":
                raise _err(errno.ENOTDIR, shown)
            if node.entries:
                raise _err(errno.ENOTEMPTY, shown)
        elif node.kind == "directory":
            raise _err(errno.EISDIR, shown)
        self._writable_dir(parent, shown)
        del parent.entries[leaf]
        if directory:
            node.parent = None
        self.touch(parent)

    def open_at(self, anchor: Node | None, path: str, write: bool, create: Create, perm: int, shown: str) -> Node:
        """The file to open at ``path``, created (or emptied) as ``create`` says."""
        exclusive = create == "exclusive"
        stack, leaf, node = self.resolve(anchor, path, not exclusive, shown)
        if node is None:
            if not write or create == "never":
                raise _err(errno.ENOENT, shown)
            parent = stack[-1]
            self._writable_dir(parent, shown)
            if path.endswith("/"):
                raise _err(errno.EISDIR, shown)
            node = self.new_node("regular_file", perm)
            self.add(parent, leaf, node)
            return node
        if exclusive and write:
            raise _err(errno.EEXIST, shown)
        if node.kind == "directory":
            if write:
                raise _err(errno.EISDIR, shown)
            if not node.perm & 0o400:
                raise _err(errno.EACCES, shown)
            return node
        need = 0o600 if write else 0o400
        if node.perm & need != need:
            raise _err(errno.EACCES, shown)
        if write and create == "or_truncate" and node.data:
            del node.data[:]
            self.touch(node)
        return node

    def stat_node(self, node: Node) -> Stat:
        """The metadata of ``node``."""
        if node.kind == "directory":
            size = _BLOCK
            nlink = 2 + sum(1 for c in node.entries.values() if c.kind == "directory")
        elif node.kind == "symbolic_link":
            size = len(node.target.encode())
            nlink = 1
        else:
            size = len(node.data)
            nlink = 1
        return Stat(
            dev=_DEV,
            ino=node.ino,
            kind=node.kind,
            perm=node.perm,
            nlink=nlink,
            uid=node.uid,
            gid=node.gid,
            rdev=0,
            size=size,
            blksize=_BLOCK,
            blocks=(size + _BLOCK - 1) // _BLOCK * (_BLOCK // 512),
            atime=node.atime,
            mtime=node.mtime,
            ctime=node.ctime,
        )

    def rename_at(self, old_anchor: Node | None, old: str, new_anchor: Node | None, new: str, shown: str) -> None:
        """Move ``old`` to ``new`` (replacing a file, or an empty directory, that is there)."""
        old_stack, old_leaf, node = self.resolve(old_anchor, old, False, shown, _parent_shown(old))
        if node is None:
            raise _err(errno.ENOENT, shown)
        new_stack, new_leaf, existing = self.resolve(new_anchor, new, False, new, _parent_shown(new))
        if old_leaf == "." or new_leaf == ".":
            raise _err(errno.EBUSY, shown)
        old_parent, new_parent = old_stack[-1], new_stack[-1]
        self._writable_dir(old_parent, shown)
        self._writable_dir(new_parent, shown)
        if existing is node:
            return
        if node.kind == "directory":
            # A directory can't move beneath itself.
            ancestor: Node | None = new_parent
            while ancestor is not None:
                if ancestor is node:
                    raise _err(errno.EINVAL, shown)
                if ancestor is self.root:
                    break
                ancestor = ancestor.parent
        if existing is not None:
            if existing.kind == "directory":
                if node.kind != "directory":
                    raise _err(errno.EISDIR, shown)
                if existing.entries:
                    raise _err(errno.ENOTEMPTY, shown)
                existing.parent = None
            elif node.kind == "directory":
                raise _err(errno.ENOTDIR, shown)
        del old_parent.entries[old_leaf]
        self.touch(old_parent)
        self.add(new_parent, new_leaf, node)
        node.ctime = self.now()

    def chmod_at(self, anchor: Node | None, path: str, perm: int, follow: bool, shown: str) -> None:
        """Set the permission bits of ``path``; without ``follow`` a symlink itself is refused, as on Linux."""
        node = self.lookup(anchor, path, follow, shown)
        if node.kind == "symbolic_link":
            raise _err(errno.EOPNOTSUPP, shown, "Linux can't change the permissions of a symlink itself")
        node.perm = perm & 0o7777
        node.ctime = self.now()

    def chown_at(self, anchor: Node | None, path: str, uid: int, gid: int, follow: bool, shown: str) -> None:
        """Set the owner and group of ``path`` (-1: unchanged), as an unprivileged user (uid 1000, group 1000) may."""
        node = self.lookup(anchor, path, follow, shown)
        if uid not in (-1, node.uid) or gid not in (-1, node.gid, _GID):
            raise _err(errno.EPERM, shown)
        if uid != -1:
            node.uid = uid
        if gid != -1:
            node.gid = gid
        node.ctime = self.now()

    def entries_at(self, anchor: Node | None, path: str, shown: str) -> list[tuple[str, FileKind]]:
        """The names in the directory ``path`` with their kinds, in creation order."""
        names = self.list_at(anchor, path, shown)
        node = self.lookup(anchor, path, True, shown)
        return [(name, node.entries[name].kind) for name in names]

    def read_link_at(self, anchor: Node | None, path: str, shown: str) -> str:
        """The target of the symlink ``path``."""
        _, _, node = self.resolve(anchor, path, False, shown, _parent_shown(path))
        if node is None:
            raise _err(errno.ENOENT, shown)
        if node.kind != "symbolic_link":
            raise _err(errno.EINVAL, shown)
        return node.target

    def list_at(self, anchor: Node | None, path: str, shown: str) -> list[str]:
        """The names in the directory ``path``, in creation order."""
        node = self.lookup(anchor, path, True, shown)
        if node.kind != "directory":
            raise _err(errno.ENOTDIR, shown)
        if not node.perm & 0o400:
            raise _err(errno.EACCES, shown)
        return list(node.entries)

    # -- synchronous helpers for tests (unconfined paths, as `os` takes them) -------------------

    def write_bytes(self, path: str, data: bytes, perm: int = 0o666) -> None:
        """Create or replace the file ``path`` with ``data``."""
        node = self.open_at(None, path, True, "or_truncate", perm, path)
        node.data[:] = data
        self.touch(node)

    def read_bytes(self, path: str) -> bytes:
        """The contents of the file ``path``."""
        node = self.open_at(None, path, False, "never", 0, path)
        if node.kind == "directory":
            raise _err(errno.EISDIR, path)
        return bytes(node.data)

    def mkdir(self, path: str, perm: int = 0o777) -> None:
        """Create the directory ``path`` (``perm`` less the umask)."""
        self.mkdir_at(None, path, perm, path)

    def rmdir(self, path: str) -> None:
        """Remove the empty directory ``path``."""
        self.remove_at(None, path, True, path)

    def unlink(self, path: str) -> None:
        """Remove the (non-directory) entry ``path``."""
        self.remove_at(None, path, False, path)

    def symlink(self, target: str, path: str) -> None:
        """Create the symlink ``path`` pointing at ``target`` (`os.symlink`'s argument order)."""
        self.symlink_at(None, path, target, path)

    def listdir(self, path: str = ".") -> list[str]:
        """The names in the directory ``path``, in creation order."""
        return self.list_at(None, path, path)

    def stat(self, path: str, follow: bool = True) -> Stat:
        """The metadata of ``path``."""
        return self.stat_node(self.lookup(None, path, follow, path))

    def chmod(self, path: str, perm: int) -> None:
        """Set the permission bits of ``path`` (following symlinks)."""
        node = self.lookup(None, path, True, path)
        node.perm = perm & 0o7777
        node.ctime = self.now()

    def chdir(self, path: str) -> None:
        """Change the current directory (what ``env.cwd`` and relative ``env.fs`` paths start from)."""
        node = self.lookup(None, path, True, path)
        if node.kind != "directory":
            raise _err(errno.ENOTDIR, path)
        self.cwd = node

    def getcwd(self) -> str:
        """The absolute path of the current directory."""
        return self.path_of(self.cwd)


def _closed(what: str) -> ValueError:
    return ValueError(f"I/O operation on closed {what}")


class MemFile:
    """An open in-memory file: an `eio.file.Rw` (writes fail with EBADF if opened for reading only)."""

    __slots__ = ("_fs", "_node", "_label", "_writable", "_append", "_pos", "_closed", "_hook")

    def __init__(self, fs: MemFs, node: Node, label: str, writable: bool, append: bool) -> None:
        self._fs = fs
        self._node = node
        self._label = label
        self._writable = writable
        self._append = append
        self._pos = 0
        self._closed = False
        self._hook: eio.ReleaseHook | None = None

    def __repr__(self) -> str:
        return f"<mock file {self._label}{' closed' if self._closed else ''}>"

    def attach(self, sw: eio.Switch | None) -> MemFile:
        """Close the file when ``sw`` finishes."""
        if sw is not None:
            self._hook = sw.on_release(self._close_now)
        return self

    def _close_now(self) -> None:
        self._closed = True
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.remove()

    async def close(self) -> None:
        """Close the file (idempotent); later operations raise `ValueError`."""
        self._close_now()

    def _check(self) -> Node:
        if self._closed:
            raise _closed(f"file {self._label}")
        eio.fiber.check()
        return self._node

    def _data(self) -> bytearray:
        node = self._check()
        if node.kind == "directory":
            raise _err(errno.EISDIR, self._label)
        return node.data

    def _read_at(self, offset: int, bufs: Sequence[memoryview]) -> int:
        data = self._data()
        total = sum(len(b) for b in bufs)
        if total == 0:
            return 0
        if offset >= len(data):
            raise eio.EndOfFile()
        n = 0
        for b in bufs:
            chunk = data[offset + n : offset + n + len(b)]
            b[: len(chunk)] = chunk
            n += len(chunk)
            if len(chunk) < len(b):
                break
        self._node.atime = self._fs.now()
        return n

    def _write_at(self, offset: int, bufs: Sequence[bytes | memoryview]) -> int:
        data = self._data()
        if not self._writable:
            raise _err(errno.EBADF, self._label)
        joined = b"".join(bufs)
        if offset > len(data):
            data.extend(bytes(offset - len(data)))
        data[offset : offset + len(joined)] = joined
        if joined:
            self._fs.touch(self._node)
        return len(joined)

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at the file position; `eio.EndOfFile` at the end."""
        n = self._read_at(self._pos, (buf,))
        self._pos += n
        return n

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write all of ``bufs`` at the file position (at the end, if opened for appending)."""
        if self._append:
            self._pos = len(self._data())
        n = self._write_at(self._pos, bufs)
        self._pos += n
        return n

    async def pread(self, file_offset: int, bufs: Sequence[memoryview], /) -> int:
        """One read at ``file_offset``; `eio.EndOfFile` at or past the end."""
        if file_offset < 0:
            raise ValueError(f"file_offset must not be negative (got {file_offset})")
        return self._read_at(file_offset, bufs)

    async def pwrite(self, file_offset: int, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write all of ``bufs`` at ``file_offset`` (at the end if opened for appending, as Linux does)."""
        if file_offset < 0:
            raise ValueError(f"file_offset must not be negative (got {file_offset})")
        if self._append:
            file_offset = len(self._data())
        return self._write_at(file_offset, bufs)

    async def stat(self) -> Stat:
        """The file's metadata."""
        return self._fs.stat_node(self._check())

    async def size(self) -> int:
        """The file's size in bytes."""
        return (await self.stat()).size

    async def seek(self, offset: int, whence: SeekWhence, /) -> int:
        """Move the file position; return it."""
        node = self._check()
        base = {"set": 0, "cur": self._pos, "end": len(node.data)}[whence]
        if base + offset < 0:
            raise _err(errno.EINVAL, self._label)
        self._pos = base + offset
        return self._pos

    async def sync(self) -> None:
        """Nothing to flush: the data is already where it lives."""
        self._check()

    async def truncate(self, length: int, /) -> None:
        """Cut the file to ``length`` bytes, or extend it with zeros."""
        data = self._data()
        if not self._writable:
            raise _err(errno.EINVAL, self._label)
        if length < len(data):
            del data[length:]
        else:
            data.extend(bytes(length - len(data)))
        self._fs.touch(self._node)

    async def read_all(self) -> bytes:
        """Everything from the file position to the end (the fast path `eio.Path.load` uses)."""
        data = self._data()
        out = bytes(data[self._pos :])
        self._pos = max(self._pos, len(data))
        return out


class MemDir:
    """A directory capability over a `MemFs`: an `eio.fs.ClosableDir`.

    ``anchor`` is the directory's node for a sandboxed capability, or None
    for the unconfined one (``env.fs``), which resolves relative paths from
    the file system's current directory. ``env.cwd`` is sandboxed to the
    current directory at the time of each operation (as the OS's ``AT_FDCWD``).
    """

    __slots__ = ("label", "_fs", "_anchor", "_follows_cwd", "_closed", "_hook")

    def __init__(self, fs: MemFs, label: str, anchor: Node | None, follows_cwd: bool = False) -> None:
        self.label = label
        self._fs = fs
        self._anchor = anchor
        self._follows_cwd = follows_cwd
        self._closed = False
        self._hook: eio.ReleaseHook | None = None

    def __repr__(self) -> str:
        kind = "unconfined" if self._anchor is None and not self._follows_cwd else "sandbox"
        return f"<MemDir {self.label} ({kind}){' closed' if self._closed else ''}>"

    @property
    def fs(self) -> MemFs:
        """The file system this capability is part of."""
        return self._fs

    def attach(self, sw: eio.Switch | None) -> MemDir:
        """Close the capability when ``sw`` finishes."""
        if sw is not None:
            self._hook = sw.on_release(self._close_now)
        return self

    def _close_now(self) -> None:
        if self._follows_cwd or self._anchor is None:
            raise RuntimeError(f"<{self.label}> is not an opened directory and can't be closed")
        self._closed = True
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.remove()

    async def close(self) -> None:
        """Close the capability (idempotent); later use raises `ValueError`."""
        if not self._closed:
            self._close_now()

    def _start(self) -> Node | None:
        if self._closed:
            raise _closed(f"directory <{self.label}>")
        eio.fiber.check()
        return self._fs.cwd if self._follows_cwd else self._anchor

    async def open_in(self, sw: eio.Switch | None, path: str, /) -> MemFile:
        """Open ``path`` for reading."""
        node = self._fs.open_at(self._start(), path, False, "never", 0, path or ".")
        return MemFile(self._fs, node, f"<{self.label}:{path}>", False, False).attach(sw)

    async def open_out(self, sw: eio.Switch | None, path: str, append: bool, create: Create, perm: int, /) -> MemFile:
        """Open ``path`` for reading and writing, creating it as ``create`` says."""
        node = self._fs.open_at(self._start(), path, True, create, perm, path or ".")
        return MemFile(self._fs, node, f"<{self.label}:{path}>", True, append).attach(sw)

    async def open_dir(self, sw: eio.Switch | None, path: str, /) -> MemDir:
        """A new sandboxed capability for the directory ``path``."""
        node = self._fs.lookup(self._start(), path, True, path or ".")
        if node.kind != "directory":
            raise _err(errno.ENOTDIR, path)
        name = path.rstrip("/").rsplit("/", 1)[-1] if path.rstrip("/") else ("/" if path else ".")
        return MemDir(self._fs, name, node).attach(sw)

    async def mkdir(self, path: str, perm: int, /) -> None:
        """Create the directory ``path`` with ``perm`` (less the umask)."""
        self._fs.mkdir_at(self._start(), path, perm, path)

    async def read_dir(self, path: str, /) -> list[str]:
        """The names in the directory ``path``."""
        return self._fs.list_at(self._start(), path, path or ".")

    async def read_dir_entries(self, path: str, /) -> list[tuple[str, FileKind]]:
        """The names in the directory ``path`` with their kinds."""
        return self._fs.entries_at(self._start(), path, path or ".")

    async def chmod(self, path: str, mode: int, follow: bool, /) -> None:
        """Set the permissions of ``path`` (of a final symlink's target if ``follow``)."""
        self._fs.chmod_at(self._start(), path, mode, follow, path or ".")

    async def chown(self, path: str, uid: int, gid: int, follow: bool, /) -> None:
        """Set the owner and group of ``path`` (-1: unchanged)."""
        self._fs.chown_at(self._start(), path, uid, gid, follow, path or ".")

    async def stat(self, path: str, follow: bool, /) -> Stat:
        """The metadata of ``path`` (of a final symlink's target if ``follow``)."""
        fs = self._fs
        return fs.stat_node(fs.lookup(self._start(), path, follow, path or "."))

    async def unlink(self, path: str, /) -> None:
        """Remove the entry ``path`` (a symlink itself, never its target)."""
        self._fs.remove_at(self._start(), path, False, path)

    async def rmdir(self, path: str, /) -> None:
        """Remove the empty directory ``path``."""
        self._fs.remove_at(self._start(), path, True, path)

    async def rename(self, old_path: str, new_dir: Dir, new_path: str, /) -> None:
        """Move ``old_path`` to ``new_path`` in ``new_dir`` (a `MemDir` of the same file system)."""
        if not isinstance(new_dir, MemDir) or new_dir._fs is not self._fs:
            raise _err(errno.EXDEV, new_path, "Can't rename to a directory of another kind")
        self._fs.rename_at(self._start(), old_path, new_dir._start(), new_path, old_path)

    async def symlink(self, path: str, link_to: str, /) -> None:
        """Create the symlink ``path`` pointing at ``link_to`` (which is not checked)."""
        self._fs.symlink_at(self._start(), path, link_to, path)

    async def read_link(self, path: str, /) -> str:
        """The target of the symlink ``path``."""
        return self._fs.read_link_at(self._start(), path, path)

    def native(self, path: str, /) -> str | None:
        """None: these files are not on any disk the OS could reach."""
        return None


def cwd_dir(fs: MemFs) -> MemDir:
    """The sandboxed capability for ``fs``'s current directory (label ``cwd``)."""
    return MemDir(fs, "cwd", None, follows_cwd=True)


def fs_dir(fs: MemFs) -> MemDir:
    """The unrestricted capability for all of ``fs`` (label ``fs``)."""
    return MemDir(fs, "fs", None)


__all__ += ["cwd_dir", "fs_dir"]

if TYPE_CHECKING:
    _DIR_IS: type[ClosableDir] = MemDir
    _FILE_IS: type[Rw] = MemFile
