"""Child processes (Eio's ``Process``).

``await eio.process.run(env.process_mgr, ["echo", "hello"])`` runs a program
and checks that it succeeded; `parse_out` also parses what it printed;
`spawn` gives a `Process` to wait for (`Process.await_`) or signal.

A child's status is an `ExitStatus`: ``Exited(code)`` when it exited by itself,
``Signaled(signum)`` when a signal killed it (Eio's polymorphic variants
```Exited`` and ```Signaled``, as two small frozen dataclasses, so a ``match``
statement reads like Eio's). A stopped child is never reported: only exits are.

Errors: `ExecutableNotFound`, `PermissionDenied` (the program may not be run),
`ExecutableFormatError`, `ArgumentListTooLong` when the child can't start;
`ChildError` (``.status``) when it ran but failed. All are `ProcessError`s
(`eio.Io`); `run` and `parse_out` add the note ``running command: <args>``.

A process manager is any object with the `ProcessManager` method ``spawn``.
"""

from __future__ import annotations

import errno as _errno
import os as _os
import sys as _sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from ._core._switch import Switch
from ._flow._escape import quote_string
from ._flow._pipe import mem_pipe
from ._flow._types import Closable
from ._io_errors import ChildError, ExecutableNotFound, Exited, ExitStatus, ProcessError, Signaled
from .buf_read import Parser, parse
from .flow import Sink, Source

if TYPE_CHECKING:
    from .path import Path

T = TypeVar("T")

# -- errors and statuses -----------------------------------------------------------
# Every process error is an `eio.process.ProcessError` (an `eio.Io`); see eio/_io_errors.py.


__all__ = ["ChildError", "ExecutableNotFound", "ExitStatus", "Exited", "ProcessError", "Signaled"]
# -- end of errors and statuses -------------------------------------------------------

# -- more spawn errors (Eio's other ``Process.error`` cases) --------------------------


class ArgumentListTooLong(ProcessError):
    """The arguments (with the environment) are too big for the OS to start the program (E2BIG)."""

    def __init__(self) -> None:
        super().__init__(_errno.E2BIG, "Argument list too long")

    def __reduce__(self) -> tuple[Any, ...]:
        return (ArgumentListTooLong, (), self.__dict__)


class PermissionDenied(ProcessError, PermissionError):
    """The program exists but may not be run (EACCES). ``PermissionDenied(program)``; ``filename`` is ``program``.

    Not `eio.fs.PermissionDenied`: this one is about starting a program.
    """

    def __init__(self, program: str) -> None:
        super().__init__(_errno.EACCES, "Permission denied", program)

    def __reduce__(self) -> tuple[Any, ...]:
        return (PermissionDenied, (self.filename,), self.__dict__)


class ExecutableFormatError(ProcessError):
    """The program exists but is not in a format the OS can run (ENOEXEC). ``ExecutableFormatError(program)``."""

    def __init__(self, program: str) -> None:
        super().__init__(_errno.ENOEXEC, "Exec format error", program)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ExecutableFormatError, (self.filename,), self.__dict__)


class StdinNotRead(ProcessError, BrokenPipeError):
    """The child closed its stdin (it exited, or closed the descriptor) before reading all the input fed to it.

    Raised by `Process.await_` (and so by `run` and `parse_out`) after the
    child exits, when ``stdin`` was a flow copied into a pipe and the pipe's
    reader went away with input left: the rest of the input was not
    delivered. ``StdinNotRead(program, pid)``; ``status`` is the child's exit
    status once known. `run` and `parse_out` report a failed child as
    `ChildError` instead (with this as a note).
    """

    status: ExitStatus | None

    def __init__(self, program: str, pid: int, status: ExitStatus | None = None) -> None:
        super().__init__(_errno.EPIPE, f"{program} (pid {pid}) stopped reading its stdin before the end of the input")
        self.program = program
        self.pid = pid
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        return (StdinNotRead, (self.program, self.pid, self.status), self.__dict__)


