"""Directories and files on io_uring: `UringDir` (an `eio.fs.Dir`) and `UringFile` (an `eio.file.Rw`).

Sandboxing. A sandboxed directory opens every path with io_uring's OPENAT2
and ``RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS``: the kernel refuses ``..``
above the directory, absolute paths and symlinks leading out of it (even a
symlink created after the directory was opened) with EXDEV, which becomes
`eio.fs.PermissionDenied`. Operations that have no openat2 form (mkdirat,
unlinkat, renameat, symlinkat, statx without following, readlinkat) first
open the path's *parent* that way (an ``O_PATH`` descriptor) and then act on
the last component relative to it; a last component of ``..`` is handled by
opening the whole path instead and acting on ``.``. Those calls never follow
a final symlink, so the last component can't escape either. This is
Eio_linux's scheme. `fs_dir` is the unrestricted directory (plain resolution,
absolute paths allowed) and `cwd_dir` the sandbox of the current directory;
both use ``AT_FDCWD``, so they follow the process's current directory.

Files. Flow reads and writes use the kernel's file position (io_uring offset
-1, ``IORING_FEAT_RW_CUR_POS``), so `UringFile.seek` is ``lseek`` and code
sharing the descriptor (`UringFile.fileno`) sees the same position;
``pread``/``pwrite`` pass explicit offsets. Descriptors are closed with
``close(2)`` directly (it never blocks on local files, and avoids a ring
round trip). A descriptor is only closed once no operation of this object
uses it, so a concurrent close can't make an in-flight operation hit a
reused number (`eio.unix.Fd`); after closing, every operation raises
`eio.ResourceClosed` (a `ValueError`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as _stat
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TYPE_CHECKING, Final

import eio
from eio._io_errors import Io, PermissionDenied, from_oserror
from eio.file import FileKind, Rw, SeekWhence, Stat, kind_of_mode
from eio.fs import ClosableDir, Create, Dir
from eio.lowlevel import run_in_systhread
from eio.path import path_str
from eio.unix import Fd
from eio.unix._fs import by_descriptor, chmod_at, chown_at, entries_of

from ._abi import AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS
from ._codecs import Statx
from ._fd import read_op, uring, write_op
from ._ring import Ring
from ._sched import check_cancelled

__all__ = ["UringDir", "UringFile", "cwd_dir", "fs_dir"]

_BENEATH: Final = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS
_O_PATH_DIR: Final = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
_O_READ_DIR: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_O_IN: Final = os.O_RDONLY | os.O_CLOEXEC
_CREATE_FLAGS: Final[dict[str, int]] = {
    "never": 0,
    "if_missing": os.O_CREAT,
    "or_truncate": os.O_CREAT | os.O_TRUNC,
    "exclusive": os.O_CREAT | os.O_EXCL,
}
_WHENCE: Final[dict[str, int]] = {"set": os.SEEK_SET, "cur": os.SEEK_CUR, "end": os.SEEK_END}
_SEEK_CUR: Final = os.SEEK_CUR
_READ_CHUNK: Final = 65536


# -- errors ---------------------------------------------------------------------------


def _error(res: int, path: str, sandboxed: bool = False) -> Io:
    """The eio error for a failed operation's ``-errno`` on ``path``."""
    code = -res
    if code == errno.EXDEV and sandboxed:
        # The kernel's word for "this path leaves the RESOLVE_BENEATH root".
        return from_oserror(OSError(code, "Path leads outside the sandboxed directory", path))
    return from_oserror(OSError(code, os.strerror(code), path))


# -- one ring operation each -------------------------------------------------------------


async def _openat2(dirfd: int, path: str, flags: int, mode: int, resolve: int) -> int:
    """Open ``path`` relative to ``dirfd``; return the new descriptor or raise the eio error."""
    while True:
        check_cancelled()
        u = uring()
        ud = u.next_user_data()
        u.ring.prep_openat2(ud, dirfd, path, flags, mode, resolve)
        res = await u.await_op(ud)
        if res >= 0:
            return res
        # A concurrent rename can make RESOLVE_BENEATH lookups fail with EAGAIN: retry.
        if res != -errno.EAGAIN:
            raise _error(res, path, resolve != 0)


async def _statx(dirfd: int, path: str, flags: int) -> Stat:
    check_cancelled()
    u = uring()
    ud = u.next_user_data()
    buf = Statx()
    u.ring.prep_statx(ud, dirfd, path, buf, flags)
    res = await u.await_op(ud)
    if res < 0:
        raise _error(res, path)
    return _stat_of_statx(buf)


