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
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, Literal, TypeVar

from ._core._switch import Switch
from ._flow._ops import write as _write
from ._io_errors import AlreadyExists, Io, NotFound, ResourceClosed
from .buf_read import BufRead, Seq
from .file import FileKind, Ro, Rw, Stat
from .fs import CREATE_MODES, ClosableDir, Create, Dir

__all__ = ["Path", "join", "split"]

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


def _check_create(create: str) -> None:
    if create not in CREATE_MODES:
        raise ValueError(f"create must be one of {', '.join(map(repr, CREATE_MODES))}, not {create!r}")


class Path:
    """A directory capability (``dir``) and a path relative to it (``path``); ``/`` joins.

    ``Path(dir)`` is the directory itself (Eio's ``Path.of_dir``).
    """

    __slots__ = ("dir", "path")

    dir: Dir
    path: str

    def __init__(self, dir: Dir, path: str = "") -> None:  # noqa: A002 - Eio's name
        """The location ``path`` relative to the directory capability ``dir``."""
        self.dir = dir
        self.path = path

    def __truediv__(self, step: str | os.PathLike[str]) -> Path:
        """This path with ``step`` appended (or replaced by ``step``, if it is absolute)."""
        if type(step) is not str:
            step = os.fspath(step)
            if not isinstance(step, str):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
                raise TypeError(f"a path step must be a str or os.PathLike[str], not {type(step).__name__}")
        return Path(self.dir, join(self.path, step))

    def __str__(self) -> str:
        label = _escaped(self.dir.label)
        return f"<{label}:{_escaped(self.path)}>" if self.path else f"<{label}>"

    def __repr__(self) -> str:
        return f"eio.Path({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and other.dir is self.dir and other.path == self.path

    def __hash__(self) -> int:
        return hash((id(self.dir), self.path))

    def split(self) -> tuple[Path, str] | None:
        """``(parent, last_component)``; None if there is no last component (``""``, ``"/"``)."""
        parts = split(self.path)
        if parts is None:
            return None
        return Path(self.dir, parts[0]), parts[1]

    def native(self) -> str | None:
        """A path naming this location for non-eio code, if there is one. Not checked for confinement."""
        return self.dir.native(self.path)

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
            return await self.dir.open_in(sw, self.path)
        except Io as ex:
            self._context(ex, "opening")
            raise

    def open_in(self, sw: Switch | None = None) -> Opening[Ro]:
        """Open for reading: ``await path.open_in(sw)`` or ``async with path.open_in() as f``."""
        return Opening(self._open_in, _close_file, sw, "open_in")

    async def load(self) -> bytes:
        """The whole contents of the file."""
        try:
            f = await self.dir.open_in(None, self.path)
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
            return await self.dir.open_out(sw, self.path, append, create, perm)
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
        """
        _check_create(create)

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
        """Write ``data`` (a str is encoded as UTF-8) to the file, opened as `open_out` says."""
        _check_create(create)
        if isinstance(data, str):
            data = data.encode()
        f = await self._open_out(None, append, create, perm)
        try:
            await _write(f, [data])
        finally:
            await f.close()

    # -- directories ------------------------------------------------------------------------------

    async def mkdir(self, *, perm: int = 0o700) -> None:
        """Create this directory, with ``perm`` (less the umask)."""
        try:
            await self.dir.mkdir(self.path, perm)
        except Io as ex:
            self._context(ex, "creating directory")
            raise

    async def mkdirs(self, *, exists_ok: bool = True, perm: int = 0o700) -> None:
        """Create this directory and any missing parents (each with ``perm``).

        With ``exists_ok=False``, `eio.fs.AlreadyExists` if the directory exists.
        """
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
            sub: ClosableDir = await self.dir.open_dir(sw, self.path)
        except Io as ex:
            self._context(ex, "opening directory")
            raise
        return Path(sub)

    def open_subtree(self, sw: Switch | None = None) -> Opening[Path]:
        """A new capability confined to this directory: ``await p.open_subtree(sw)`` or ``async with``."""
        return Opening(self._open_subtree, _close_subtree, sw, "open_subtree")

    def open_dir(self, sw: Switch | None = None) -> Opening[Path]:
        """Another name for `open_subtree` (Eio's deprecated alias)."""
        return Opening(self._open_subtree, _close_subtree, sw, "open_dir")

    async def read_dir(self) -> list[str]:
        """The names in this directory, sorted, without ``.`` and ``..``."""
        try:
            names = await self.dir.read_dir(self.path)
        except Io as ex:
            self._context(ex, "reading directory")
            raise
        return sorted(names)

    # -- metadata -------------------------------------------------------------------------------

    async def stat(self, *, follow: bool = True) -> Stat:
        """This file's metadata (of a final symlink's target if ``follow``, else of the link)."""
        try:
            return await self.dir.stat(self.path, follow)
        except Io as ex:
            self._context(ex, "examining")
            raise

    async def kind(self, *, follow: bool = True) -> FileKind | Literal["not_found"]:
        """The kind of this file, or ``"not_found"`` if it doesn't exist."""
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

    async def read_link(self) -> str:
        """The target of this symbolic link."""
        try:
            return await self.dir.read_link(self.path)
        except Io as ex:
            self._context(ex, "reading target of symlink")
            raise

    # -- changes ------------------------------------------------------------------------------------

    async def unlink(self, *, missing_ok: bool = False) -> None:
        """Remove this directory entry (not a directory; a symlink itself, not its target)."""
        try:
            await self.dir.unlink(self.path)
        except Io as ex:
            if missing_ok and isinstance(ex, NotFound):
                return
            self._context(ex, "removing file")
            raise

    async def rmdir(self) -> None:
        """Remove this (empty) directory."""
        try:
            await self.dir.rmdir(self.path)
        except Io as ex:
            self._context(ex, "removing directory")
            raise

    async def rmtree(self, *, missing_ok: bool = False) -> None:
        """Remove this file, or this directory and everything in it.

        With ``missing_ok``, entries that vanish meanwhile (or a missing
        ``self``) are not an error.
        """
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
        """Atomically move this entry to ``dst`` (replacing what is there)."""
        try:
            await self.dir.rename(self.path, dst.dir, dst.path)
        except Io as ex:
            ex.add_note(f"renaming {self} to {dst}")
            raise

    async def symlink(self, *, link_to: str) -> None:
        """Create this path as a symbolic link pointing at ``link_to``."""
        try:
            await self.dir.symlink(self.path, link_to)
        except Io as ex:
            ex.add_note(f"creating symlink {self} -> {link_to}")
            raise