for _cls in (ArgumentListTooLong, PermissionDenied, ExecutableFormatError, StdinNotRead):
    _cls.__module__ = "eio.process"
del _cls


# -- the provider interfaces (Eio's ``Process.Pi``) -------------------------------------


class Process(Protocol):
    """A child process, as a process manager's ``spawn`` returns it (Eio's ``Process.t``)."""

    @property
    def pid(self) -> int:
        """The child's process ID."""
        ...

    async def await_(self) -> ExitStatus:
        """Wait for the child to exit, and for the fibers copying its standard streams; its status.

        May be called any number of times. Cancelling the waiting fiber does
        not affect the child. Raises `StdinNotRead` (with the status) if the
        child went away before reading all the input a fiber fed it.
        """
        ...

    def signal(self, signum: int, /) -> None:
        """Send signal ``signum`` to the child; nothing if it has already exited (never to a reused PID)."""
        ...


class ProcessManager(Protocol):
    """Something that can start child processes (Eio's ``Process.mgr``): ``env.process_mgr``.

    Users call `eio.process.spawn`, `run` and `parse_out`, which check the
    arguments and add the defaults; a provider implements only `spawn`.
    """

    async def spawn(
        self,
        sw: Switch,
        args: Sequence[str],
        /,
        *,
        stdin: Source | None,
        stdout: Sink | None,
        stderr: Sink | None,
        cwd: Path | None,
        env: Mapping[str, str] | None,
        executable: str | None,
    ) -> Process:
        """Start ``args`` as a child attached to ``sw``; see `eio.process.spawn` for the meaning of each argument.

        ``args`` is a non-empty list of strings (checked by the caller).
        """
        ...


class PipeSource(Source, Closable, Protocol):
    """The reading end of a pipe (`pipe`): a source that can be closed."""


class PipeSink(Sink, Closable, Protocol):
    """The writing end of a pipe (`pipe`): a sink that can be closed."""


class PipeManager(Protocol):
    """A process manager that can make pipes (Eio's ``Process.pipe``): ``env.process_mgr`` of every backend."""

    def pipe(self, sw: Switch, /) -> tuple[PipeSource, PipeSink]:
        """A new pipe, both ends closed when ``sw`` finishes."""
        ...


def pipe(sw: Switch, mgr: ProcessManager) -> tuple[PipeSource, PipeSink]:
    """A pipe: ``(source, sink)``, what is written to ``sink`` is read from ``source`` (Eio's ``Process.pipe``).

    Both ends are closed when ``sw`` finishes (close one earlier with
    ``await end.close()``). With an operating-system process manager this is
    an OS pipe: either end can be a child's ``stdin`` / ``stdout`` /
    ``stderr`` as it is (the child gets the descriptor). Close the parent's
    copy of an end given to a child, so that the reader sees end-of-file
    once the child is done with it::

        r, w = eio.process.pipe(sw, env.process_mgr)
        p1 = await eio.process.spawn(sw, env.process_mgr, ["echo", "hi"], stdout=w)
        await w.close()

    Writing after the reader closed raises `eio.net.ConnectionReset`. The
    mock's process manager gives an in-memory pipe. `TypeError` if ``mgr``
    can't make pipes.
    """
    make = getattr(mgr, "pipe", None)
    if make is None:
        raise TypeError(f"eio.process.pipe: the process manager {mgr!r} can't make pipes (it has no pipe method)")
    if not isinstance(sw, Switch):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"eio.process.pipe: sw must be an eio.Switch, got {type(sw).__name__}")
    return cast(PipeManager, mgr).pipe(sw)


# -- running processes ----------------------------------------------------------------

_BAD_BYTES = frozenset(b" \"'\\")


def _pp_arg(arg: str) -> str:
    data = arg.encode("utf-8", "surrogateescape")
    if not data or any(b <= 32 or b >= 127 or b in _BAD_BYTES for b in data):
        return quote_string(data)
    return arg