def _stat_of_statx(x: Statx) -> Stat:
    mode = x.mode
    rdev_major, rdev_minor = x.rdev
    dev_major, dev_minor = x.dev
    return Stat(
        dev=os.makedev(dev_major, dev_minor),
        ino=x.ino,
        kind=kind_of_mode(mode),
        perm=_stat.S_IMODE(mode),
        nlink=x.nlink,
        uid=x.uid,
        gid=x.gid,
        rdev=os.makedev(rdev_major, rdev_minor),
        size=x.size,
        blksize=x.blksize,
        blocks=x.blocks,
        atime=x.atime_ns / 1e9,
        mtime=x.mtime_ns / 1e9,
        ctime=x.ctime_ns / 1e9,
    )


async def _simple(ud: int, path: str) -> None:
    """Wait for the operation just queued with user_data ``ud``; raise its error, if any."""
    res = await uring().await_op(ud)
    if res < 0:
        raise _error(res, path)


# -- path arithmetic (OCaml's Filename, with "/" as the separator) ------------------------


def basename(path: str) -> str:
    """The last component of ``path`` (trailing slashes ignored); ``"."`` for ``""``, ``"/"`` for ``"/"``."""
    if path == "":
        return "."
    end = len(path)
    while end > 0 and path[end - 1] == "/":
        end -= 1
    if end == 0:
        return "/"
    start = path.rfind("/", 0, end) + 1
    return path[start:end]


def dirname(path: str) -> str:
    """``path`` without its last component (trailing slashes ignored); ``"."`` if there is none."""
    if path == "":
        return "."
    end = len(path)
    while end > 0 and path[end - 1] == "/":
        end -= 1
    if end == 0:
        return "/"
    cut = path.rfind("/", 0, end)
    if cut < 0:
        return "."
    while cut > 0 and path[cut - 1] == "/":
        cut -= 1
    return path[:cut] if cut > 0 else "/"


def _concat(a: str, b: str) -> str:
    return a + b if a == "" or a.endswith("/") else f"{a}/{b}"


def _is_implicit(p: str) -> bool:
    return not (p.startswith("/") or p.startswith("./") or p.startswith("../"))


# -- files ---------------------------------------------------------------------------------


