"""The IO error hierarchy (Eio's ``Eio.Io`` with its nested error codes).

Eio raises one exception, ``Io (err, context)``, whose ``err`` is a nested
code (``Net (Connection_reset _)``, ``Fs (Not_found _)``...). In Python the
nesting is the class hierarchy, so a whole class of errors is caught with one
``except``: `Io` > `NetError` > `ConnectionReset`, and so on. Each class also
inherits the matching built-in exception, so code written for plain Python
(``except FileNotFoundError``, ``except ConnectionError``) keeps working.

`Io` is an `OSError`: like Eio's ``Io`` (the counterpart of OCaml's
``Unix_error``) it stands for a failure of the outside world, and Python's
convention is that such failures are ``OSError`` (``IOError`` is its alias).
That also gives every IO error ``errno``, ``strerror`` and ``filename``.

Eio's ``context`` (what the program was doing) is Python's exception notes:
``e.add_note("opening file 'foo'")``. The backend's own error (Eio's
``Exn.Backend.t``) is ``__cause__``. `from_oserror` turns an `OSError` from
the operating system into the right class, keeping both.

The classes are defined here, in one place, so that `from_oserror` can reach
them all; `eio.net`, `eio.fs` and `eio.process` re-export them (their
``__module__`` names the public module, which is where tracebacks say they
come from).
"""

from __future__ import annotations

import errno as _errno
import signal as _signal
import socket as _socket
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

__all__ = [
    "AddressInUse",
    "AddressLookupFailed",
    "AlreadyExists",
    "ChildError",
    "ConnectionFailure",
    "ConnectionRefused",
    "ConnectionReset",
    "ConnectionTimeout",
    "ExecutableNotFound",
    "ExitStatus",
    "Exited",
    "FileTooLarge",
    "FsError",
    "Io",
    "NetError",
    "ResourceClosed",
    "NotFound",
    "NotNative",
    "PermissionDenied",
    "ProcessError",
    "Signaled",
    "add_context",
    "from_oserror",
]

E = TypeVar("E", bound=BaseException)


class Io(OSError):
    """The base of every IO error (Eio's ``Eio.Io``).

    Constructed like `OSError`: ``Io(errno, strerror, filename)`` or
    ``Io(message)``. What the program was doing is in the exception's notes;
    the backend's own error, if any, is ``__cause__``.
    """


class ResourceClosed(Io, ValueError):
    """An operation used a socket, file, directory or pipe that was closed (or was closed while it waited).

    Also a `ValueError`, as Python's own ``I/O operation on closed file``, so
    ``except ValueError`` written for plain Python files keeps working.
    """


# -- network -------------------------------------------------------------------


class NetError(Io):
    """A network error (Eio's ``Net.E``)."""


class ConnectionReset(NetError, ConnectionResetError):
    """The peer reset the connection, or it was closed under us (ECONNRESET, EPIPE, ECONNABORTED)."""


ConnectionFailureReason = Literal["refused", "timeout"]

_FAILURE_MESSAGES: dict[str, str] = {"refused": "Connection refused", "timeout": "Connection timed out"}


class ConnectionFailure(NetError, ConnectionError):
    """A connection could not be made (Eio's ``Connection_failure``); ``reason`` says why.

    ``ConnectionFailure(reason, *oserror_args)`` creates the subclass that
    matches ``reason``: `ConnectionRefused` (also a `ConnectionRefusedError`)
    for ``"refused"``, `ConnectionTimeout` (also a `TimeoutError`) for
    ``"timeout"``. Without further arguments the message is a plain
    description of the reason.
    """

    reason: ConnectionFailureReason

    def __new__(cls, reason: ConnectionFailureReason, *args: Any) -> ConnectionFailure:  # noqa: ANN401 - as OSError's
        target: type[ConnectionFailure] = cls
        if cls is ConnectionFailure:
            if reason == "refused":
                target = ConnectionRefused
            elif reason == "timeout":
                target = ConnectionTimeout
            else:
                raise ValueError(f"ConnectionFailure reason must be 'refused' or 'timeout', not {reason!r}")
        else:
            expected = _FAILURE_REASONS.get(cls)
            if expected is not None and reason != expected:
                raise ValueError(f"{cls.__name__} has reason {expected!r}, not {reason!r}")
        # OSError.__new__ is the only __new__ in the MRO, and (as this class
        # overrides __new__) it is the one that takes the OSError arguments.
        return OSError.__new__(target, *(args or (_FAILURE_MESSAGES[reason],)))

    def __init__(self, reason: ConnectionFailureReason, *args: Any) -> None:  # noqa: ANN401 - as OSError's
        super().__init__()
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (ConnectionFailure, (self.reason, *self.args), self.__dict__)