def pp_args(args: Iterable[str]) -> str:
    """``args`` as one line for messages and logs, quoting any argument that could mislead (Eio's ``pp_args``).

    An argument that is empty or holds a space, a quote, a backslash, a
    control character or a non-ASCII one is shown in double quotes with
    OCaml's escapes (``\\"``, ``\\\\``, ``\\n``, other bytes as ``\\ddd``):
    ``pp_args(["sh", "-c", "exit 3", ""]) == 'sh -c "exit 3" ""'``.
    """
    return " ".join(_pp_arg(a) for a in args)


def _check_args(args: Sequence[str]) -> list[str]:
    if isinstance(args, (str, bytes)):
        raise TypeError(
            f"args must be a list of strings (the program, then its arguments), not one string: "
            f"use {str(args).split() or ['program']!r}, not {args!r}"
        )
    checked: list[str] = []
    for a in args:
        if not isinstance(a, str):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
            raise TypeError(f"each argument must be a str, not {type(a).__name__}: {a!r}")
        # A plain str: what the child gets must not depend on a subclass's methods.
        a = str.__str__(a)
        if "\0" in a:
            raise ValueError(f"an argument must not contain a NUL character: {a!r}")
        checked.append(a)
    if not checked:
        raise ValueError("args is empty: the first argument must name the program to run")
    return checked


def _check_spawn_options(
    who: str, cwd: object, env: object, executable: object, flows: Mapping[str, object]
) -> tuple[dict[str, str] | None, str | None]:
    """Check the options of `spawn` before the child is started; return ``env`` and ``executable`` as plain strs."""
    from .path import Path, path_str

    if cwd is not None and not isinstance(cwd, Path):
        raise TypeError(f"{who}: cwd must be an eio.Path (such as env.cwd / 'dir') or None, got {type(cwd).__name__}")
    for name, flow in flows.items():
        if flow is not None and not hasattr(flow, "single_read" if name == "stdin" else "single_write"):
            kind = "source" if name == "stdin" else "sink"
            raise TypeError(f"{who}: {name} must be a flow ({kind}) or None, got {type(flow).__name__}")
    plain_env: dict[str, str] | None = None
    if env is not None:
        if not isinstance(env, Mapping):
            raise TypeError(f"{who}: env must be a mapping of str to str or None, got {type(env).__name__}")
        plain_env = {}
        for key, value in env.items():  # pyright: ignore[reportUnknownVariableType] - checked just below
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"{who}: env must map str to str, got {key!r}: {value!r}")
            key, value = str.__str__(key), str.__str__(value)
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise ValueError(f"{who}: env has a bad entry {key!r}: {value!r} (no '=' or NUL in a name, no NUL in a value)")
            plain_env[key] = value
    plain_executable = None if executable is None else path_str(executable, who, "executable")
    return plain_env, plain_executable


