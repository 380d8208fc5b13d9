"""Paths: a directory capability plus a relative path (Eio's ``Path``).

``env.cwd / "data" / "a.txt"`` names ``data/a.txt`` beneath the current
directory; ``str()`` of it is ``<cwd:data/a.txt>``. Every file operation is a
method of `Path`. A path can only reach what its directory capability
allows: ``env.cwd`` (and every `Path.open_subtree` result) refuses to leave
its directory, by ``..``, by an absolute path or through a symlink, with
`eio.fs.PermissionDenied`; ``env.fs`` reaches the whole file system.
Separators are always ``/``.

Errors are `eio.Io` errors with notes saying what was being done
(``opening <cwd:a.txt>``), as Eio's ``Exn.reraise_with_context`` adds.

Arguments are checked before anything is done: a path (or path step, or
link target) must be a `str` or an `os.PathLike` giving one. A `str`
subclass is copied to a plain `str` first, so that no method it overrides
(``rfind``, ``startswith``, ``__eq__``...) is ever called on the way to the
directory capability; `bytes` paths are not supported; a NUL character is
refused. Anything else, a ``perm`` outside ``0..0o7777``, an unknown
``create`` mode or data that is not text or bytes raises `TypeError` or
`ValueError` naming the method and the argument, and no file is touched.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from ._core._switch import Switch
from ._flow._ops import write as _write
from ._io_errors import AlreadyExists, Io, NotFound, ResourceClosed
from .buf_read import BufRead, Seq
from .file import FileKind, Ro, Rw, Stat
from .fs import CREATE_MODES, ClosableDir, Create, Dir

__all__ = ["DirEntry", "Path", "join", "split"]

T = TypeVar("T")


# -- POSIX path strings (Eio's Posix_path) -------------------------------------------


def join(base: str, step: str) -> str:
    """``base / step``: ``step`` appended with one ``/``, or ``step`` alone if it is absolute."""
    if step.startswith("/"):
        return step
    if base == "." and step:
        return step
    if base == "" or base.endswith("/"):
        return base + step
    return f"{base}/{step}"


def split(path: str) -> tuple[str, str] | None:
    """``(dirname, basename)`` of ``path`` (trailing and repeated ``/`` ignored); None if there is no last part.

    ``split("/foo/bar//baz/") == ("/foo/bar", "baz")``, ``split("bar") == ("", "bar")``,
    ``split("/bar") == ("/", "bar")``, ``split("/") is None``.
    """
    end = len(path)
    while end > 0 and path[end - 1] == "/":
        end -= 1
    if end == 0:
        return None
    start = path.rfind("/", 0, end) + 1
    base = path[start:end]
    if start == 0:
        return "", base
    dir_end = start
    while dir_end > 0 and path[dir_end - 1] == "/":
        dir_end -= 1
    if dir_end == 0:
        return "/", base
    return path[:dir_end], base


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b"}


def _escaped(s: str) -> str:
    """``s`` with backslashes, quotes and unprintable characters escaped (as OCaml's ``String.escaped``)."""
    if s.isprintable() and "\\" not in s and '"' not in s:
        return s
    out: list[str] = []
    for c in s:
        e = _ESCAPES.get(c)
        if e is None:
            e = c if c.isprintable() else repr(c)[1:-1]
        out.append(e)
    return "".join(out)


# -- opening: awaitable with a switch, or an async context manager --------------------


class Opening(Generic[T]):
    """What `Path.open_in`, `Path.open_out` and `Path.open_subtree` return.

    ``await path.open_in(sw)`` opens and attaches the result to ``sw`` (closed
    when ``sw`` finishes); ``async with path.open_in() as f`` closes it at the
    end of the block (Eio's ``with_open_in``), with or without a switch.
    """

    __slots__ = ("_open", "_close", "_sw", "_what", "_value")

    def __init__(
        self,
        open_fn: Callable[[Switch | None], Awaitable[T]],
        close_fn: Callable[[T], Awaitable[None]],
        sw: Switch | None,
        what: str,
    ) -> None:
        self._open = open_fn
        self._close = close_fn
        self._sw = sw
        self._what = what
        self._value: T | None = None

    def __await__(self) -> Generator[Any, Any, T]:
        if self._sw is None:
            raise TypeError(
                f"{self._what} needs a switch to be awaited: use 'await path.{self._what}(sw)', "
                f"or 'async with path.{self._what}() as ...' to close it at the end of a block"
            )
        return self._open(self._sw).__await__()

    async def __aenter__(self) -> T:
        if self._value is not None:
            raise RuntimeError(f"this {self._what}() was already entered")
        value = await self._open(self._sw)
        self._value = value
        return value

    async def __aexit__(self, *exc_info: object) -> None:
        value, self._value = self._value, None
        if value is not None:
            await self._close(value)


async def _close_file(f: Ro) -> None:
    await f.close()


async def _close_subtree(p: Path) -> None:
    d = p.dir
    close = getattr(d, "close", None)
    if close is not None:
        await close()


class Lines:
    """`Path.lines`: an async iterator of the file's lines (bytes, without line endings).

    The file is opened on the first step and closed at the end, on error, by
    `aclose`, or at the end of ``async with path.lines() as lines:``.
    """

    __slots__ = ("_path", "_file", "_seq", "_done")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: Ro | None = None
        self._seq: Seq[bytes] | None = None
        self._done = False

    def __aiter__(self) -> Lines:
        return self

    async def __anext__(self) -> bytes:
        seq = self._seq
        if seq is None:
            if self._done:
                raise StopAsyncIteration
            f = await self._path._open_in(None)  # pyright: ignore[reportPrivateUsage] - one unit with Path
            self._file = f
            self._seq = seq = BufRead.of_flow(f, max_size=sys.maxsize).lines()
        try:
            line = await seq.__anext__()
        except BaseException:
            await self.aclose()
            raise
        return line

    async def aclose(self) -> None:
        """Stop: close the file (idempotent)."""
        self._done = True
        self._seq = None
        f, self._file = self._file, None
        if f is not None:
            await f.close()

    async def __aenter__(self) -> Lines:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# -- paths ---------------------------------------------------------------------------------


def path_str(value: object, who: str, arg: str) -> str:
    """``value`` (a str, str subclass or `os.PathLike` giving one) as an exact `str`; TypeError or ValueError else.

    The result is a plain `str` even for a subclass, so none of the caller's
    methods run on it afterwards (an overridden ``rfind`` or ``startswith``
    could otherwise steer a path out of its sandbox). ``who`` is the function
    the user called and ``arg`` the argument, for the message.
    """
    if type(value) is not str:
        if isinstance(value, str):
            value = str.__str__(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            kind = type(value).__name__  # pyright: ignore[reportUnknownArgumentType] - only the name is used
            raise TypeError(f"{who}: {arg} must be a str (bytes paths are not supported), got {kind}")
        else:
            fspath = getattr(type(value), "__fspath__", None)
            if fspath is None:
                raise TypeError(f"{who}: {arg} must be a str or os.PathLike[str], got {type(value).__name__}")
            got = fspath(value)
            if not isinstance(got, str):
                raise TypeError(
                    f"{who}: {arg}.__fspath__() must return a str (bytes paths are not supported), got {type(got).__name__}"
                )
            value = str.__str__(got)
    if "\0" in value:
        raise ValueError(f"{who}: {arg} must not contain a NUL character, got {value!r}")
    return value


def _check_perm(perm: object, who: str) -> int:
    if type(perm) is not int:
        if not isinstance(perm, int) or isinstance(perm, bool):
            raise TypeError(f"{who}: perm must be an int in 0..0o7777, got {perm!r}")
        perm = int.__index__(perm)
    if not 0 <= perm <= 0o7777:
        raise ValueError(f"{who}: perm must be an int in 0..0o7777, got {perm!r}")
    return perm


def _check_id(value: object, arg: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"eio.Path.chown: {arg} must be an int (-1: unchanged), got {value!r}")
    if not -1 <= value < 2**32 - 1:
        raise ValueError(f"eio.Path.chown: {arg} must be -1 or a valid id (0 <= id < 2**32 - 1), got {value!r}")
    return int(value)


class DirEntry(NamedTuple):
    """One entry of a directory (`Path.read_dir_entries`): its ``name`` and the ``kind`` of the entry itself."""

    name: str
    kind: FileKind


def _check_bool(value: object, who: str, arg: str) -> bool:
    if type(value) is not bool:
        raise TypeError(f"{who}: {arg} must be True or False, got {value!r}")
    return value


def _check_create(create: object, who: str) -> Create:
    # An exact str: a subclass's __eq__ could pass the check and mean something else to the backend.
    name = str.__str__(create) if isinstance(create, str) else None
    for mode in CREATE_MODES:
        if name == mode:
            return mode
    raise ValueError(f"{who}: create must be one of {', '.join(map(repr, CREATE_MODES))}, not {create!r}")


def _bytes_of(data: object, who: str) -> bytes | memoryview:
    if isinstance(data, str):
        return str.encode(str.__str__(data), "utf-8")
    if isinstance(data, bytes):
        return bytes(data) if type(data) is not bytes else data
    try:
        return memoryview(data)  # pyright: ignore[reportArgumentType] - any bytes-like object from untyped callers
    except TypeError:
        raise TypeError(f"{who}: data must be a str or a bytes-like object, got {type(data).__name__}") from None


def _check_sw(sw: object, who: str) -> Switch | None:
    if sw is not None and not isinstance(sw, Switch):
        raise TypeError(f"{who}: sw must be an eio.Switch or None, got {type(sw).__name__}")
    return sw


def _check_dir(dir: object) -> None:  # noqa: A002 - Eio's name
    if isinstance(dir, Path) or not hasattr(dir, "open_in"):
        raise TypeError(
            f"eio.Path: dir must be a directory capability (such as env.cwd.dir), got {type(dir).__name__}; "
            "to name a file beneath a path, use path / 'name'"
        )


def _make(dir: Dir, path: str) -> Path:  # noqa: A002 - Eio's name
    """A `Path` from parts already checked (``path`` a plain str without NUL): no checks again."""
    p = object.__new__(Path)
    p._dir = dir  # pyright: ignore[reportPrivateUsage] - one unit with Path
    p._path = path  # pyright: ignore[reportPrivateUsage] - one unit with Path
    return p


class Path:
    """A directory capability (``dir``) and a path relative to it (``path``); ``/`` joins.

    ``Path(dir)`` is the directory itself (Eio's ``Path.of_dir``). Both
    parts are fixed when the path is made; ``path`` is always a plain `str`.
    """

    __slots__ = ("_dir", "_path")

    def __init__(self, dir: Dir, path: str | os.PathLike[str] = "") -> None:  # noqa: A002 - Eio's name
        """The location ``path`` relative to the directory capability ``dir``.

        ``path`` is a `str` or an `os.PathLike` giving one (not bytes, not None).
        """
        _check_dir(dir)
        self._dir = dir
        self._path = path if type(path) is str and "\0" not in path else path_str(path, "eio.Path", "path")

    @property
    def dir(self) -> Dir:
        """The directory capability."""
        return self._dir

    @property
    def path(self) -> str:
        """The path relative to ``dir`` ("" for the directory itself)."""
        return self._path

    def __truediv__(self, step: str | os.PathLike[str]) -> Path:
        """This path with ``step`` appended (or replaced by ``step``, if it is absolute)."""
        if type(step) is not str or "\0" in step:
            step = path_str(step, "eio.Path /", "step")
        return _make(self._dir, join(self._path, step))

    def __str__(self) -> str:
        label = _escaped(self._dir.label)
        return f"<{label}:{_escaped(self._path)}>" if self._path else f"<{label}>"

    def __repr__(self) -> str:
        return f"eio.Path({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and other.dir is self._dir and other.path == self._path

    def __hash__(self) -> int:
        return hash((id(self._dir), self._path))

    def split(self) -> tuple[Path, str] | None:
        """``(parent, last_component)``; None if there is no last component (``""``, ``"/"``)."""
        parts = split(self._path)
        if parts is None:
            return None
        return _make(self._dir, parts[0]), parts[1]

    def native(self) -> str | None:
        """A path naming this location for non-eio code, if there is one. Not checked for confinement."""
        return self._dir.native(self._path)

    def native_exn(self) -> str:
        """Like `native`, but raise `eio.fs.NotNative` if there is no native path."""
        p = self.native()
        if p is None:
            from ._io_errors import NotNative

            raise NotNative(str(self))
        return p

    def _context(self, ex: Io, what: str) -> None:
        if isinstance(ex, ResourceClosed):
            return  # its message names the closed object already, as Python's closed files' do
        ex.add_note(f"{what} {self}")

    # -- reading -------------------------------------------------------------------------

    async def _open_in(self, sw: Switch | None) -> Ro:
        try:
            return await self._dir.open_in(sw, self._path)
        except Io as ex:
            self._context(ex, "opening")
            raise

    def open_in(self, sw: Switch | None = None) -> Opening[Ro]:
        """Open for reading: ``await path.open_in(sw)`` or ``async with path.open_in() as f``."""
        return Opening(self._open_in, _close_file, _check_sw(sw, "eio.Path.open_in"), "open_in")

    async def load(self) -> bytes:
        """The whole contents of the file."""
        try:
            f = await self._dir.open_in(None, self._path)
        except Io as ex:
            self._context(ex, "opening")
            raise
        try:
            # A file's optional fast path, found at run time: read_all() -> bytes (from the position).
            read_all: Callable[[], Awaitable[bytes]] | None = getattr(f, "read_all", None)
            if read_all is not None:
                return await read_all()
            size = (await f.stat()).size
            r = BufRead.of_flow(f, initial_size=max(4096, size + 1), max_size=sys.maxsize)
            return await r.take_all()
        except Io as ex:
            self._context(ex, "loading")
            raise
        finally:
            await f.close()

    def lines(self) -> Lines:
        """The lines of the file: ``async for line in path.lines(): ...`` (bytes, no newlines)."""
        return Lines(self)

    # -- writing ------------------------------------------------------------------------------

    async def _open_out(self, sw: Switch | None, append: bool, create: Create, perm: int) -> Rw:
        try:
            return await self._dir.open_out(sw, self._path, append, create, perm)
        except Io as ex:
            self._context(ex, "opening")
            raise

    def open_out(
        self,
        sw: Switch | None = None,
        *,
        create: Create = "exclusive",
        append: bool = False,
        perm: int = 0o600,
    ) -> Opening[Rw]:
        """Open for reading and writing: ``await path.open_out(sw, create=...)`` or ``async with``.

        ``create`` says whether the file is created (with ``perm``, less the
        umask): ``"never"``, ``"if_missing"``, ``"or_truncate"`` or
        ``"exclusive"``. With ``append``, every write goes to the end.
        The arguments are checked at once (`ValueError` or `TypeError`).
        """
        who = "eio.Path.open_out"
        sw = _check_sw(sw, who)
        create = _check_create(create, who)
        append = _check_bool(append, who, "append")
        perm = _check_perm(perm, who)

        def open_fn(sw: Switch | None) -> Awaitable[Rw]:
            return self._open_out(sw, append, create, perm)

        return Opening(open_fn, _close_file, sw, "open_out")

    async def save(
        self,
        data: str | bytes | bytearray | memoryview,
        *,
        create: Create = "exclusive",
        perm: int = 0o600,
        append: bool = False,
    ) -> None:
        """Write ``data`` (a str is encoded as UTF-8) to the file, opened as `open_out` says.

        ``data`` must be a str or a bytes-like object; it and the other
        arguments are checked (and a str encoded) before the file is opened,
        so a bad argument creates no file.
        """
        who = "eio.Path.save"
        create = _check_create(create, who)
        append = _check_bool(append, who, "append")
        perm = _check_perm(perm, who)
        body = _bytes_of(data, who)
        f = await self._open_out(None, append, create, perm)
        try:
            await _write(f, [body])
        finally:
            await f.close()

    # -- directories ------------------------------------------------------------------------------

    async def mkdir(self, *, perm: int = 0o700) -> None:
        """Create this directory, with ``perm`` (an int in ``0..0o7777``, less the umask)."""
        perm = _check_perm(perm, "eio.Path.mkdir")
        try:
            await self._dir.mkdir(self._path, perm)
        except Io as ex:
            self._context(ex, "creating directory")
            raise

    async def mkdirs(self, *, exists_ok: bool = True, perm: int = 0o700) -> None:
        """Create this directory and any missing parents (each with ``perm``).

        With ``exists_ok=False``, `eio.fs.AlreadyExists` if the directory exists.
        """
        perm = _check_perm(perm, "eio.Path.mkdirs")
        exists_ok = _check_bool(exists_ok, "eio.Path.mkdirs", "exists_ok")
        parts = self.split()
        if parts is not None:
            parent = parts[0]
            try:
                if not await parent.is_directory():
                    await parent.mkdirs(exists_ok=True, perm=perm)
            except Io as ex:
                self._context(ex, "creating directory")
                raise
        try:
            await self.mkdir(perm=perm)
        except AlreadyExists:
            if exists_ok and await self.is_directory():
                return
            raise

    async def _open_subtree(self, sw: Switch | None) -> Path:
        try:
            sub: ClosableDir = await self._dir.open_dir(sw, self._path)
        except Io as ex:
            self._context(ex, "opening directory")
            raise
        return Path(sub)

    def open_subtree(self, sw: Switch | None = None) -> Opening[Path]:
        """A new capability confined to this directory: ``await p.open_subtree(sw)`` or ``async with``."""
        return Opening(self._open_subtree, _close_subtree, _check_sw(sw, "eio.Path.open_subtree"), "open_subtree")

    def open_dir(self, sw: Switch | None = None) -> Opening[Path]:
        """Another name for `open_subtree` (Eio's deprecated alias)."""
        return Opening(self._open_subtree, _close_subtree, _check_sw(sw, "eio.Path.open_dir"), "open_dir")

    async def read_dir(self) -> list[str]:
        """The names in this directory, sorted, without ``.`` and ``..``."""
        try:
            names = await self._dir.read_dir(self._path)
        except Io as ex:
            self._context(ex, "reading directory")
            raise
        return sorted(names)

    async def read_dir_entries(self) -> list[DirEntry]:
        """The entries of this directory with their kinds, sorted by name, without ``.`` and ``..``.

        Eio's ``read_dir`` with each entry's type: a `DirEntry` ``(name,
        kind)``, the kind of the entry itself (a symlink is
        ``"symbolic_link"``, not followed), taken from the directory listing
        where the OS records it, so usually without a ``stat`` per entry.
        """
        try:
            fast = getattr(self._dir, "read_dir_entries", None)
            if fast is not None:
                pairs: list[tuple[str, FileKind]] = await fast(self._path)
            else:
                # A directory without the fast path: list, then stat each entry.
                pairs = []
                for name in await self._dir.read_dir(self._path):
                    try:
                        st = await self._dir.stat(join(self._path, name), False)
                    except NotFound:
                        continue  # removed meanwhile
                    pairs.append((name, st.kind))
        except Io as ex:
            self._context(ex, "reading directory")
            raise
        return sorted(DirEntry(name, kind) for name, kind in pairs)

    # -- metadata -------------------------------------------------------------------------------

    async def stat(self, *, follow: bool = True) -> Stat:
        """This file's metadata (of a final symlink's target if ``follow``, else of the link)."""
        follow = _check_bool(follow, "eio.Path.stat", "follow")
        try:
            return await self._dir.stat(self._path, follow)
        except Io as ex:
            self._context(ex, "examining")
            raise

    async def kind(self, *, follow: bool = True) -> FileKind | Literal["not_found"]:
        """The kind of this file, or ``"not_found"`` if it doesn't exist."""
        follow = _check_bool(follow, "eio.Path.kind", "follow")
        try:
            return (await self.stat(follow=follow)).kind
        except NotFound:
            return "not_found"

    async def is_file(self) -> bool:
        """Whether this is a regular file (following symlinks); False if it doesn't exist."""
        return await self.kind() == "regular_file"

    async def is_directory(self) -> bool:
        """Whether this is a directory (following symlinks); False if it doesn't exist."""
        return await self.kind() == "directory"

    async def chmod(self, mode: int, *, follow: bool = True) -> None:
        """Set this file's permission bits to ``mode`` (``0..0o7777``, not less the umask).

        ``follow`` as for `stat`: a final symlink's target by default; with
        ``follow=False`` the link itself, which Linux refuses (``EOPNOTSUPP``).
        Sandboxed like every operation: a symlink leading out of the
        capability is refused with `eio.fs.PermissionDenied`. `TypeError` if
        the directory capability can't change permissions.
        """
        mode = _check_perm(mode, "eio.Path.chmod").__index__()
        follow = _check_bool(follow, "eio.Path.chmod", "follow")
        fn = getattr(self._dir, "chmod", None)
        if fn is None:
            raise TypeError(f"eio.Path.chmod: the directory capability {self._dir!r} can't change permissions")
        try:
            await fn(self._path, mode, follow)
        except Io as ex:
            self._context(ex, "changing permissions of")
            raise

    async def chown(self, uid: int, gid: int, *, follow: bool = True) -> None:
        """Set this file's owner ``uid`` and group ``gid`` (-1 leaves one unchanged).

        ``follow`` as for `stat` (``follow=False`` changes a symlink itself).
        Changing the owner usually needs privileges: `eio.fs.PermissionDenied`.
        `TypeError` if the directory capability can't change owners.
        """
        uid = _check_id(uid, "uid")
        gid = _check_id(gid, "gid")
        follow = _check_bool(follow, "eio.Path.chown", "follow")
        fn = getattr(self._dir, "chown", None)
        if fn is None:
            raise TypeError(f"eio.Path.chown: the directory capability {self._dir!r} can't change owners")
        try:
            await fn(self._path, uid, gid, follow)
        except Io as ex:
            self._context(ex, "changing owner of")
            raise

    async def read_link(self) -> str:
        """The target of this symbolic link."""
        try:
            return await self._dir.read_link(self._path)
        except Io as ex:
            self._context(ex, "reading target of symlink")
            raise

    # -- changes ------------------------------------------------------------------------------------

    async def unlink(self, *, missing_ok: bool = False) -> None:
        """Remove this directory entry (not a directory; a symlink itself, not its target)."""
        missing_ok = _check_bool(missing_ok, "eio.Path.unlink", "missing_ok")
        try:
            await self._dir.unlink(self._path)
        except Io as ex:
            if missing_ok and isinstance(ex, NotFound):
                return
            self._context(ex, "removing file")
            raise

    async def rmdir(self) -> None:
        """Remove this (empty) directory."""
        try:
            await self._dir.rmdir(self._path)
        except Io as ex:
            self._context(ex, "removing directory")
            raise

    async def rmtree(self, *, missing_ok: bool = False) -> None:
        """Remove this file, or this directory and everything in it.

        With ``missing_ok``, entries that vanish meanwhile (or a missing
        ``self``) are not an error.
        """
        missing_ok = _check_bool(missing_ok, "eio.Path.rmtree", "missing_ok")
        kind = await self.kind(follow=False)
        if kind == "directory":
            async with Switch.run(name="rmtree") as sw:
                try:
                    sub = await self.open_subtree(sw)
                    items = await sub.read_dir()
                except NotFound:
                    if not missing_ok:
                        raise
                else:
                    for item in items:
                        await (sub / item).rmtree(missing_ok=missing_ok)
            await self._missing_ok(self.rmdir, missing_ok)
        elif kind == "not_found" and missing_ok:
            return
        else:
            await self._missing_ok(self.unlink, missing_ok)

    @staticmethod
    async def _missing_ok(fn: Callable[[], Awaitable[None]], missing_ok: bool) -> None:
        try:
            await fn()
        except NotFound:
            if not missing_ok:
                raise

    async def rename(self, dst: Path) -> None:
        """Atomically move this entry to ``dst``, an `eio.Path` (replacing what is there).

        A str ``dst`` is refused with `TypeError`: say which directory it is
        relative to, e.g. ``path.rename(env.cwd / "new")``.
        """
        if not isinstance(dst, Path):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
            raise TypeError(f"eio.Path.rename: dst must be an eio.Path (such as env.cwd / 'new'), got {type(dst).__name__}")
        if type(dst) is not Path:
            # A subclass may override ``dir`` and ``path``: take them once, through the checks.
            dst = Path(dst.dir, dst.path)
        try:
            await self._dir.rename(self._path, dst.dir, dst.path)
        except Io as ex:
            ex.add_note(f"renaming {self} to {dst}")
            raise

    async def symlink(self, *, link_to: str | os.PathLike[str]) -> None:
        """Create this path as a symbolic link pointing at ``link_to`` (a str or os.PathLike; it is not checked).

        The link's target is not resolved now; following the link later is
        subject to the sandbox of whoever follows it.
        """
        link_to = path_str(link_to, "eio.Path.symlink", "link_to")
        try:
            await self._dir.symlink(self._path, link_to)
        except Io as ex:
            ex.add_note(f"creating symlink {self} -> {link_to}")
            raise