class UringFile:
    """An open file: an `eio.file.Rw` (for a file opened read-only, writes fail with an `eio.Io`).

    Closed when its switch finishes (if opened with one), by `close`, or
    when garbage-collected.
    """

    __slots__ = ("_h", "_label", "_at_start")

    def __init__(self, fd: int, label: str) -> None:
        """Take ownership of the freshly opened descriptor ``fd``; ``label`` names it in messages."""
        self._h = Fd(fd, f"file {label}")
        self._label = label
        # The position is 0 until something may have moved it: read_all then needs no lseek.
        self._at_start = True

    def __repr__(self) -> str:
        state = "closed" if self._h.closing else f"fd={self._h.fd}"
        return f"<file {self._label} {state}>"

    def attach(self, sw: eio.Switch | None) -> UringFile:
        """Close the file when ``sw`` finishes (closing it now, and raising, if ``sw`` is finished)."""
        self._h.attach(sw)
        return self

    def fileno(self) -> int:
        """The descriptor (`ValueError` once closed)."""
        if self._h.closing:
            raise self._h.closed_error()
        self._at_start = False
        return self._h.fd

    async def close(self) -> None:
        """Close the file (idempotent). The descriptor goes once no operation uses it."""
        self._h.close()

    # -- flow ----------------------------------------------------------------------

    async def single_read(self, buf: memoryview, /) -> int:
        """Read at the file position; `eio.EndOfFile` at the end."""
        fd = self._h.use()
        self._at_start = False
        try:
            res = await read_op(fd, (buf,))
        finally:
            self._h.unuse()
        if res > 0:
            return res
        if res == 0:
            raise eio.EndOfFile()
        raise _error(res, self._label)

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Write (some of) ``bufs`` at the file position (at the end, if opened for appending)."""
        return await self._write(bufs, -1)

    async def read_all(self) -> bytes:
        """Everything from the file position to the end (the fast path `eio.Path.load` uses).

        A regular file is read with one buffer of its size (plus a byte): when
        the read returns exactly what ``fstat`` said was left, that is the end,
        and no second read is needed to see it.
        """
        fd = self._h.use()
        try:
            try:
                st = os.fstat(fd)
                pos = 0 if self._at_start or not st.st_size else os.lseek(fd, 0, _SEEK_CUR)
                self._at_start = False
            except OSError as ex:
                raise from_oserror(ex) from ex
            left = st.st_size - pos if _stat.S_ISREG(st.st_mode) else -1
            chunks: list[bytes] = []
            size = left + 1 if left >= 0 else _READ_CHUNK
            while True:
                buf = bytearray(size)
                n = await read_op(fd, (buf,))
                if n < 0:
                    raise _error(n, self._label)
                if n == left and not chunks:
                    # The common case, a whole regular file in one read.
                    return bytes(memoryview(buf)[:n])
                if n == 0:
                    break
                chunks.append(bytes(memoryview(buf)[:n]))
                if n == left:
                    break
                left = -1
                size = _READ_CHUNK
        finally:
            self._h.unuse()
        return b"".join(chunks)

    # -- positioned IO ------------------------------------------------------------------

    async def pread(self, file_offset: int, bufs: Sequence[memoryview], /) -> int:
        """One read at ``file_offset`` into ``bufs``; `eio.EndOfFile` at or past the end."""
        if file_offset < 0:
            raise ValueError(f"file_offset must not be negative (got {file_offset})")
        fd = self._h.use()
        try:
            res = await read_op(fd, bufs, file_offset)
        finally:
            self._h.unuse()
        if res > 0:
            return res
        if res == 0:
            raise eio.EndOfFile()
        raise _error(res, self._label)

    async def pwrite(self, file_offset: int, bufs: Sequence[bytes | memoryview], /) -> int:
        """One write of (some of) ``bufs`` at ``file_offset``; return how many bytes went."""
        if file_offset < 0:
            raise ValueError(f"file_offset must not be negative (got {file_offset})")
        return await self._write(bufs, file_offset)

    async def _write(self, bufs: Sequence[bytes | memoryview], offset: int) -> int:
        fd = self._h.use()
        if offset < 0:
            self._at_start = False
        try:
            res = await write_op(fd, bufs, offset)
        finally:
            self._h.unuse()
        if res < 0:
            raise _error(res, self._label)
        return res

    # -- metadata and the rest -----------------------------------------------------------

    async def stat(self) -> Stat:
        """The file's metadata (``statx`` on the descriptor)."""
        fd = self._h.use()
        try:
            return await _statx(fd, "", AT_EMPTY_PATH)
        finally:
            self._h.unuse()

    async def size(self) -> int:
        """The file's size in bytes."""
        return (await self.stat()).size

    async def seek(self, offset: int, whence: SeekWhence, /) -> int:
        """Move the file position (``lseek``, which never blocks); return it."""
        fd = self._h.use()
        self._at_start = False
        try:
            check_cancelled()
            return os.lseek(fd, offset, _WHENCE[whence])
        except OSError as ex:
            raise from_oserror(ex) from ex
        finally:
            self._h.unuse()

    async def sync(self) -> None:
        """Flush data and metadata to the device (io_uring FSYNC)."""
        fd = self._h.use()
        try:
            check_cancelled()
            u = uring()
            ud = u.next_user_data()
            u.ring.prep_fsync(ud, fd)
            await _simple(ud, self._label)
        finally:
            self._h.unuse()

    async def truncate(self, length: int, /) -> None:
        """Set the file's length (``ftruncate``)."""
        fd = self._h.use()
        try:
            check_cancelled()
            os.ftruncate(fd, length)
        except OSError as ex:
            raise from_oserror(ex) from ex
        finally:
            self._h.unuse()


# -- directories -----------------------------------------------------------------------------