async def spawn(
    sw: Switch,
    mgr: ProcessManager,
    args: Sequence[str],
    *,
    stdin: Source | None = None,
    stdout: Sink | None = None,
    stderr: Sink | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    executable: str | None = None,
    pass_fds: Sequence[int | HasFileno | PipeSource | PipeSink] = (),
    login_tty: int | HasFileno | None = None,
) -> Process:
    """Start the program ``args[0]`` with arguments ``args`` as a child process attached to ``sw``.

    The child is killed (``SIGKILL``) if it is still running when ``sw``
    finishes, and it is always reaped. ``args[0]`` is looked up in ``PATH``
    (the one in ``env`` if given, else this process's) unless it contains a
    ``/``; `ExecutableNotFound` if it isn't found. ``executable``, if given,
    is the path of the program to run instead (``args[0]`` is then only the
    name the program sees).

    ``stdin``, ``stdout`` and ``stderr`` default to this process's own. A
    flow backed by a file descriptor (one with ``fileno()``) is given to the
    child as it is; for any other flow a pipe is made and a fiber in ``sw``
    copies between it and the flow (until the end of ``stdin``; until the
    child, and whatever inherited the pipe, closes ``stdout``/``stderr``).
    `Process.await_` also waits for those copies. ``cwd``: the child's
    current directory, which must be reachable through its directory
    capability (``env.cwd / ".."`` is refused with `eio.fs.PermissionDenied`).
    ``env``: the child's whole environment (default: this process's).

    Raises `ValueError` if ``args`` is empty or an argument holds a NUL
    character, `TypeError` if it is a string; the other options are checked
    too (``cwd`` must be an `eio.Path`, ``env`` map str to str), all before
    anything is started.

    ``pass_fds``: more descriptors the child inherits, at the same numbers
    (Eio's ``Eio_unix.Process.spawn_unix ~fds``, in the spelling of Python's
    `subprocess`): descriptor numbers, or resources with ``fileno()`` (a
    socket, an OS pipe's end, an open file; `TypeError` for one without). The parent keeps its own copies.
    Every other descriptor of the parent is closed in the child. `ValueError`
    names a descriptor that is not open; `TypeError` if ``mgr`` can't pass
    descriptors (it is not an operating-system process manager, e.g. the mock's).

    ``login_tty``: a terminal (the ``slave`` side of an `eio.unix.pty.open_pty`,
    or its descriptor) that becomes the child's controlling terminal and its
    ``stdin``, ``stdout`` and ``stderr``, in a session of its own (Eio's
    ``spawn_unix ~login_tty``; what ``login_tty(3)`` does): characters such as
    Ctrl-C written to the pseudo-terminal's master side then signal the
    child, and it can open ``/dev/tty``. `ValueError` if ``stdin``, ``stdout``
    or ``stderr`` is given too, or if the descriptor is not a terminal;
    `TypeError` if ``mgr`` is not an operating-system process manager.
    """
    who = "eio.process.spawn"
    checked = _check_args(args)
    env, executable = _check_spawn_options(who, cwd, env, executable, {"stdin": stdin, "stdout": stdout, "stderr": stderr})
    tty = None if login_tty is None else _check_login_tty(login_tty, stdin, stdout, stderr)
    if pass_fds or tty is not None:
        fds = _check_pass_fds(pass_fds)
        spawn_unix = getattr(mgr, "spawn_unix", None)
        if spawn_unix is None:
            wanted = "pass_fds" if pass_fds else "login_tty"
            raise TypeError(f"{who}: {wanted} needs an operating-system process manager; {mgr!r} can't pass descriptors")
        fd_mgr = cast(FdProcessManager, mgr)
        if tty is not None:
            return await fd_mgr.spawn_unix(
                sw, checked, stdin=None, stdout=None, stderr=None, cwd=cwd, env=env, executable=executable, pass_fds=fds,
                login_tty=tty,
            )  # fmt: skip
        return await fd_mgr.spawn_unix(
            sw, checked, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env, executable=executable, pass_fds=fds
        )
    return await mgr.spawn(sw, checked, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env, executable=executable)


def _check_login_tty(login_tty: object, stdin: object, stdout: object, stderr: object) -> int:
    """``login_tty``'s descriptor, checked to be a terminal and the only source of the standard streams."""
    who = "eio.process.spawn"
    for name, given in (("stdin", stdin), ("stdout", stdout), ("stderr", stderr)):
        if given is not None:
            raise ValueError(f"{who}: login_tty is the child's stdin, stdout and stderr; {name} can't be given as well")
    if isinstance(login_tty, int) and not isinstance(login_tty, bool):
        fd = int(login_tty)
    else:
        fileno = getattr(login_tty, "fileno", None)
        if fileno is None or isinstance(login_tty, bool):
            raise TypeError(
                f"{who}: login_tty must be a terminal (a descriptor, or the slave side of a pty), got {login_tty!r}"
            )
        fd = fileno()
        if not isinstance(fd, int):
            raise TypeError(f"{who}: {login_tty!r}.fileno() gave {fd!r}, not an int")
    if fd < 0 or not _os.isatty(fd):
        raise ValueError(f"{who}: login_tty: descriptor {fd} is not a terminal")
    return fd