class ConnectionRefused(ConnectionFailure, ConnectionRefusedError):
    """`ConnectionFailure` with reason ``"refused"``: nothing accepted the connection (ECONNREFUSED)."""


class ConnectionTimeout(ConnectionFailure, TimeoutError):
    """`ConnectionFailure` with reason ``"timeout"``: connecting took too long (ETIMEDOUT, or a deadline)."""


_FAILURE_REASONS: dict[type[ConnectionFailure], ConnectionFailureReason] = {
    ConnectionRefused: "refused",
    ConnectionTimeout: "timeout",
}


class AddressLookupFailed(NetError, _socket.gaierror):
    """A host or service name could not be resolved (Eio's ``Address_lookup_failed``).

    Also a `socket.gaierror`: ``errno`` is the ``EAI_*`` code.
    """


class AddressInUse(NetError):
    """The local address is already taken: another socket listens on (or is bound to) it (EADDRINUSE).

    Raised by `eio.net.listen` and `eio.net.datagram_socket`; pass
    ``reuse_addr=True`` to take over a port whose old connections are still
    closing (TIME_WAIT), or pick another port.
    """


# -- file system -----------------------------------------------------------------


class FsError(Io):
    """A file-system error (Eio's ``Fs.E``)."""


class NotFound(FsError, FileNotFoundError):
    """No such file or directory (ENOENT)."""


class AlreadyExists(FsError, FileExistsError):
    """The file already exists (EEXIST)."""


class PermissionDenied(FsError, PermissionError):
    """Not allowed: by the OS (EACCES, EPERM) or by the capability (a path outside the directory)."""


class FileTooLarge(FsError):
    """The file would be larger than allowed (EFBIG)."""


class NotNative(FsError):
    """A path has no native (OS) form, e.g. it is not reachable from the OS's own file system.

    ``NotNative(message)``.
    """


# -- processes -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exited:
    """A child process exited by itself with ``code``."""

    code: int

    def __str__(self) -> str:
        return f"Exited (code {self.code})"


@dataclass(frozen=True, slots=True)
class Signaled:
    """A child process was killed by signal number ``signal``."""

    signal: int

    def __str__(self) -> str:
        try:
            name = _signal.Signals(self.signal).name
        except ValueError:
            name = str(self.signal)
        return f"Signaled ({name})"


ExitStatus = Exited | Signaled
"""How a child process ended."""


class ProcessError(Io):
    """An error running a child process (Eio's ``Process.E``)."""


class ExecutableNotFound(ProcessError, FileNotFoundError):
    """The program to run was not found. ``ExecutableNotFound(program)``; ``filename`` is ``program``."""

    def __init__(self, program: str) -> None:
        super().__init__(_errno.ENOENT, "Executable not found", program)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ExecutableNotFound, (self.filename,), self.__dict__)


class ChildError(ProcessError):
    """A child process did not exit with code 0; ``status`` is how it ended. ``ChildError(status)``."""

    status: ExitStatus

    def __init__(self, status: ExitStatus) -> None:
        super().__init__(str(status))
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        return (ChildError, (self.status,), self.__dict__)


# Tracebacks and reprs name the public module a class is used from.
for _cls in (Io, ResourceClosed):
    _cls.__module__ = "eio"
for _cls in (
    NetError,
    ConnectionReset,
    ConnectionFailure,
    ConnectionRefused,
    ConnectionTimeout,
    AddressLookupFailed,
    AddressInUse,
):
    _cls.__module__ = "eio.net"
for _cls in (FsError, NotFound, AlreadyExists, PermissionDenied, FileTooLarge, NotNative):
    _cls.__module__ = "eio.fs"
for _cls in (Exited, Signaled, ProcessError, ExecutableNotFound, ChildError):
    _cls.__module__ = "eio.process"
