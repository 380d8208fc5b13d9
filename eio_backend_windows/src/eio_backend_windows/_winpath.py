"""Windows path rules for a sandbox, as pure functions (tested on every OS).

A sandboxed directory on Windows can't walk by descriptors (Windows has no
``dir_fd``): it checks a relative path string component by component before
handing the OS a path. Win32 reads a path string in ways a POSIX-minded
check would miss, so each of these is refused with
`eio.fs.PermissionDenied` (``EXDEV``), with a message naming the rule:

- a drive letter, relative (``C:x``, the current directory of drive C) or
  absolute (``C:\\x``);
- a rooted path, with ``\\`` or ``/`` (both are separators);
- a UNC path (``\\\\server\\share``) and the device and verbatim prefixes
  (``\\\\.\\``, ``\\\\?\\``, ``\\??\\``), in any case and either separator;
- an alternate data stream (``name:stream``, ``name::$DATA``): any ``:``;
- a reserved device name (``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM0``-``COM9``,
  ``LPT0``-``LPT9`` and their superscript-digit forms, ``CONIN$``,
  ``CONOUT$``), in any case, with or without an extension (``nul.txt``) and
  trailing spaces or dots (``CON .txt``): Windows opens the device instead;
- a name Windows shortens to ``.`` or ``..`` or to nothing by dropping
  trailing dots and spaces (``.. ``, ``...``, ``. .``): only the exact
  ``.`` and ``..`` mean what they say, and ``..`` above the directory is
  refused by the walk itself;
- characters Windows reserves in names (``< > " | ? *`` and control characters).

Any other name ending in dots or spaces (``a.``) names what Windows opens,
the name without them, and the checks apply to that name.
"""

from __future__ import annotations

import errno
import re
import stat as _stat
from typing import Final

from eio.fs import PermissionDenied

__all__ = ["RESERVED_NAMES", "check_component", "is_absolute", "is_name_surrogate", "refuse", "split_relative"]

RESERVED_NAMES: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in ("0123456789" + "\u00b9\u00b2\u00b3")}
)
"""The device names Windows recognises in any directory (upper case)."""

_DRIVE: Final = re.compile(r"^[A-Za-z]:")
_PREFIX: Final = re.compile(r"^[\\/][\\/][?.][\\/]|^[\\/]\?\?[\\/]")  # \\?\ \\.\ \??\ (either separator)
_RESERVED_CHARS: Final = frozenset('<>"|?*') | frozenset(chr(c) for c in range(32))
_IO_REPARSE_TAG_NAME_SURROGATE: Final = 0x20000000  # the tag bit of links: symlinks, junctions (mount points)


def refuse(path: str, rule: str) -> PermissionDenied:
    """The error for ``path``, refused by ``rule`` (a phrase saying what was found)."""
    return PermissionDenied(errno.EXDEV, f"Path leads outside the sandboxed directory ({rule})", path)


def is_absolute(path: str) -> bool:
    """Whether Win32 would read ``path`` from somewhere else than the directory it is relative to.

    True for a drive letter (``C:x`` too), a rooted path (``\\x``, ``/x``), a
    UNC path and the device and verbatim prefixes.
    """
    return bool(_DRIVE.match(path)) or path.startswith(("\\", "/"))


def _absolute_rule(path: str) -> str | None:
    if _PREFIX.match(path):
        return f"a device or verbatim prefix ({path[:4]})"
    if path[:2] in ("\\\\", "//", "\\/", "/\\"):
        return "a UNC path (\\\\server\\share)"
    if path.startswith(("\\", "/")):
        return "an absolute path"
    if _DRIVE.match(path):
        return f"a drive letter ({path[:2]})"
    return None


def split_relative(path: str, whole: str | None = None) -> list[str]:
    """The components of the relative ``path`` (split at ``\\`` and ``/``, empty ones dropped), unchecked.

    Refuses a path that isn't relative to the directory (see `is_absolute`);
    ``whole`` is the path to name in the error (default ``path``).
    """
    rule = _absolute_rule(path)
    if rule is not None:
        raise refuse(path if whole is None else whole, rule)
    return [c for c in re.split(r"[\\/]", path) if c]


def _device(name: str) -> str | None:
    """The reserved device ``name`` would open (upper case), or None."""
    base = name.split(".", 1)[0].rstrip(" ").upper()
    return base if base in RESERVED_NAMES else None


def check_component(name: str, path: str) -> str:
    """The name Windows will use for the path component ``name`` of ``path``, or `PermissionDenied`.

    Returns ``.`` and ``..`` as they are, and any other name without its
    trailing dots and spaces (as Windows drops them).
    """
    if name in (".", ".."):
        return name
    if ":" in name:
        return _raise(path, f"an alternate data stream or drive ({name!r})")
    bad = next((c for c in name if c in _RESERVED_CHARS), None)
    if bad is not None:
        return _raise(path, f"a character Windows reserves in names ({bad!r} in {name!r})")
    device = _device(name)
    if device is not None:
        return _raise(path, f"a reserved device name ({device} in {name!r})")
    stripped = name.rstrip(". ")
    if stripped in ("", ".", ".."):
        # Every name of only dots and spaces ends here: "...", ".. ", ". ", "  ".
        return _raise(path, f"trailing dots or spaces ({name!r}: Windows reads a name of dots and spaces as '.' or '..')")
    return stripped


def _raise(path: str, rule: str) -> str:
    raise refuse(path, rule)


def is_name_surrogate(mode: int, attributes: int, reparse_tag: int) -> bool:
    """Whether an entry (its ``st_mode``, ``st_file_attributes``, ``st_reparse_tag``) redirects to another name.

    A symlink anywhere, and on Windows a reparse point whose tag is a name
    surrogate (symlinks, junctions): the sandbox reads such an entry's
    target and checks it. Other reparse points (cloud files,
    deduplicated files) are the file itself.
    """
    if _stat.S_ISLNK(mode):
        return True
    if attributes & _stat.FILE_ATTRIBUTE_REPARSE_POINT:
        return bool(reparse_tag & _IO_REPARSE_TAG_NAME_SURROGATE)
    return False