def _check_pass_fds(pass_fds: object) -> list[int]:
    """``pass_fds`` as a list of open descriptor numbers, or a clear error."""
    if not isinstance(pass_fds, (list, tuple)):
        raise TypeError(f"eio.process.spawn: pass_fds must be a list of descriptors, got {type(pass_fds).__name__}")
    fds: list[int] = []
    for item in cast("Sequence[object]", pass_fds):
        if isinstance(item, int) and not isinstance(item, bool):
            fd = int(item)
        else:
            fileno = getattr(item, "fileno", None)
            if fileno is None or isinstance(item, bool):
                raise TypeError(f"eio.process.spawn: pass_fds items must be descriptors (int) or have fileno(), got {item!r}")
            fd = fileno()
            if not isinstance(fd, int):
                raise TypeError(f"eio.process.spawn: {item!r}.fileno() gave {fd!r}, not an int")
        if fd < 0:
            raise ValueError(f"eio.process.spawn: pass_fds: {fd} is not a descriptor")
        try:
            _os.fstat(fd)
        except OSError:
            raise ValueError(f"eio.process.spawn: pass_fds: descriptor {fd} is not open") from None
        fds.append(fd)
    return fds


class HasFileno(Protocol):
    """Something backed by an OS file descriptor (a socket, a pipe end, a file)."""

    def fileno(self) -> int:
        """The descriptor."""
        ...


class FdProcessManager(ProcessManager, Protocol):
    """A process manager of the operating system: it can also pass extra descriptors (``spawn_unix``)."""

    async def spawn_unix(
        self,
        sw: Switch,
        args: Sequence[str],
        /,
        *,
        stdin: Source | None,
        stdout: Sink | None,
        stderr: Sink | None,
        cwd: Path | None,
        env: Mapping[str, str] | None,
        executable: str | None,
        pass_fds: Sequence[int],
        login_tty: int | None = None,
    ) -> Process:
        """`ProcessManager.spawn`, the child also inheriting ``pass_fds`` at the same numbers.

        ``login_tty``: a terminal's descriptor that becomes the child's
        controlling terminal and standard streams, in a new session (then
        ``stdin``, ``stdout`` and ``stderr`` are None).
        """
        ...


def _default_is_success(code: int) -> bool:
    return code == 0


def _child_error(status: ExitStatus, is_success: Callable[[int], bool] | None) -> ChildError | None:
    if isinstance(status, Exited) and (is_success or _default_is_success)(status.code):
        return None
    return ChildError(status)


async def _await_status(proc: Process) -> tuple[ExitStatus, StdinNotRead | None]:
    """`Process.await_`, with a `StdinNotRead` (which comes with the status) returned rather than raised."""
    try:
        return await proc.await_(), None
    except StdinNotRead as ex:
        if ex.status is None:
            raise
        return ex.status, ex


def _check_outcome(status: ExitStatus, stdin_error: StdinNotRead | None, is_success: Callable[[int], bool] | None) -> None:
    """Raise `ChildError` for a failed child (noting unread input), else the `StdinNotRead` if any."""
    err = _child_error(status, is_success)
    if err is not None:
        if stdin_error is not None:
            err.add_note(str(stdin_error))
        raise err
    if stdin_error is not None:
        raise stdin_error


async def await_exn(proc: Process, *, is_success: Callable[[int], bool] | None = None) -> None:
    """`Process.await_`, then raise `ChildError` unless the child exited with a successful code.

    ``is_success(code)`` says which exit codes are a success (default: only 0);
    death by a signal is always a failure. A child that exited successfully
    without reading all its input raises `StdinNotRead`.
    """
    status, stdin_error = await _await_status(proc)
    _check_outcome(status, stdin_error, is_success)


