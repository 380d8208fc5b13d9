"""Directories and files on worker threads: `UnixDir` (an `eio.fs.Dir`) and `UnixFile` (an `eio.file.Rw`).

Every operation runs its blocking system calls on a worker thread
(`eio.lowlevel.run_in_systhread`), relative to the directory's descriptor
(``dir_fd=``). A sandboxed directory resolves paths with
`resolve_beneath` / `open_beneath` (component by component, never
following a symlink it has not checked), so ``..`` above the directory,
absolute paths and symlinks leading out of it are refused with
`eio.fs.PermissionDenied`, even a symlink created after the directory was
opened. `fs_dir` is the unrestricted directory (absolute paths allowed) and
`cwd_dir` the sandbox of the process's current directory (whatever it is at
the time of each operation).

A file or directory descriptor is closed once no operation uses it (`Fd`);
after closing, every operation raises `eio.ResourceClosed` (a `ValueError`).
"""

from __future__ import annotations

import errno
import os
import stat as _stat
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, TypeVar

from .._core._switch import Switch
from .._core._threads import run_in_systhread
from .._flow._errors import EndOfFile
from .._io_errors import Io, PermissionDenied, from_oserror
from ..file import FileKind, Rw, SeekWhence, Stat, kind_of_mode
from ..fs import ClosableDir, Create, Dir
from ..path import path_str
from ._fd import Fd
from ._flow import wait_until_ready
from ._net import check_cancelled
from ._sandbox import DIR_FLAGS, open_beneath, resolve_beneath

__all__ = ["UnixDir", "UnixFile", "by_descriptor", "chmod_at", "chown_at", "cwd_dir", "entries_of", "fs_dir", "stat_of"]

T = TypeVar("T")

_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
# Files are opened non-blocking, so that opening a FIFO never waits for its other end
# (as Eio does); `opened_file` then gives anything but a FIFO its blocking mode back.
O_OPEN_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
_CREATE_FLAGS: Final[dict[str, int]] = {
    "never": 0,
    "if_missing": os.O_CREAT,
    "or_truncate": os.O_CREAT | os.O_TRUNC,
    "exclusive": os.O_CREAT | os.O_EXCL,
}
_WHENCE: Final[dict[str, int]] = {"set": os.SEEK_SET, "cur": os.SEEK_CUR, "end": os.SEEK_END}
_READ_CHUNK: Final = 65536


def stat_of(st: os.stat_result) -> Stat:
    """An `eio.file.Stat` from `os.stat` 's result."""
    return Stat(
        dev=st.st_dev,
        ino=st.st_ino,
        kind=kind_of_mode(st.st_mode),
        perm=_stat.S_IMODE(st.st_mode),
        nlink=st.st_nlink,
        uid=st.st_uid,
        gid=st.st_gid,
        rdev=getattr(st, "st_rdev", 0),
        size=st.st_size,
        blksize=getattr(st, "st_blksize", 0),
        blocks=getattr(st, "st_blocks", 0),
        atime=st.st_atime_ns / 1e9,
        mtime=st.st_mtime_ns / 1e9,
        ctime=st.st_ctime_ns / 1e9,
    )


def _write(fd: int, bufs: Sequence[bytes | memoryview], offset: int) -> int:
    if sys.platform == "win32":
        if offset >= 0:
            os.lseek(fd, offset, os.SEEK_SET)
        return os.write(fd, bufs[0])
    if offset >= 0:
        return os.pwritev(fd, bufs, offset) if len(bufs) > 1 else os.pwrite(fd, bufs[0], offset)
    return os.writev(fd, bufs) if len(bufs) > 1 else os.write(fd, bufs[0])


def _read_into(fd: int, buf: memoryview, offset: int) -> int:
    if offset >= 0 and sys.platform != "win32":
        data = os.pread(fd, len(buf), offset)
    else:
        data = os.read(fd, len(buf))
    n = len(data)
    buf[:n] = data
    return n


def _read_all(fd: int) -> bytes:
    st = os.fstat(fd)
    if _stat.S_ISREG(st.st_mode):
        left = st.st_size - os.lseek(fd, 0, os.SEEK_CUR)
        first = os.read(fd, left + 1) if left >= 0 else b""
        if len(first) == left:
            return first  # the common case: the whole file in one read
        chunks = [first]
    else:
        chunks = []
    while True:
        data = os.read(fd, _READ_CHUNK)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


