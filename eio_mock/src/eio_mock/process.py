"""Scripted child processes (the mock environment's ``process_mgr``): an `eio.process.ProcessManager`.

A test says what each program does, then the code under test runs it with
`eio.process.run`, `parse_out` or `spawn` as it would a real one::

    eio_mock.process.register(env.process_mgr, "git", stdout=b"main\\n")
    eio_mock.process.register(env.process_mgr, "false", exit_code=1)

    async def cat(child: eio_mock.process.Child) -> int:
        await eio.flow.copy(child.stdin, child.stdout)
        return 0

    eio_mock.process.register(env.process_mgr, "cat", run=cat)

A program is found by ``args[0]`` (or ``executable``), then by its last
path component; an unregistered one raises `eio.process.ExecutableNotFound`.
A child runs as a fiber of the ``spawn`` switch, with the flows it was
given (by default the environment's own stdin, stdout and stderr); it is
killed (``Signaled(SIGKILL)``) if still running when the switch finishes,
and ``Process.signal(n)`` stops it with ``Signaled(n)``. Nothing traces.
"""

from __future__ import annotations

import errno
import itertools
import signal as _signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import eio
from eio import Switch
from eio._flow._pipe import MemPipeSink, MemPipeSource, mem_pipe
from eio.flow import Sink, Source
from eio.lowlevel import coroutine_of
from eio.process import ExecutableNotFound, Exited, ExitStatus, Signaled

__all__ = ["Child", "MockProcess", "MockProcessManager", "register"]

_SIGKILL: int = getattr(_signal, "SIGKILL", 9)  # Windows has no SIGKILL; the status still says "killed"

ChildFn = Callable[["Child"], Awaitable[int | None]]
"""What a scripted program does: ``await fn(child)`` gives its exit code (None: 0)."""


@dataclass
class Child:
    """What a scripted program sees: its arguments, standard streams, directory and environment."""

    args: list[str]
    stdin: Source
    stdout: Sink
    stderr: Sink
    cwd: eio.Path | None
    env: Mapping[str, str] | None


class _Killed(Exception):
    """Why a child's fiber was cancelled: a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"killed by signal {signum}")
        self.signum = signum


class MockProcess:
    """A running scripted child: an `eio.process.Process`."""

    __slots__ = ("_pid", "args", "_status", "_resolver", "_cc")

    def __init__(self, pid: int, args: list[str]) -> None:
        self._pid = pid
        self.args = args
        self._status, self._resolver = eio.Promise[ExitStatus].create()
        self._cc: eio.cancel.CancelContext | None = None

    def __repr__(self) -> str:
        return f"<mock process {self._pid} {eio.process.pp_args(self.args)}>"

    @property
    def pid(self) -> int:
        """The child's (made-up) process ID."""
        return self._pid

    async def await_(self) -> ExitStatus:
        """Wait for the child to end; its status."""
        return await self._status

    def signal(self, signum: int, /) -> None:
        """Stop the child with ``Signaled(signum)`` (nothing if it has ended)."""
        cc = self._cc
        if cc is not None and not self._status.is_resolved():
            cc.cancel(_Killed(signum))


class MockProcessManager:
    """Runs registered programs as fibers; see the module's docs."""

    def __init__(self, stdin: Source, stdout: Sink, stderr: Sink) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._stderr = stderr
        self._programs: dict[str, ChildFn] = {}
        self._pids = itertools.count(1000)

    def __repr__(self) -> str:
        return f"<mock process manager: {', '.join(sorted(self._programs)) or 'no programs'}>"

    def pipe(self, sw: Switch, /) -> tuple[MemPipeSource, MemPipeSink]:
        """An in-memory pipe (`eio.process.pipe`): a child writes to its sink, another reads its source.

        Unlike an OS pipe, an end given to a child is not copied: close the
        writing end when the writer is done (not right after spawning).
        """
        return mem_pipe(sw)

    def register(self, program: str, fn: ChildFn) -> None:
        """Make ``program`` run ``await fn(child)``."""
        self._programs[program] = fn

    def _find(self, program: str) -> ChildFn:
        fn = self._programs.get(program) or self._programs.get(program.rsplit("/", 1)[-1])
        if fn is None:
            raise ExecutableNotFound(program)
        return fn

    async def spawn(
        self,
        sw: Switch,
        args: Sequence[str],
        /,
        *,
        stdin: Source | None,
        stdout: Sink | None,
        stderr: Sink | None,
        cwd: eio.Path | None,
        env: Mapping[str, str] | None,
        executable: str | None,
    ) -> MockProcess:
        """Start the registered program ``args[0]`` (or ``executable``) as a fiber in ``sw``."""
        eio.fiber.check()
        fn = self._find(executable if executable is not None else args[0])
        if cwd is not None and (await cwd.stat()).kind != "directory":
            # As a real spawn: the directory must be reachable through its capability.
            raise eio.Io(errno.ENOTDIR, "Not a directory", str(cwd))
        proc = MockProcess(next(self._pids), list(args))
        child = Child(
            list(args),
            stdin if stdin is not None else self._stdin,
            stdout if stdout is not None else self._stdout,
            stderr if stderr is not None else self._stderr,
            cwd,
            env,
        )

        async def body() -> None:
            resolver = proc._resolver  # pyright: ignore[reportPrivateUsage] - one unit with MockProcess
            try:
                with eio.cancel.sub(name=f"child {proc.pid}") as cc:
                    proc._cc = cc  # pyright: ignore[reportPrivateUsage]
                    code = await coroutine_of(fn, (child,), "a mock program")
            except eio.Cancelled as ex:
                reason = ex.reason
                if isinstance(reason, _Killed):
                    resolver.resolve(Signaled(reason.signum))
                    return
                resolver.resolve(Signaled(_SIGKILL))
                raise
            except BaseException as ex:
                resolver.resolve_error(ex)
                raise
            finally:
                proc._cc = None  # pyright: ignore[reportPrivateUsage]
            resolver.resolve(Exited(0 if code is None else code))

        # A daemon: like a real child, it doesn't keep the switch open; when the
        # switch ends with the child still running, the child is killed.
        eio.fiber.fork_daemon(sw, body)
        return proc


def _scripted(exit_code: int, stdout: bytes, stderr: bytes) -> ChildFn:
    async def program(child: Child) -> int:
        if stdout:
            await eio.flow.write(child.stdout, [stdout])
        if stderr:
            await eio.flow.write(child.stderr, [stderr])
        return exit_code

    return program


def register(
    mgr: MockProcessManager,
    program: str,
    *,
    exit_code: int = 0,
    stdout: bytes = b"",
    stderr: bytes = b"",
    run: ChildFn | None = None,
) -> None:
    """Say what ``program`` does: write ``stdout``/``stderr`` and exit with ``exit_code``, or ``await run(child)``."""
    if not isinstance(mgr, MockProcessManager):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"register expects a mock environment's process_mgr, not {type(mgr).__name__}")
    if run is not None and (exit_code or stdout or stderr):
        raise ValueError("register: give either run, or exit_code/stdout/stderr, not both")
    mgr.register(program, run if run is not None else _scripted(exit_code, stdout, stderr))


if TYPE_CHECKING:
    _MGR_IS: type[eio.process.ProcessManager] = MockProcessManager
    _PROC_IS: type[eio.process.Process] = MockProcess
    _PIPE_IS: type[eio.process.PipeManager] = MockProcessManager
