"""File-system errors and the directory provider interface (Eio's ``Fs``).

Operations on files are methods of `eio.Path`; open files are in `eio.file`.

Every file-system error is an `eio.fs.FsError` (an `eio.Io`), and also the
matching built-in: `NotFound` is a `FileNotFoundError`, `AlreadyExists` a
`FileExistsError`, `PermissionDenied` a `PermissionError`.

`Dir` is what a backend implements for a directory capability (``env.cwd``,
``env.fs``); `Create` says when opening for writing creates the file.
"""

from __future__ import annotations

from collections.abc import Sequence as _Sequence
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Literal as _Literal
from typing import Protocol as _Protocol

from ._flow._types import Closable as _Closable
from ._io_errors import AlreadyExists, FileTooLarge, FsError, NotFound, NotNative, PermissionDenied

__all__ = ["AlreadyExists", "FileTooLarge", "FsError", "NotFound", "NotNative", "PermissionDenied"]

if _TYPE_CHECKING:
    from ._core._switch import Switch
    from .file import Ro, Rw, Stat

# -- the directory provider interface (Eio's ``Fs.Pi.DIR``) -------------------------
# A backend's directory capability implements `Dir`; users call the methods of
# `eio.Path`, which add keywords, defaults and error context.

Create = _Literal["never", "if_missing", "or_truncate", "exclusive"]
"""When opening for writing creates the file (Eio's ``Fs.create``).

``"never"``: the file must exist; ``"if_missing"``: create it if it doesn't;
``"or_truncate"``: create it, or empty an existing one; ``"exclusive"``:
always create it, failing with `AlreadyExists` if it exists. A new file
gets the permissions given alongside (less the process's umask).
"""

CREATE_MODES: tuple[Create, ...] = ("never", "if_missing", "or_truncate", "exclusive")
"""Every `Create` value, for checking arguments."""


class Dir(_Protocol):
    """A directory capability: access to the files beneath one directory (Eio's ``Fs.Pi.DIR``).

    Every ``path`` is relative to the directory; an empty path is the
    directory itself. A sandboxed directory refuses any path that leads
    outside it (by ``..``, by being absolute, or through a symlink) with
    `PermissionDenied`. Errors are `eio.Io` errors; `eio.Path` adds the
    context. A ``sw`` of ``None`` means the caller closes what it gets.

    Optional fast path, found at run time: ``async load(path, /) -> bytes``
    (the whole file), used by `eio.Path.load` when present.

    Optional operations, found at run time (every backend's directories have
    them): ``async chmod(path, mode, follow, /)``, ``async chown(path, uid,
    gid, follow, /)`` (`eio.Path.chmod` / `chown` raise `TypeError` without
    them) and ``async read_dir_entries(path, /) -> list[tuple[str, FileKind]]``
    (`eio.Path.read_dir_entries` falls back to `read_dir` and a `stat` per entry).
    """

    @property
    def label(self) -> str:
        """The name shown in paths: ``cwd`` in ``<cwd:a.txt>``."""
        ...

    async def open_in(self, sw: Switch | None, path: str, /) -> Ro:
        """Open ``path`` for reading; closed when ``sw`` finishes."""
        ...

    async def open_out(self, sw: Switch | None, path: str, append: bool, create: Create, perm: int, /) -> Rw:
        """Open ``path`` for reading and writing (always at the end if ``append``)."""
        ...

    async def mkdir(self, path: str, perm: int, /) -> None:
        """Create the directory ``path``."""
        ...

    async def open_dir(self, sw: Switch | None, path: str, /) -> ClosableDir:
        """A new capability for the directory ``path``, sandboxed to it; closed when ``sw`` finishes."""
        ...

    async def read_dir(self, path: str, /) -> _Sequence[str]:
        """The names in directory ``path``, without ``.`` and ``..``, in any order."""
        ...

    async def stat(self, path: str, follow: bool, /) -> Stat:
        """The metadata of ``path`` (of a final symlink's target if ``follow``)."""
        ...

    async def unlink(self, path: str, /) -> None:
        """Remove the (non-directory) entry ``path``."""
        ...

    async def rmdir(self, path: str, /) -> None:
        """Remove the empty directory ``path``."""
        ...

    async def rename(self, old_path: str, new_dir: Dir, new_path: str, /) -> None:
        """Atomically move ``old_path`` to ``new_path`` in ``new_dir`` (replacing what is there)."""
        ...

    async def symlink(self, path: str, link_to: str, /) -> None:
        """Create the symbolic link ``path`` pointing at ``link_to``."""
        ...

    async def read_link(self, path: str, /) -> str:
        """The target of the symbolic link ``path``."""
        ...

    def native(self, path: str, /) -> str | None:
        """A path for the OS's own file APIs naming ``path``, if there is one (no confinement check)."""
        ...


class ClosableDir(Dir, _Closable, _Protocol):
    """A directory capability that can be closed (what `Dir.open_dir` returns)."""


__all__ += ["CREATE_MODES", "ClosableDir", "Create", "Dir"]