async def run(
    mgr: ProcessManager,
    args: Sequence[str],
    *,
    stdin: Source | None = None,
    stdout: Sink | None = None,
    stderr: Sink | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    executable: str | None = None,
    is_success: Callable[[int], bool] | None = None,
) -> None:
    """Run ``args`` to completion: `spawn` in a new switch, then `await_exn`.

    A `ChildError` has the note ``running command: <args>`` (see `pp_args`),
    e.g. ``Exited (code 3)`` with ``running command: sh -c "exit 3"``. Returns
    once the child has exited and its streams have been copied. A child that
    succeeded but stopped reading ``stdin`` before its end raises `StdinNotRead`.
    """
    checked = _check_args(args)
    env, executable = _check_spawn_options(
        "eio.process.run", cwd, env, executable, {"stdin": stdin, "stdout": stdout, "stderr": stderr}
    )
    try:
        async with Switch.run(name="Process.run") as sw:
            proc = await mgr.spawn(
                sw, checked, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env, executable=executable
            )
            status, stdin_error = await _await_status(proc)
            _check_outcome(status, stdin_error, is_success)
    except (ChildError, StdinNotRead) as ex:
        ex.add_note(f"running command: {pp_args(checked)}")
        raise


def _has_fd(flow: object) -> bool:
    fileno = getattr(flow, "fileno", None)
    return fileno is not None and isinstance(fileno(), int)


async def parse_out(
    mgr: ProcessManager,
    parser: Parser[T],
    args: Sequence[str],
    *,
    stdin: Source | None = None,
    stderr: Sink | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    executable: str | None = None,
    is_success: Callable[[int], bool] | None = None,
    max_size: int = _sys.maxsize,
) -> T:
    """Run ``args`` and parse what it writes to stdout with ``parser`` while it runs (as `eio.buf_read.parse`).

    The child writes into a pipe (`pipe`; an in-memory one if ``mgr`` has
    none) that ``parser`` reads as the output comes, buffering at most
    ``max_size`` bytes (`eio.buf_read.BufferLimitExceeded` beyond), so a
    parser that consumes as it goes (``lines()``, ``skip``...) runs in
    bounded memory. ``parser`` must consume the whole output.

    If ``parser`` fails, the child is killed at once (its switch ends) and
    the parser's error is raised; otherwise the exit status is checked as
    `run` does (`ChildError`, `StdinNotRead`). Errors get the note
    ``running command: <args>``.
    """
    checked = _check_args(args)
    env, executable = _check_spawn_options("eio.process.parse_out", cwd, env, executable, {"stdin": stdin, "stderr": stderr})
    if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"eio.process.parse_out: max_size must be a positive int, got {max_size!r}")
    from .fiber import fork

    try:
        async with Switch.run(name="Process.parse_out") as sw:
            make = getattr(mgr, "pipe", None)
            src, sink = cast(PipeManager, mgr).pipe(sw) if make is not None else mem_pipe(sw, "stdout pipe")
            proc = await mgr.spawn(
                sw, checked, stdin=stdin, stdout=sink, stderr=stderr, cwd=cwd, env=env, executable=executable
            )
            if _has_fd(sink):
                await sink.close()  # the child has its own copy: end-of-file comes when it closes that
            else:

                async def close_when_done() -> None:
                    # The child (or the fiber copying for it) writes into ``sink``: end the output when it is done.
                    try:
                        await proc.await_()
                    except Exception:  # noqa: S110 - reported by the main path's own await_
                        pass
                    finally:
                        await sink.close()

                fork(sw, close_when_done)
            value = await parse(parser, src, max_size=max_size)
            status, stdin_error = await _await_status(proc)
            _check_outcome(status, stdin_error, is_success)
            return value
    except Exception as ex:
        ex.add_note(f"running command: {pp_args(checked)}")
        raise


__all__ += [
    "ArgumentListTooLong",
    "ExecutableFormatError",
    "PermissionDenied",
    "PipeManager",
    "PipeSink",
    "PipeSource",
    "HasFileno",
    "Process",
    "ProcessManager",
    "FdProcessManager",
    "StdinNotRead",
    "await_exn",
    "parse_out",
    "pipe",
    "pp_args",
    "run",
    "spawn",
]