del _cls


# -- conversion --------------------------------------------------------------------

_BY_ERRNO: dict[int, type[Io]] = {
    _errno.ECONNRESET: ConnectionReset,
    _errno.EPIPE: ConnectionReset,
    _errno.ECONNABORTED: ConnectionReset,
    _errno.ECONNREFUSED: ConnectionRefused,
    _errno.ETIMEDOUT: ConnectionTimeout,
    _errno.EADDRINUSE: AddressInUse,
    _errno.ENOENT: NotFound,
    _errno.EEXIST: AlreadyExists,
    _errno.EACCES: PermissionDenied,
    _errno.EPERM: PermissionDenied,
    # Escaping a directory capability (openat2 RESOLVE_BENEATH) gives EXDEV.
    _errno.EXDEV: PermissionDenied,
    _errno.EFBIG: FileTooLarge,
}
if hasattr(_errno, "ENOTCAPABLE"):  # FreeBSD's and macOS's capability-mode refusal
    _BY_ERRNO[getattr(_errno, "ENOTCAPABLE")] = PermissionDenied

# For errors raised by Python itself without an errno (e.g. a socket timeout).
_BY_TYPE: tuple[tuple[type[OSError], type[Io]], ...] = (
    (_socket.gaierror, AddressLookupFailed),
    (ConnectionRefusedError, ConnectionRefused),
    (ConnectionResetError, ConnectionReset),
    (BrokenPipeError, ConnectionReset),
    (ConnectionAbortedError, ConnectionReset),
    (TimeoutError, ConnectionTimeout),
    (FileNotFoundError, NotFound),
    (FileExistsError, AlreadyExists),
    (PermissionError, PermissionDenied),
)


def _classify(exc: OSError) -> type[Io]:
    if isinstance(exc, _socket.gaierror):
        return AddressLookupFailed  # its errno is an EAI_* code, not an errno
    code = exc.errno
    if code is not None:
        cls = _BY_ERRNO.get(code)
        if cls is not None:
            return cls
    for builtin, cls in _BY_TYPE:
        if isinstance(exc, builtin):
            return cls
    return Io


def from_oserror(exc: OSError, context: str | None = None) -> Io:
    """The eio error for ``exc``, an `OSError` from the OS or a library (Eio's ``Err.v``).

    The class is chosen by ``errno`` (ECONNRESET/EPIPE/ECONNABORTED →
    `ConnectionReset`, ECONNREFUSED → `ConnectionFailure` ``"refused"``,
    ETIMEDOUT → ``"timeout"``, EADDRINUSE → `AddressInUse`, ENOENT → `NotFound`, EEXIST → `AlreadyExists`,
    EACCES/EPERM/EXDEV → `PermissionDenied`, EFBIG → `FileTooLarge`, a
    `socket.gaierror` → `AddressLookupFailed`, anything else → `Io`), or by
    the built-in class when there is no errno. The result has the same
    ``errno``, ``strerror`` and ``filename``, its ``__cause__`` is ``exc``, and
    ``context`` (if given) is added as a note. An ``exc`` that already is an
    eio error is returned as it is (with the note added).

    Use it as ``raise from_oserror(e, "connecting to tcp:127.0.0.1:80") from e``.
    """
    if isinstance(exc, Io):
        if context is not None:
            exc.add_note(context)
        return exc
    cls = _classify(exc)
    args = exc.args
    if issubclass(cls, ConnectionFailure):
        new: Io = cls(_FAILURE_REASONS[cls], *args)
    else:
        new = cls(*args)
    # OSError keeps the file names out of ``args``. (Setting one to None would still show it.)
    if exc.filename is not None:
        new.filename = exc.filename
    if exc.filename2 is not None:
        new.filename2 = exc.filename2
    new.__cause__ = exc
    new.__suppress_context__ = True
    if context is not None:
        new.add_note(context)
    return new


def add_context(exc: E, context: str) -> E:
    """Add ``context`` (what was being done) to an IO error as a note; return ``exc``.

    As Eio's ``Exn.add_context``, only IO errors (`Io`) get the note: other
    exceptions are returned unchanged.
    """
    if isinstance(exc, Io):
        exc.add_note(context)
    return exc
