"""The IO error hierarchy: `eio.Io` and the errors of `eio.net`, `eio.fs` and `eio.process`.

Covers the error hierarchy, the IO-error parts of Eio's tests/exn.md (context,
combining IO errors) and the README's "Error Handling" section: matching a
whole class of errors with one ``except``, and context added step by step.
"""

from __future__ import annotations

import errno
import os
import pickle
import signal
import socket
import traceback
from typing import cast

import eio
import pytest
from conftest import Runner
from eio._io_errors import add_context, from_oserror
from eio.fs import AlreadyExists, FileTooLarge, FsError, NotFound, NotNative, PermissionDenied
from eio.net import (
    AddressLookupFailed,
    ConnectionFailure,
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimeout,
    NetError,
)
from eio.process import ChildError, ExecutableNotFound, Exited, ProcessError, Signaled

# -- the hierarchy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (eio.Io, [OSError]),
        (NetError, [eio.Io]),
        (ConnectionReset, [NetError, ConnectionResetError, ConnectionError]),
        (ConnectionFailure, [NetError, ConnectionError]),
        (ConnectionRefused, [ConnectionFailure, ConnectionRefusedError]),
        (ConnectionTimeout, [ConnectionFailure, TimeoutError]),
        (AddressLookupFailed, [NetError, socket.gaierror]),
        (FsError, [eio.Io]),
        (NotFound, [FsError, FileNotFoundError]),
        (AlreadyExists, [FsError, FileExistsError]),
        (PermissionDenied, [FsError, PermissionError]),
        (FileTooLarge, [FsError]),
        (NotNative, [FsError]),
        (ProcessError, [eio.Io]),
        (ExecutableNotFound, [ProcessError, FileNotFoundError]),
        (ChildError, [ProcessError]),
    ],
)
def test_hierarchy(cls: type[eio.Io], bases: list[type[BaseException]]) -> None:
    for base in bases:
        assert issubclass(cls, base)
    assert issubclass(cls, eio.Io) and issubclass(cls, Exception)


def test_classes_do_not_cross_categories() -> None:
    assert not issubclass(ConnectionReset, FsError)
    assert not issubclass(NotFound, NetError)
    assert not issubclass(ExecutableNotFound, FsError)
    assert not issubclass(ConnectionTimeout, ConnectionRefusedError)
    assert not issubclass(ConnectionRefused, TimeoutError)
    assert not issubclass(ChildError, FileNotFoundError)


def test_public_modules_and_names() -> None:
    assert [c.__module__ + "." + c.__qualname__ for c in (eio.Io, NetError, NotFound, ChildError, Exited)] == [
        "eio.Io",
        "eio.net.NetError",
        "eio.fs.NotFound",
        "eio.process.ChildError",
        "eio.process.Exited",
    ]


