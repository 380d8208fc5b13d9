"""File-system errors (Eio's ``Fs``). Operations on files are in `eio.Path`.

Every file-system error is an `eio.fs.FsError` (an `eio.Io`), and also the
matching built-in: `NotFound` is a `FileNotFoundError`, `AlreadyExists` a
`FileExistsError`, `PermissionDenied` a `PermissionError`.
"""

from __future__ import annotations

from ._io_errors import AlreadyExists, FileTooLarge, FsError, NotFound, NotNative, PermissionDenied

__all__ = ["AlreadyExists", "FileTooLarge", "FsError", "NotFound", "NotNative", "PermissionDenied"]