class UringDir:
    """A directory capability on io_uring: an `eio.fs.ClosableDir`.

    ``UringDir(fd, label, sandboxed)``: ``fd`` is a descriptor of the
    directory (an ``O_PATH`` one is enough) that the object then owns, or
    ``AT_FDCWD`` for the process's current directory, whatever it is at the
    time of each operation. ``sandboxed`` confines every path to the
    directory. ``dir_path`` is the directory's native path, for `native`.
    """

    __slots__ = ("_h", "label", "_sandboxed", "_resolve", "_dir_path")

    def __init__(self, fd: int, label: str, sandboxed: bool, dir_path: str = "") -> None:
        """A capability for the directory ``fd`` (owned unless ``AT_FDCWD``), named ``label``."""
        self._h = Fd(fd, f"directory <{label}>", owned=fd != AT_FDCWD)
        self.label = label
        self._sandboxed = sandboxed
        self._resolve = _BENEATH if sandboxed else 0
        # "" and "." would mean the same; keep one form (as Eio does).
        self._dir_path = "" if dir_path == "." else dir_path

    def __repr__(self) -> str:
        kind = "sandbox" if self._sandboxed else "unconfined"
        state = " closed" if self._h.closing else ""
        return f"<UringDir {self.label} ({kind}){state}>"

    @property
    def sandboxed(self) -> bool:
        """Whether paths are confined to this directory."""
        return self._sandboxed

    # -- lifetime -----------------------------------------------------------------------

    def attach(self, sw: eio.Switch | None) -> UringDir:
        """Close the directory when ``sw`` finishes."""
        self._h.attach(sw)
        return self

    async def close(self) -> None:
        """Close the directory's descriptor (idempotent); later use raises `eio.ResourceClosed`."""
        if self._h.fd == AT_FDCWD and not self._h.closing:
            raise RuntimeError(f"<{self.label}> is not an opened directory and can't be closed")
        self._h.close()

    # -- helpers ----------------------------------------------------------------------------

    async def _open(self, path: str, flags: int, mode: int = 0) -> int:
        base = self._h.use()
        try:
            return await _openat2(base, path or ".", flags, mode, self._resolve)
        finally:
            self._h.unuse()

    async def _parent(self, path: str) -> tuple[int, str, int]:
        """``(dirfd, leaf, owned)``: where ``path``'s last component lives, resolved in the sandbox.

        ``owned`` is a descriptor the caller must close (-1 for none). The
        caller holds a use of this directory (``dirfd`` may be its own).
        """
        leaf = basename(path)
        base = self._h.fd
        if leaf == "..":
            # Open the whole path, so ".." is resolved (and checked) by the kernel.
            fd = await _openat2(base, path, _O_PATH_DIR, 0, self._resolve)
            return fd, ".", fd
        parent = dirname(path)
        if parent == ".":
            # A single component with no "/" and not "..": no lookup can leave the directory.
            return base, leaf, -1
        fd = await _openat2(base, parent, _O_PATH_DIR, 0, self._resolve)
        return fd, leaf, fd

    @contextlib.asynccontextmanager
    async def _at_parent(self, path: str) -> AsyncGenerator[tuple[int, str], None]:
        """``async with self._at_parent(path) as (dirfd, leaf)``: `_parent`, with its clean-up.

        Holds a use of this directory throughout, and closes the parent's
        descriptor (if one was opened) on the way out.
        """
        self._h.use()
        try:
            dirfd, leaf, owned = await self._parent(path)
            try:
                yield dirfd, leaf
            finally:
                if owned >= 0:
                    os.close(owned)
        finally:
            self._h.unuse()

    async def _op_at_parent(self, path: str, prep: Callable[[Ring, int, int, str], None]) -> None:
        """Run the one ring operation ``prep(ring, user_data, dirfd, leaf)`` on ``path``'s parent."""
        async with self._at_parent(path) as (dirfd, leaf):
            check_cancelled()
            u = uring()
            ud = u.next_user_data()
            prep(u.ring, ud, dirfd, leaf)
            await _simple(ud, path)

    # -- the Dir interface -----------------------------------------------------------------------

    async def open_in(self, sw: eio.Switch | None, path: str, /) -> UringFile:
        """Open ``path`` for reading."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.open_in", "path")
        # The hot path of `eio.Path.load`: the OPENAT2 loop of `_openat2`, inlined.
        self._h.use()
        try:
            while True:
                check_cancelled()
                u = uring()
                ud = u.next_user_data()
                u.ring.prep_openat2(ud, self._h.fd, path or ".", _O_IN, 0, self._resolve)
                res = await u.await_op(ud)
                if res >= 0:
                    break
                if res != -errno.EAGAIN:
                    raise _error(res, path or ".", self._sandboxed)
        finally:
            self._h.unuse()
        file = UringFile(res, f"<{self.label}:{path}>")
        if sw is not None:
            file.attach(sw)
        return file

    async def open_out(self, sw: eio.Switch | None, path: str, append: bool, create: Create, perm: int, /) -> UringFile:
        """Open ``path`` for reading and writing, creating it as ``create`` says."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.open_out", "path")
        flags = os.O_RDWR | os.O_CLOEXEC | _CREATE_FLAGS[create]
        if append:
            flags |= os.O_APPEND
        fd = await self._open(path, flags, perm if create != "never" else 0)
        return UringFile(fd, f"<{self.label}:{path}>").attach(sw)

    async def open_dir(self, sw: eio.Switch | None, path: str, /) -> UringDir:
        """A new sandboxed capability for the directory ``path``."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.open_dir", "path")
        fd = await self._open(path, _O_PATH_DIR)
        return UringDir(fd, basename(path), True, self.native(path) or "").attach(sw)

    async def read_dir(self, path: str, /) -> list[str]:
        """The names in the directory ``path``, in the order the OS gives them."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.read_dir", "path")
        fd = await self._open(path, _O_READ_DIR)
        try:
            return await run_in_systhread(lambda: os.listdir(fd))
        except OSError as ex:
            raise from_oserror(ex) from ex
        finally:
            os.close(fd)

    async def read_dir_entries(self, path: str, /) -> list[tuple[str, FileKind]]:
        """The names in the directory ``path`` with their kinds (symlinks not followed), in the OS's order."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.read_dir_entries", "path")
        fd = await self._open(path, _O_READ_DIR)
        try:
            return await run_in_systhread(lambda: entries_of(fd))
        except OSError as ex:
            raise from_oserror(ex) from ex
        finally:
            os.close(fd)

    async def chmod(self, path: str, mode: int, follow: bool, /) -> None:
        """Set the permissions of ``path`` (of a final symlink's target if ``follow``)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.chmod", "path")
        await self._change(path, follow, lambda target, dir_fd, nofollow: chmod_at(target, mode, dir_fd, nofollow))

    async def chown(self, path: str, uid: int, gid: int, follow: bool, /) -> None:
        """Set the owner and group of ``path`` (-1 leaves one as it is; of a final symlink's target if ``follow``)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.chown", "path")
        await self._change(path, follow, lambda target, dir_fd, nofollow: chown_at(target, uid, gid, dir_fd, nofollow))

    async def _change(self, path: str, follow: bool, change: Callable[[str | int, int | None, bool], None]) -> None:
        """``change(target, dir_fd, nofollow)`` on a worker thread, ``path`` resolved by the kernel within the sandbox."""

        async def run(target: str | int, dir_fd: int, nofollow: bool) -> None:
            check_cancelled()
            try:
                await run_in_systhread(lambda: change(target, None if dir_fd == AT_FDCWD else dir_fd, nofollow))
            except OSError as ex:
                if ex.filename is None or isinstance(target, int) or target.startswith("/proc/self/fd/"):
                    ex.filename = path or "."
                raise from_oserror(ex) from ex

        if not follow:
            async with self._at_parent(path) as (dirfd, leaf):
                await run(leaf, dirfd, True)
            return
        base = self._h.use()
        try:
            if not self._sandboxed:
                await run(path or ".", base, False)
                return
            fd = await _openat2(base, path or ".", os.O_PATH | os.O_CLOEXEC, 0, self._resolve)
            try:
                target, _none, _nofollow = by_descriptor(fd)
                await run(target, AT_FDCWD, False)
            finally:
                os.close(fd)
        finally:
            self._h.unuse()

    async def stat(self, path: str, follow: bool, /) -> Stat:
        """The metadata of ``path`` (of a final symlink's target if ``follow``)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.stat", "path")
        base = self._h.use()
        try:
            if not self._sandboxed:
                flags = AT_EMPTY_PATH if follow else AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW
                return await _statx(base, path, flags)
            if follow:
                if path == "" and base != AT_FDCWD:
                    return await _statx(base, "", AT_EMPTY_PATH)
                # Following a symlink is only safe through openat2's checks.
                fd = await _openat2(base, path or ".", os.O_PATH | os.O_CLOEXEC, 0, self._resolve)
                try:
                    return await _statx(fd, "", AT_EMPTY_PATH)
                finally:
                    os.close(fd)
            dirfd, leaf, owned = await self._parent(path)
            try:
                return await _statx(dirfd, leaf, AT_SYMLINK_NOFOLLOW)
            finally:
                if owned >= 0:
                    os.close(owned)
        finally:
            self._h.unuse()

    async def mkdir(self, path: str, perm: int, /) -> None:
        """Create the directory ``path`` with ``perm`` (less the umask)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.mkdir", "path")
        await self._op_at_parent(path, lambda ring, ud, dirfd, leaf: ring.prep_mkdirat(ud, dirfd, leaf, perm))

    async def _unlinkat(self, path: str, flags: int) -> None:
        await self._op_at_parent(path, lambda ring, ud, dirfd, leaf: ring.prep_unlinkat(ud, dirfd, leaf, flags))

    async def unlink(self, path: str, /) -> None:
        """Remove the entry ``path`` (a symlink itself, never its target)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.unlink", "path")
        await self._unlinkat(path, 0)

    async def rmdir(self, path: str, /) -> None:
        """Remove the empty directory ``path``."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.rmdir", "path")
        await self._unlinkat(path, AT_REMOVEDIR)

    async def rename(self, old_path: str, new_dir: Dir, new_path: str, /) -> None:
        """Move ``old_path`` to ``new_path`` in ``new_dir`` (which must be a `UringDir`)."""
        if type(old_path) is not str:  # a str subclass may lie about its text
            old_path = path_str(old_path, "UringDir.rename", "old_path")
        if type(new_path) is not str:  # a str subclass may lie about its text
            new_path = path_str(new_path, "UringDir.rename", "new_path")
        if not isinstance(new_dir, UringDir):
            # Only a directory of this backend can vouch for where the new path lands.
            raise PermissionDenied(errno.EXDEV, "Can't rename to a directory of another kind", new_path)
        self._h.use()
        try:
            new_dir._h.use()
            try:
                old_fd, old_leaf, old_owned = await self._parent(old_path)
                try:
                    new_fd, new_leaf, new_owned = await new_dir._parent(new_path)
                    if new_fd == AT_FDCWD:
                        # Ring.prep_renameat packs the new dirfd into an unsigned field,
                        # which can't hold AT_FDCWD: name the directory by a descriptor.
                        new_fd = new_owned = await _openat2(AT_FDCWD, ".", _O_PATH_DIR, 0, 0)
                    try:
                        check_cancelled()
                        u = uring()
                        ud = u.next_user_data()
                        u.ring.prep_renameat(ud, old_fd, old_leaf, new_fd, new_leaf)
                        await _simple(ud, old_path)
                    finally:
                        if new_owned >= 0:
                            os.close(new_owned)
                finally:
                    if old_owned >= 0:
                        os.close(old_owned)
            finally:
                new_dir._h.unuse()
        finally:
            self._h.unuse()

    async def symlink(self, path: str, link_to: str, /) -> None:
        """Create the symlink ``path`` pointing at ``link_to`` (which is not checked)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.symlink", "path")
        if type(link_to) is not str:  # a str subclass may lie about its text
            link_to = path_str(link_to, "UringDir.symlink", "link_to")
        await self._op_at_parent(path, lambda ring, ud, dirfd, leaf: ring.prep_symlinkat(ud, link_to, dirfd, leaf))

    async def read_link(self, path: str, /) -> str:
        """The target of the symlink ``path``."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.read_link", "path")
        async with self._at_parent(path) as (dirfd, leaf):
            dir_fd = None if dirfd == AT_FDCWD else dirfd
            try:
                return await run_in_systhread(lambda: os.readlink(leaf, dir_fd=dir_fd))
            except OSError as ex:
                raise from_oserror(ex) from ex

    def native(self, path: str, /) -> str | None:
        """The OS path for ``path`` (relative to the process's current directory unless absolute)."""
        if type(path) is not str:  # a str subclass may lie about its text
            path = path_str(path, "UringDir.native", "path")
        if path.startswith("/"):
            return path
        p = _concat(self._dir_path, path)
        if p in ("", "."):
            return "."
        return "./" + p if _is_implicit(p) else p


def cwd_dir() -> UringDir:
    """The sandboxed capability for the current directory (``env.cwd``'s directory, label ``cwd``)."""
    return UringDir(AT_FDCWD, "cwd", True)


def fs_dir() -> UringDir:
    """The unrestricted capability for the whole file system (``env.fs``'s directory, label ``fs``)."""
    return UringDir(AT_FDCWD, "fs", False)


if TYPE_CHECKING:
    # Makes pyright check that the classes implement the Protocols.
    _DIR_IS: type[ClosableDir] = UringDir
    _FILE_IS: type[Rw] = UringFile