def test_one_except_matches_a_class_of_errors() -> None:
    # The README's "Error Handling": nested error codes are matched at any level.
    def classify(e: BaseException) -> str:
        try:
            raise e
        except ConnectionReset as ex:
            if isinstance(ex.__cause__, OSError):
                return "OS connection reset"
            return "Connection reset"
        except NetError:
            return "Some network error"
        except eio.Io:
            return "Some I/O error"

    os_reset = from_oserror(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"))
    assert classify(os_reset) == "OS connection reset"
    assert classify(ConnectionReset("reset")) == "Connection reset"
    assert classify(ConnectionFailure("timeout")) == "Some network error"
    assert classify(NotFound(errno.ENOENT, "No such file or directory", "foo")) == "Some I/O error"


# -- construction and messages --------------------------------------------------------------


def test_connection_failure_picks_the_subclass_for_its_reason() -> None:
    refused = ConnectionFailure("refused")
    assert type(refused) is ConnectionRefused
    assert (refused.reason, str(refused), refused.errno) == ("refused", "Connection refused", None)
    assert isinstance(refused, ConnectionRefusedError) and not isinstance(refused, TimeoutError)

    timeout = ConnectionFailure("timeout")
    assert type(timeout) is ConnectionTimeout
    assert (timeout.reason, str(timeout)) == ("timeout", "Connection timed out")
    assert isinstance(timeout, TimeoutError) and isinstance(timeout, ConnectionError)
    assert not isinstance(timeout, ConnectionRefusedError)

    with_errno = ConnectionFailure("refused", errno.ECONNREFUSED, "Connection refused")
    assert (with_errno.errno, with_errno.strerror) == (errno.ECONNREFUSED, "Connection refused")
    assert str(with_errno) == f"[Errno {errno.ECONNREFUSED}] Connection refused"
    assert repr(with_errno) == f"ConnectionRefused({errno.ECONNREFUSED}, 'Connection refused')"

    assert ConnectionTimeout("timeout").reason == "timeout"


def test_connection_failure_rejects_bad_reasons() -> None:
    with pytest.raises(ValueError, match="^ConnectionFailure reason must be 'refused' or 'timeout', not 'late'$"):
        ConnectionFailure("late")  # pyright: ignore[reportArgumentType] - the misuse under test
    with pytest.raises(ValueError, match="^ConnectionRefused has reason 'refused', not 'timeout'$"):
        ConnectionRefused("timeout")


def test_messages() -> None:
    assert str(NotFound(errno.ENOENT, "No such file or directory", "foo")) == (
        f"[Errno {errno.ENOENT}] No such file or directory: 'foo'"
    )
    assert str(NotNative("<cwd:foo> has no native path")) == "<cwd:foo> has no native path"
    assert str(ExecutableNotFound("prog")) == f"[Errno {errno.ENOENT}] Executable not found: 'prog'"
    assert ExecutableNotFound("prog").filename == "prog"
    assert str(ChildError(Exited(3))) == "Exited (code 3)"
    assert str(ChildError(Signaled(signal.SIGKILL))) == "Signaled (SIGKILL)"
    assert str(Signaled(1000)) == "Signaled (1000)"
    assert ChildError(Exited(3)).status == Exited(3)
    assert str(eio.Io("something failed")) == "something failed"


def test_errors_survive_pickling() -> None:
    for e in (
        ConnectionFailure("timeout"),
        ConnectionFailure("refused", errno.ECONNREFUSED, "Connection refused"),
        ExecutableNotFound("prog"),
        ChildError(Signaled(9)),
        NotFound(errno.ENOENT, "No such file or directory", "foo"),
    ):
        e.add_note("while testing")
        copy = pickle.loads(pickle.dumps(e))
        assert (type(copy), copy.args, str(copy), copy.__notes__) == (type(e), e.args, str(e), ["while testing"])
        assert getattr(copy, "reason", None) == getattr(e, "reason", None)
        assert getattr(copy, "status", None) == getattr(e, "status", None)


# -- from_oserror ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (errno.ECONNRESET, ConnectionReset),
        (errno.EPIPE, ConnectionReset),
        (errno.ECONNABORTED, ConnectionReset),
        (errno.ECONNREFUSED, ConnectionRefused),
        (errno.ETIMEDOUT, ConnectionTimeout),
        (errno.ENOENT, NotFound),
        (errno.EEXIST, AlreadyExists),
        (errno.EACCES, PermissionDenied),
        (errno.EPERM, PermissionDenied),
        (errno.EXDEV, PermissionDenied),
        (errno.EFBIG, FileTooLarge),
        (errno.EIO, eio.Io),
        (errno.EBADF, eio.Io),
    ],
)
def test_from_oserror_by_errno(code: int, cls: type[eio.Io]) -> None:
    original = OSError(code, os.strerror(code), "some/file")
    e = from_oserror(original, "doing something")
    assert type(e) is cls
    assert (e.errno, e.strerror, e.filename) == (code, os.strerror(code), "some/file")
    assert str(e) == str(original)
    assert e.__cause__ is original and e.__suppress_context__
    assert e.__notes__ == ["doing something"]
    if isinstance(e, ConnectionFailure):
        assert e.reason == ("refused" if code == errno.ECONNREFUSED else "timeout")


def test_from_oserror_keeps_both_filenames() -> None:
    original = OSError(errno.EEXIST, "File exists", "a", None, "b")
    e = from_oserror(original)
    assert (type(e), e.filename, e.filename2, str(e)) == (AlreadyExists, "a", "b", str(original))
    assert not hasattr(e, "__notes__")


def test_from_oserror_without_errno_uses_the_builtin_class() -> None:
    assert type(from_oserror(TimeoutError("timed out"))) is ConnectionTimeout
    assert type(from_oserror(ConnectionRefusedError())) is ConnectionRefused
    assert type(from_oserror(BrokenPipeError())) is ConnectionReset
    assert type(from_oserror(FileNotFoundError("gone"))) is NotFound
    assert type(from_oserror(PermissionError("no"))) is PermissionDenied
    plain = from_oserror(OSError("odd"))
    assert (type(plain), str(plain), plain.errno) == (eio.Io, "odd", None)


def test_from_oserror_of_an_address_lookup_failure() -> None:
    original = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    e = from_oserror(original, 'looking up "nowhere.invalid"')
    assert type(e) is AddressLookupFailed
    assert (e.errno, str(e)) == (socket.EAI_NONAME, f"[Errno {socket.EAI_NONAME}] Name or service not known")
    assert isinstance(e, socket.gaierror)


def test_from_oserror_of_an_eio_error_adds_context_only() -> None:
    e = NotFound(errno.ENOENT, "No such file or directory", "foo")
    assert from_oserror(e, "opening file 'foo'") is e
    assert e.__notes__ == ["opening file 'foo'"]
    assert e.__cause__ is None


# -- context (Eio's Exn.add_context) ------------------------------------------------------------------


