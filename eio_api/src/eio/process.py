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
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._core._switch import Switch
from ._flow._escape import quote_string
from ._io_errors import ChildError, ExecutableNotFound, Exited, ExitStatus, Io, ProcessError, Signaled
from .buf_read import Parser, parse_string
from .flow import Sink, Source, buffer_sink

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


for _cls in (ArgumentListTooLong, PermissionDenied, ExecutableFormatError):
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
        not affect the child.
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
    """
    checked = _check_args(args)
    env, executable = _check_spawn_options(
        "eio.process.spawn", cwd, env, executable, {"stdin": stdin, "stdout": stdout, "stderr": stderr}
    )
    return await mgr.spawn(sw, checked, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env, executable=executable)


def _default_is_success(code: int) -> bool:
    return code == 0


def _child_error(status: ExitStatus, is_success: Callable[[int], bool] | None) -> ChildError | None:
    if isinstance(status, Exited) and (is_success or _default_is_success)(status.code):
        return None
    return ChildError(status)


async def await_exn(proc: Process, *, is_success: Callable[[int], bool] | None = None) -> None:
    """`Process.await_`, then raise `ChildError` unless the child exited with a successful code.

    ``is_success(code)`` says which exit codes are a success (default: only 0);
    death by a signal is always a failure.
    """
    err = _child_error(await proc.await_(), is_success)
    if err is not None:
        raise err


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
    once the child has exited and its streams have been copied.
    """
    checked = _check_args(args)
    env, executable = _check_spawn_options(
        "eio.process.run", cwd, env, executable, {"stdin": stdin, "stdout": stdout, "stderr": stderr}
    )
    async with Switch.run(name="Process.run") as sw:
        proc = await mgr.spawn(sw, checked, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env, executable=executable)
        err = _child_error(await proc.await_(), is_success)
        if err is not None:
            err.add_note(f"running command: {pp_args(checked)}")
            raise err


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
) -> T:
    """Run ``args`` and parse everything it writes to stdout with ``parser`` (as `eio.buf_read.parse`).

    ``parser`` must consume the whole output (``eio.BufRead.take_all``
    returns it all). The output is collected until the child exits, then
    parsed, then the exit status is checked as `run` does. Every `eio.Io`
    error gets the note ``running command: <args>``.
    """
    checked = _check_args(args)
    env, executable = _check_spawn_options("eio.process.parse_out", cwd, env, executable, {"stdin": stdin, "stderr": stderr})
    out = bytearray()
    try:
        async with Switch.run(name="Process.parse_out") as sw:
            proc = await mgr.spawn(
                sw,
                checked,
                stdin=stdin,
                stdout=buffer_sink(out),
                stderr=stderr,
                cwd=cwd,
                env=env,
                executable=executable,
            )
            status = await proc.await_()
            value = await parse_string(parser, bytes(out))
            err = _child_error(status, is_success)
            if err is not None:
                raise err
            return value
    except Io as ex:
        ex.add_note(f"running command: {pp_args(checked)}")
        raise


__all__ += [
    "ArgumentListTooLong",
    "ExecutableFormatError",
    "PermissionDenied",
    "Process",
    "ProcessManager",
    "await_exn",
    "parse_out",
    "pp_args",
    "run",
    "spawn",
]