class UnixFile:
    """An open file: an `eio.file.Rw` (for a file opened read-only, writes fail with an `eio.Io`).

    Closed when its switch finishes (if opened with one), by `close`, or
    when garbage-collected.
    """

    __slots__ = ("_fd", "_label")

    def __init__(self, fd: int, label: str) -> None:
        """Take ownership of the freshly opened descriptor ``fd``; ``label`` names it in messages."""
        self._fd = Fd(fd, f"file {label}")
        self._label = label

    def __repr__(self) -> str:
        state = "closed" if self._fd.closed else f"fd={self._fd.fd}"
        return f"<file {self._label} {state}>"

    def attach(self, sw: Switch | None) -> UnixFile:
        """Close the file when ``sw`` finishes (closing it now, and raising, if ``sw`` is finished)."""
        self._fd.attach(sw)
        return self

    def fileno(self) -> int:
        """The descriptor (`eio.ResourceClosed` once closed)."""
        if self._fd.closed:
            raise self._fd.closed_error()
        return self._fd.fd

    async def close(self) -> None:
        """Close the file (idempotent). The descriptor goes once no operation uses it."""
        self._fd.close()

    async def _run(self, fn: Callable[[int], T]) -> T:
        check_cancelled()
        holder = self._fd
        fd = holder.use()
        try:
            return await run_in_systhread(lambda: fn(fd))
        except OSError as ex:
            raise from_oserror(ex) from ex
        finally:
            holder.unuse()

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at the file position; `eio.EndOfFile` at the end."""
        n = await self._run(lambda fd: _read_into(fd, buf, -1))
        if n == 0:
            raise EndOfFile()
        return n

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write (some of) ``bufs`` at the file position (at the end, if opened for appending)."""
        return await self._run(lambda fd: _write(fd, bufs, -1))

    async def read_all(self) -> bytes:
        """Everything from the file position to the end (the fast path `eio.Path.load` uses)."""
        return await self._run(_read_all)

    async def pread(self, file_offset: int, bufs: Sequence[memoryview], /) -> int:
        """One read at ``file_offset`` into (the first of) ``bufs``; `eio.EndOfFile` at or past the end."""
        if file_offset < 0:
            raise ValueError(f"file_offset must not be negative (got {file_offset})")
        buf = next((b for b in bufs if len(b)), memoryview(b""))
        n = await self._run(lambda fd: _read_into(fd, buf, file_offset))
        if n == 0:
            raise EndOfFile()
        return n

    async def pwrite(self, file_offset: int, bufs: Sequence[bytes | memoryview], /) -> int:
        """One write of (some of) ``bufs`` at ``file_offset``; return how many bytes went."""
        if file_offset < 0:
            raise ValueError(f"file_offset must not be negative (got {file_offset})")
        return await self._run(lambda fd: _write(fd, bufs, file_offset))

    async def stat(self) -> Stat:
        """The file's metadata (``fstat``)."""
        return stat_of(await self._run(os.fstat))

    async def size(self) -> int:
        """The file's size in bytes."""
        return (await self.stat()).size

    async def seek(self, offset: int, whence: SeekWhence, /) -> int:
        """Move the file position (``lseek``, which never blocks); return it."""
        check_cancelled()
        holder = self._fd
        fd = holder.use()
        try:
            return os.lseek(fd, offset, _WHENCE[whence])
        except OSError as ex:
            raise from_oserror(ex) from ex
        finally:
            holder.unuse()

    async def sync(self) -> None:
        """Flush data and metadata to the device (``fsync``)."""
        await self._run(os.fsync)

    async def truncate(self, length: int, /) -> None:
        """Set the file's length (``ftruncate``)."""
        await self._run(lambda fd: os.ftruncate(fd, length))