def test_add_context_only_touches_io_errors() -> None:
    e = NotFound(errno.ENOENT, "No such file or directory", "foo")
    assert add_context(add_context(e, "opening file 'foo'"), "loading config") is e
    assert e.__notes__ == ["opening file 'foo'", "loading config"]
    other = ValueError("not IO")
    assert add_context(other, "loading config") is other
    assert not hasattr(other, "__notes__")


def test_context_is_shown_after_the_error() -> None:
    # The README's "Error Handling": each layer adds what it was doing.
    # Eio prints "Eio.Io Net Connection_failure Timeout,\n  connecting to
    # tcp:127.0.0.1:80,\n  connecting to "example.com":http,\n  fetching ...";
    # Python shows the class, the message, then one note per line.
    def connect() -> None:
        try:
            raise ConnectionFailure("timeout")
        except eio.Io as ex:
            ex.add_note("connecting to tcp:127.0.0.1:80")
            raise

    def with_tcp_connect(host: str, service: str) -> None:
        try:
            connect()
        except eio.Io as ex:
            ex.add_note(f'connecting to "{host}":{service}')
            raise

    def get(host: str, path: str) -> None:
        try:
            with_tcp_connect(host, "http")
        except eio.Io as ex:
            ex.add_note(f"fetching http://{host}/{path}")
            raise

    with pytest.raises(ConnectionFailure) as info:
        get("example.com", "index.html")
    shown = traceback.format_exception_only(info.value)
    assert "".join(shown) == (
        "eio.net.ConnectionTimeout: Connection timed out\n"
        "connecting to tcp:127.0.0.1:80\n"
        'connecting to "example.com":http\n'
        "fetching http://example.com/index.html\n"
    )


def test_backend_error_is_the_cause_in_tracebacks() -> None:
    original = FileNotFoundError(errno.ENOENT, "No such file or directory", "foo")
    try:
        try:
            raise original
        except OSError as ex:
            raise from_oserror(ex, "opening file 'foo'") from ex
    except NotFound as ex:
        text = "".join(traceback.format_exception(ex))
    assert text.count("The above exception was the direct cause of the following exception:") == 1
    assert text.endswith(f"eio.fs.NotFound: [Errno {errno.ENOENT}] No such file or directory: 'foo'\nopening file 'foo'\n")
    assert f"FileNotFoundError: [Errno {errno.ENOENT}] No such file or directory: 'foo'\n" in text


# -- combining IO errors (Eio's tests/exn.md) -------------------------------------------------------------


def test_combined_io_errors_are_caught_as_io_errors(run: Runner) -> None:
    # Eio combines two Io errors into another Io error (Multiple_io), so that
    # code handling IO errors still works; in Python the group is matched
    # with ``except* eio.Io``, and each error keeps its own context.
    async def failing(e: eio.Io, note: str) -> None:
        try:
            with eio.cancel.protect():  # so that both fail, rather than one cancelling the other
                await eio.fiber.yield_()
            raise e
        except eio.Io as ex:
            ex.add_note(note)
            raise

    async def main() -> None:
        denied = PermissionDenied(errno.EACCES, "Permission denied", "bar")
        not_found = NotFound(errno.ENOENT, "No such file or directory", "foo")
        await eio.fiber.both(lambda: failing(denied, "saving file 'bar'"), lambda: failing(not_found, "opening file 'foo'"))

    caught: list[tuple[str, list[str]]] = []
    try:
        run(main)
    except* eio.Io as group:
        for e in group.exceptions:
            caught.append((type(e).__name__, getattr(e, "__notes__", [])))
    assert caught == [("PermissionDenied", ["saving file 'bar'"]), ("NotFound", ["opening file 'foo'"])]


def test_combined_errors_form_a_tree_with_context(run: Runner) -> None:
    async def fail_with(e: eio.Io) -> None:
        with eio.cancel.protect():  # so that all fail, rather than one cancelling the others
            await eio.fiber.yield_()
        raise e

    async def request() -> None:
        try:
            await eio.fiber.both(lambda: fail_with(PermissionDenied("denied")), lambda: fail_with(NotFound("not found")))
        except ExceptionGroup as group:
            group.add_note("processing request")
            raise

    async def main() -> None:
        await eio.fiber.both(request, lambda: fail_with(NotFound("not found again")))

    with pytest.raises(ExceptionGroup) as info:
        run(main)
    outer = info.value
    assert [type(e).__name__ for e in outer.exceptions] == ["ExceptionGroup", "NotFound"]
    assert isinstance(outer.exceptions[0], ExceptionGroup)
    inner = cast("ExceptionGroup[Exception]", outer.exceptions[0])  # isinstance leaves the item type unknown
    assert inner.__notes__ == ["processing request"]
    assert [str(e) for e in inner.exceptions] == ["denied", "not found"]
    matched, rest = outer.split(eio.Io)
    assert rest is None and matched is not None