class FifoFile(UnixFile):
    """A `UnixFile` on a FIFO (a named pipe), kept non-blocking: reads and writes wait for readiness, cancellably.

    Opening one never waits for a writer (or reader). Until a writer has
    attached, a read on such a FIFO would report end-of-file at once, so each
    read first waits until the FIFO is readable: it then ends with data, or
    with end-of-file once every writer has gone. Offsets don't apply to a FIFO
    (``pread``/``pwrite``/``seek`` fail with an `eio.Io`).
    """

    __slots__ = ()

    async def single_read(self, buf: memoryview, /) -> int:
        """Wait until the FIFO is readable, then read; `eio.EndOfFile` once every writer has gone."""
        check_cancelled()
        holder = self._fd
        fd = holder.use("read")
        try:
            while True:
                await wait_until_ready(holder, fd, False)
                try:
                    n = _read_into(fd, buf, -1)
                    break
                except BlockingIOError:
                    continue  # another reader took the data: wait again
                except OSError as ex:
                    raise from_oserror(ex, f"reading {holder.label}") from ex
        finally:
            holder.unuse()
        if n == 0:
            raise EndOfFile()
        return n

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write (some of) ``bufs``, waiting while the FIFO is full."""
        check_cancelled()
        holder = self._fd
        fd = holder.use("write")
        try:
            while True:
                try:
                    return _write(fd, bufs, -1)
                except BlockingIOError:
                    await holder.wait_writable("write")
                except OSError as ex:
                    raise from_oserror(ex, f"writing {holder.label}") from ex
        finally:
            holder.unuse()

    async def read_all(self) -> bytes:
        """Everything until every writer has gone."""
        chunks: list[bytes] = []
        buf = memoryview(bytearray(_READ_CHUNK))
        while True:
            try:
                n = await self.single_read(buf)
            except EndOfFile:
                return b"".join(chunks)
            chunks.append(bytes(buf[:n]))


def opened_file(fd: int, label: str) -> UnixFile:
    """The file for ``fd``, just opened with `O_OPEN_NONBLOCK`: a `FifoFile` for a FIFO, else a `UnixFile`.

    Anything but a FIFO gets its blocking mode back (worker threads do its IO).
    Takes ownership of ``fd``: it is closed if this fails.
    """
    if sys.platform == "win32":  # no FIFOs, and nothing was opened non-blocking
        return UnixFile(fd, label)
    try:
        fifo = _stat.S_ISFIFO(os.fstat(fd).st_mode)
        if not fifo and O_OPEN_NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return FifoFile(fd, label) if fifo else UnixFile(fd, label)


def entries_of(fd: int) -> list[tuple[str, FileKind]]:
    """``(name, kind)`` of each entry of the open directory ``fd`` (symlinks not followed)."""
    out: list[tuple[str, FileKind]] = []
    with os.scandir(fd) as it:
        for entry in it:
            # The kind the directory itself records (d_type) when there is one; else a stat.
            if entry.is_symlink():
                kind: FileKind = "symbolic_link"
            elif entry.is_dir(follow_symlinks=False):
                kind = "directory"
            elif entry.is_file(follow_symlinks=False):
                kind = "regular_file"
            else:
                try:
                    kind = kind_of_mode(entry.stat(follow_symlinks=False).st_mode)
                except FileNotFoundError:
                    continue  # removed meanwhile
            out.append((entry.name, kind))
    return out


def chmod_at(target: str | int, mode: int, dir_fd: int | None, nofollow: bool) -> None:
    """``chmod`` of ``target`` (relative to ``dir_fd``); with ``nofollow``, a symlink itself (which Linux refuses)."""
    if not nofollow:
        os.chmod(target, mode, dir_fd=dir_fd)
        return
    assert isinstance(target, str)
    if _stat.S_ISLNK(os.stat(target, dir_fd=dir_fd, follow_symlinks=False).st_mode) and sys.platform == "linux":
        raise OSError(errno.EOPNOTSUPP, "Linux can't change the permissions of a symlink itself", target)
    try:
        if dir_fd is None and os.chmod not in os.supports_follow_symlinks:
            os.chmod(target, mode)  # no sandbox (and not a symlink, just checked)
        else:
            os.chmod(target, mode, dir_fd=dir_fd, follow_symlinks=False)
    except (NotImplementedError, ValueError):
        # This system can't change a symlink's permissions (it became one meanwhile).
        raise OSError(errno.EOPNOTSUPP, "can't change the permissions of a symlink itself", target) from None


def chown_at(target: str | int, uid: int, gid: int, dir_fd: int | None, nofollow: bool) -> None:
    """``chown`` of ``target`` (relative to ``dir_fd``); with ``nofollow``, a symlink itself."""
    if sys.platform == "win32":
        raise OSError(errno.EOPNOTSUPP, "Windows files have no Unix owner", target)
    os.chown(target, uid, gid, dir_fd=dir_fd, follow_symlinks=not nofollow)


def by_descriptor(fd: int) -> tuple[str | int, int | None, bool]:
    """How to change the file open as ``fd`` (maybe an ``O_PATH`` one): ``(target, dir_fd, nofollow)``."""
    if sys.platform == "linux":
        return f"/proc/self/fd/{fd}", None, False  # an O_PATH descriptor can't be fchmod-ed: its magic link can
    return fd, None, False


def _concat(a: str, b: str) -> str:
    return a + b if a == "" or a.endswith("/") else f"{a}/{b}"


def _basename(path: str) -> str:
    stripped = path.rstrip("/")
    if not stripped:
        return "/" if path else "."
    return stripped.rpartition("/")[2]


class UnixDir:
    """A directory capability: an `eio.fs.ClosableDir`.

    ``UnixDir(fd, label, sandboxed)``: ``fd`` is a descriptor of the
    directory that the object then owns, or -1 for the process's current
    directory, whatever it is at the time of each operation. ``sandboxed``
    confines every path to the directory. ``dir_path`` is its native path.
    """

    __slots__ = ("label", "_fd", "_sandboxed", "_dir_path")

    def __init__(self, fd: int, label: str, sandboxed: bool, dir_path: str = "") -> None:
        """A capability for the directory ``fd`` (owned unless -1), named ``label``."""
        self.label: str = label
        self._fd = Fd(fd, f"directory <{label}>", owned=fd >= 0)
        self._sandboxed = sandboxed
        self._dir_path = "" if dir_path == "." else dir_path

    def __repr__(self) -> str:
        kind = "sandbox" if self._sandboxed else "unconfined"
        state = " closed" if self._fd.closed else ""
        return f"<UnixDir {self.label} ({kind}){state}>"

    @property
    def sandboxed(self) -> bool:
        """Whether paths are confined to this directory."""
        return self._sandboxed

    def attach(self, sw: Switch | None) -> UnixDir:
        """Close the directory when ``sw`` finishes."""
        self._fd.attach(sw)
        return self

    async def close(self) -> None:
        """Close the directory's descriptor (idempotent); later use raises `eio.ResourceClosed`."""
        if self._fd.fd < 0 and not self._fd.closed:
            raise RuntimeError(f"<{self.label}> is not an opened directory and can't be closed")
        self._fd.close()

    # -- running an operation ---------------------------------------------------------

    async def _run(self, path: str, fn: Callable[[int | None], T]) -> T:
        """``fn(root)`` on a worker thread: ``root`` is this directory's descriptor (None: the current one)."""
        check_cancelled()
        holder = self._fd
        fd = holder.use()
        sandboxed = self._sandboxed

        def job() -> T:
            if fd >= 0:
                return fn(fd)
            if not sandboxed:
                return fn(None)
            here = os.open(".", DIR_FLAGS)
            try:
                return fn(here)
            finally:
                os.close(here)

        try:
            return await run_in_systhread(job)
        except OSError as ex:
            if not isinstance(ex, Io) and ex.filename is None:
                ex.filename = path
            raise from_oserror(ex) from ex
        finally:
            holder.unuse()

    async def _at(self, path: str, fn: Callable[[int | None, str], T]) -> T:
        """``fn(dir_fd, leaf)`` on ``path``'s parent and last component (not followed)."""

        def at(root: int | None) -> T:
            if root is None or not self._sandboxed:
                return fn(root, path)
            dir_fd, leaf = resolve_beneath(root, path or ".")
            try:
                return fn(dir_fd, leaf)
            finally:
                if dir_fd != root:
                    os.close(dir_fd)

        return await self._run(path, at)

    def _open_flags(self, root: int | None, path: str, flags: int, mode: int) -> int:
        if root is None or not self._sandboxed:
            return os.open(path or ".", flags | _O_CLOEXEC, mode, dir_fd=root)
        return open_beneath(root, path or ".", flags, mode)

    async def _open(self, path: str, flags: int, mode: int = 0o777) -> int:
        return await self._run(path, lambda root: self._open_flags(root, path, flags, mode))

    # -- the Dir interface -------------------------------------------------------------

    async def open_in(self, sw: Switch | None, path: str, /) -> UnixFile:
        """Open ``path`` for reading."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.open_in", "path")
        fd = await self._open(path, os.O_RDONLY | O_OPEN_NONBLOCK)
        return opened_file(fd, f"<{self.label}:{path}>").attach(sw)

    async def open_out(self, sw: Switch | None, path: str, append: bool, create: Create, perm: int, /) -> UnixFile:
        """Open ``path`` for reading and writing, creating it as ``create`` says."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.open_out", "path")
        flags = os.O_RDWR | _CREATE_FLAGS[create]
        if append:
            flags |= os.O_APPEND
        fd = await self._open(path, flags | O_OPEN_NONBLOCK, perm if create != "never" else 0)
        return opened_file(fd, f"<{self.label}:{path}>").attach(sw)

    async def open_dir(self, sw: Switch | None, path: str, /) -> UnixDir:
        """A new sandboxed capability for the directory ``path``."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.open_dir", "path")
        fd = await self._open(path, DIR_FLAGS & ~_O_NOFOLLOW)
        return UnixDir(fd, _basename(path), True, self.native(path) or "").attach(sw)

    async def read_dir(self, path: str, /) -> list[str]:
        """The names in the directory ``path``, in the order the OS gives them."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.read_dir", "path")

        def listing(root: int | None) -> list[str]:
            fd = self._open_flags(root, path, os.O_RDONLY | _O_DIRECTORY, 0)
            try:
                return os.listdir(fd)
            finally:
                os.close(fd)

        return await self._run(path, listing)

    async def stat(self, path: str, follow: bool, /) -> Stat:
        """The metadata of ``path`` (of a final symlink's target if ``follow``)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.stat", "path")
        if follow:

            def stat_followed(root: int | None) -> os.stat_result:
                if root is None or not self._sandboxed:
                    return os.stat(path or ".", dir_fd=root)
                # Resolved within the sandbox, a final symlink included (O_PATH with O_NOFOLLOW
                # would open the link itself).
                dir_fd, leaf = resolve_beneath(root, path or ".", follow=True)
                try:
                    return os.stat(leaf, dir_fd=dir_fd, follow_symlinks=False)
                finally:
                    if dir_fd != root:
                        os.close(dir_fd)

            return stat_of(await self._run(path, stat_followed))
        return stat_of(await self._at(path, lambda d, leaf: os.stat(leaf, dir_fd=d, follow_symlinks=False)))

    async def mkdir(self, path: str, perm: int, /) -> None:
        """Create the directory ``path`` with ``perm`` (less the umask)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.mkdir", "path")
        await self._at(path, lambda d, leaf: os.mkdir(leaf, perm, dir_fd=d))

    async def unlink(self, path: str, /) -> None:
        """Remove the entry ``path`` (a symlink itself, never its target)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.unlink", "path")
        await self._at(path, lambda d, leaf: os.unlink(leaf, dir_fd=d))

    async def rmdir(self, path: str, /) -> None:
        """Remove the empty directory ``path``."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.rmdir", "path")
        await self._at(path, lambda d, leaf: os.rmdir(leaf, dir_fd=d))

    async def rename(self, old_path: str, new_dir: Dir, new_path: str, /) -> None:
        """Move ``old_path`` to ``new_path`` in ``new_dir`` (which must be a `UnixDir`)."""
        if type(old_path) is not str:  # a str subclass may lie about its text
            old_path = path_str(old_path, "UnixDir.rename", "old_path")
        if type(new_path) is not str:  # a str subclass may lie about its text
            new_path = path_str(new_path, "UnixDir.rename", "new_path")
        if not isinstance(new_dir, UnixDir):
            # Only a directory of this kind can vouch for where the new path lands.
            raise PermissionDenied(errno.EXDEV, "Can't rename to a directory of another kind", new_path)
        target = new_dir

        async def into(old_fd: int | None, old_leaf: str) -> None:
            def move(new_fd: int | None, new_leaf: str) -> None:
                os.rename(old_leaf, new_leaf, src_dir_fd=old_fd, dst_dir_fd=new_fd)

            await target._at(new_path, move)

        # The old side's descriptors stay open while the new side is resolved:
        # both are held by the two nested operations.
        def old_side(root: int | None) -> tuple[int | None, str, bool]:
            if root is None or not self._sandboxed:
                return root, old_path, False
            dir_fd, leaf = resolve_beneath(root, old_path or ".")
            # A descriptor of our own: ``root`` may be closed when this job ends.
            return (dir_fd if dir_fd != root else os.dup(root)), leaf, True

        holder = self._fd
        holder.use()
        try:
            old_fd, old_leaf, owned = await self._run(old_path, old_side)
            try:
                await into(old_fd, old_leaf)
            finally:
                if owned and old_fd is not None:
                    os.close(old_fd)
        finally:
            holder.unuse()

    async def symlink(self, path: str, link_to: str, /) -> None:
        """Create the symlink ``path`` pointing at ``link_to`` (which is not checked)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.symlink", "path")
        if type(link_to) is not str:  # a str subclass may lie about its text
            link_to = path_str(link_to, "UnixDir.symlink", "link_to")
        await self._at(path, lambda d, leaf: os.symlink(link_to, leaf, dir_fd=d))

    async def read_link(self, path: str, /) -> str:
        """The target of the symlink ``path``."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.read_link", "path")
        return await self._at(path, lambda d, leaf: os.readlink(leaf, dir_fd=d))

    async def read_dir_entries(self, path: str, /) -> list[tuple[str, FileKind]]:
        """The names in the directory ``path`` with their kinds (a symlink is ``"symbolic_link"``), in the OS's order."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.read_dir_entries", "path")

        def listing(root: int | None) -> list[tuple[str, FileKind]]:
            fd = self._open_flags(root, path, os.O_RDONLY | _O_DIRECTORY, 0)
            try:
                return entries_of(fd)
            finally:
                os.close(fd)

        return await self._run(path, listing)

    async def chmod(self, path: str, mode: int, follow: bool, /) -> None:
        """Set the permissions of ``path`` (of a final symlink's target if ``follow``)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.chmod", "path")
        await self._change(path, follow, lambda target, dir_fd, nofollow: chmod_at(target, mode, dir_fd, nofollow))

    async def chown(self, path: str, uid: int, gid: int, follow: bool, /) -> None:
        """Set the owner and group of ``path`` (-1 leaves one as it is; of a final symlink's target if ``follow``)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.chown", "path")
        await self._change(path, follow, lambda target, dir_fd, nofollow: chown_at(target, uid, gid, dir_fd, nofollow))

    async def _change(self, path: str, follow: bool, change: Callable[[str | int, int | None, bool], None]) -> None:
        """``change(target, dir_fd, nofollow)`` on ``path``, resolved within the sandbox."""
        if not follow:
            await self._at(path, lambda d, leaf: change(leaf, d, True))
            return

        def followed(root: int | None) -> None:
            if root is None or not self._sandboxed:
                change(path or ".", root, False)
                return
            # Symlinks resolved within the sandbox; the final component is then changed
            # without following (were it replaced by a symlink meanwhile, the change fails).
            dir_fd, leaf = resolve_beneath(root, path or ".", follow=True)
            try:
                change(leaf, dir_fd, True)
            finally:
                if dir_fd != root:
                    os.close(dir_fd)

        await self._run(path, followed)

    def native(self, path: str, /) -> str | None:
        """The OS path for ``path`` (relative to the process's current directory unless absolute)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UnixDir.native", "path")
        if path.startswith("/"):
            return path
        p = _concat(self._dir_path, path)
        if p in ("", "."):
            return "."
        implicit = not (p.startswith("/") or p.startswith("./") or p.startswith("../"))
        return "./" + p if implicit else p


def cwd_dir() -> UnixDir:
    """The sandboxed capability for the current directory (``env.cwd``'s directory, label ``cwd``)."""
    return UnixDir(-1, "cwd", True)


def fs_dir() -> UnixDir:
    """The unrestricted capability for the whole file system (``env.fs``'s directory, label ``fs``)."""
    return UnixDir(-1, "fs", False)


if TYPE_CHECKING:
    # Makes pyright check that the classes implement the Protocols.
    _DIR_IS: type[ClosableDir] = UnixDir
    _FILE_IS: type[Rw] = UnixFile
