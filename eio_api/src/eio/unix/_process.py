"""Child processes over readiness waits: `UnixProcessManager` (``env.process_mgr``).

Starting a child uses `subprocess.Popen` with descriptors only (no pipes of
its own): CPython's fork/exec helper is safe in a program with threads, can
set the child's directory, and with ``close_fds`` the child gets nothing but
its three standard streams. Starting is synchronous, as in Eio: it lasts
until the child has called ``exec``. A program name without ``/`` is
searched for in ``PATH`` (the child's, if ``env`` is given).

Standard streams that are not descriptors are fed and drained through
non-blocking pipes by fibers in the child's switch.

The exit is watched by a daemon fiber in the child's switch. On Linux a
pidfd becomes readable when the child exits: the fiber waits for that
(`eio.lowlevel.wait_readable`) and reaps with ``waitid(P_PIDFD)``, never a
reused PID. Elsewhere a worker thread blocks in ``waitpid`` (counted in
``loop.pending_external``, so the loop knows a wake-up will come). If the
switch finishes first, the fiber is cancelled: it sends ``SIGKILL`` and,
protected from cancellation, waits for the exit and reaps.

The child's directory is opened through the ``cwd`` path's directory
capability (so a sandbox applies); the child enters it by
``/proc/self/fd/N`` where that exists, else by ``fchdir`` before ``exec``.
"""

from __future__ import annotations

import errno
import os
import signal as _signal
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Final, cast

if sys.platform != "win32":
    import fcntl
    import termios

from .. import flow as _flow
from .._core._cancel import Cancelled
from .._core._loop import InternalThread, current_loop
from .._core._promise import Promise, Resolver
from .._core._readiness import notify_closing, wait_readable
from .._core._scopes import protect
from .._core._switch import Switch
from .._io_errors import ExecutableNotFound, Exited, ExitStatus, Io, NotNative, ResourceClosed, Signaled, from_oserror
from ..fiber import fork, fork_daemon
from ..file import Ro
from ..path import Path
from ..process import (
    ArgumentListTooLong,
    ExecutableFormatError,
    FdProcessManager,
    PermissionDenied,
    PipeManager,
    Process,
    ProcessManager,
    StdinNotRead,
)
from ._flow import FdFlow

__all__ = ["UnixProcess", "UnixProcessManager", "find_program"]

_PROC_FD = os.path.isdir("/proc/self/fd")
_SIGKILL: Final[int] = getattr(_signal, "SIGKILL", 9)  # Windows has none: there `os.kill` terminates whatever the number


def _status_of_waitpid(status: int) -> ExitStatus:
    if sys.platform == "win32":
        return Exited(status >> 8)
    if os.WIFSIGNALED(status):
        return Signaled(os.WTERMSIG(status))
    return Exited(os.waitstatus_to_exitcode(status))


class UnixProcess:
    """A child process started by `UnixProcessManager` (an `eio.process.Process`)."""

    __slots__ = ("pid", "_pidfd", "_popen", "_exit", "_set_exit", "_copies", "_args0", "_reaped")

    pid: int

    def __init__(self, popen: subprocess.Popen[bytes], pidfd: int, args0: str) -> None:
        self.pid = popen.pid
        self._popen: subprocess.Popen[bytes] | None = popen
        self._pidfd = pidfd  # -1 without pidfds
        self._reaped = False
        self._exit: Promise[ExitStatus] = Promise()
        self._set_exit = Resolver(self._exit)
        # Resolved when each fiber copying a standard stream has finished.
        self._copies: list[Promise[None]] = []
        self._args0 = args0

    def __repr__(self) -> str:
        state = f" {self._exit.peek()}" if self._exit.is_resolved() else ""
        return f"<process {self.pid} {self._args0!r}{state}>"

    def copying(self) -> Resolver[None]:
        """A resolver to resolve when a fiber copying one of the child's streams ends; `await_` waits for it."""
        done: Promise[None] = Promise()
        self._copies.append(done)
        return Resolver(done)

    async def await_(self) -> ExitStatus:
        """Wait for the exit and for the copying of the standard streams; the exit status.

        Raises `eio.process.StdinNotRead` (with ``status`` set) if the child
        stopped reading the input fed to it before its end.
        """
        status = await self._exit
        error: StdinNotRead | None = None
        for done in self._copies:
            try:
                await done
            except StdinNotRead as ex:
                error = ex
        if error is not None:
            error.status = status
            raise error
        return status

    def signal(self, signum: int, /) -> None:
        """Send ``signum`` to the child; nothing once it has been reaped."""
        if self._reaped:
            return
        try:
            if sys.platform == "linux" and self._pidfd >= 0:
                _signal.pidfd_send_signal(self._pidfd, signum)
            else:
                os.kill(self.pid, signum)
        except ProcessLookupError:
            pass  # exited, not yet reaped: nothing to signal
        except OSError as ex:
            if ex.errno == errno.EINVAL:
                raise ValueError(f"invalid signal number {signum}") from None
            raise from_oserror(ex, f"signalling process {self.pid}") from ex

    def _finish(self, status: ExitStatus | None, error: BaseException | None) -> None:
        self._reaped = True
        popen, self._popen = self._popen, None
        if popen is not None:
            # Popen warns when collected with no exit code: give it one.
            popen.returncode = -1 if status is None else status.code if isinstance(status, Exited) else -status.signal
        if status is None:
            assert error is not None
            self._set_exit.resolve_error(error)
        else:
            self._set_exit.resolve(status)

    # -- Linux: pidfd ---------------------------------------------------------------------

    def _reaped_now(self) -> bool:
        """Whether the child has exited (a readiness wait may end on a stale event: check before reaping)."""
        assert sys.platform == "linux"
        try:
            return os.waitid(os.P_PIDFD, self._pidfd, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None
        except OSError:
            return True  # the reaping reports it

    def _reap_pidfd(self) -> None:
        assert sys.platform == "linux"  # only there are there pidfds
        fd, self._pidfd = self._pidfd, -1
        try:
            res = os.waitid(os.P_PIDFD, fd, os.WEXITED)
        except OSError as ex:
            # Someone else reaped it (a waitpid(-1) elsewhere): the status is lost.
            self._finish(None, from_oserror(ex, f"waiting for process {self.pid}"))
            return
        finally:
            # The contract: a poller may still hold the descriptor (a registration kept for reuse).
            notify_closing(fd, ResourceClosed(f"the pidfd of process {self.pid} was closed"))
            os.close(fd)
        assert res is not None  # without WNOHANG, waitid returns a result or raises
        if res.si_code == os.CLD_EXITED:
            self._finish(Exited(res.si_status), None)
        else:
            self._finish(Signaled(res.si_status), None)

    async def _watch_pidfd(self) -> None:
        try:
            await wait_readable(self._pidfd)
            while not self._reaped_now():
                await wait_readable(self._pidfd)
        except Cancelled:
            with protect():
                self.signal(_SIGKILL)
                while not self._reaped_now():
                    await wait_readable(self._pidfd)
        except BaseException:
            # Can't watch it: make sure it is gone and reaped, then report.
            self.signal(_SIGKILL)
            self._reap_pidfd()
            raise
        self._reap_pidfd()

    # -- elsewhere: a waiter thread ----------------------------------------------------

    async def _watch_thread(self) -> None:
        loop = current_loop()
        reaped: Promise[int] = Promise()
        resolver = Resolver(reaped)
        pid = self.pid
        popen = self._popen

        def job() -> None:
            try:
                if sys.platform == "win32":
                    # Windows' waitpid takes a process handle, not a PID: Popen holds the handle.
                    assert popen is not None
                    status = popen.wait() << 8  # as waitpid's status there
                else:
                    _pid, status = os.waitpid(pid, 0)
            except OSError as ex:
                error = ex
                outcome: Callable[[], None] = lambda: resolver.resolve_error(error)  # noqa: E731
            else:
                outcome = lambda: resolver.resolve(status)  # noqa: E731

            def done() -> None:
                loop.pending_external -= 1
                outcome()

            loop.call_soon_threadsafe(done)

        loop.pending_external += 1
        InternalThread(target=job, name=f"eio-waitpid-{pid}", daemon=True).start()
        try:
            try:
                status = await reaped
            except Cancelled:
                with protect():
                    self.signal(_SIGKILL)
                    status = await reaped
        except OSError as ex:
            self._finish(None, from_oserror(ex, f"waiting for process {self.pid}"))
            return
        self._finish(_status_of_waitpid(status), None)

    async def watch(self) -> None:
        """The daemon fiber: reap the child when it exits; kill it first if cancelled (its switch ended)."""
        if self._pidfd >= 0:
            await self._watch_pidfd()
        else:
            await self._watch_thread()


class _StdinClosed(Exception):
    """The child closed its end of the stdin pipe (EPIPE)."""


class _ChildStdin:
    """The parent's end of a child's stdin pipe, as a sink that tells the child going away apart."""

    __slots__ = ("pipe",)

    def __init__(self, pipe: FdFlow) -> None:
        self.pipe = pipe

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        try:
            return await self.pipe.single_write(bufs)
        except BrokenPipeError:
            raise _StdinClosed() from None
        except Io as ex:
            if ex.errno == errno.EPIPE or isinstance(ex.__cause__, BrokenPipeError):
                raise _StdinClosed() from None
            ex.add_note("writing to a child's stdin")
            raise


async def _feed_stdin(src: _flow.Source, fd: int, done: Resolver[None], program: str, pid: int) -> None:
    pipe = FdFlow(fd, owned=True, label="stdin pipe", nonblocking=True)
    try:
        await _flow.copy(src, _ChildStdin(pipe))
    except _StdinClosed:
        # The child stopped reading with input left: `await_` reports it after the exit.
        await pipe.close()
        done.resolve_error(StdinNotRead(program, pid))
        return
    except BaseException:
        await pipe.close()
        done.resolve(None)
        raise
    await pipe.close()
    done.resolve(None)


async def _drain(dst: _flow.Sink, fd: int, done: Resolver[None], label: str) -> None:
    pipe = FdFlow(fd, owned=True, label=label, nonblocking=True)
    try:
        await _flow.copy(pipe, dst)
    finally:
        await pipe.close()
        done.resolve(None)


def _fd_of(flow: object) -> int | None:
    fileno = getattr(flow, "fileno", None)
    if fileno is None:
        return None
    fd = fileno()
    return fd if isinstance(fd, int) else None


def find_program(name: str, env: Mapping[str, str] | None) -> str:
    """The path to execute for ``name``: ``name`` itself if it has a ``/``, else a search of ``PATH``.

    Raises `eio.process.ExecutableNotFound` if no executable file has that name.
    """
    if "/" in name or (os.sep != "/" and os.sep in name):
        return name
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    suffixes = [""]
    if sys.platform == "win32":  # "python" is python.exe there (PATHEXT lists what runs)
        suffixes += os.environ.get("PATHEXT", ".COM;.EXE;.BAT;.CMD").split(";")
    for d in path.split(os.pathsep):
        for suffix in suffixes:
            candidate = os.path.join(d or ".", name + suffix)
            # As execvp, skip what exists but can't be run.
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return os.path.abspath(candidate)
    raise ExecutableNotFound(name)


def _spawn_error(ex: OSError, program: str) -> Io:
    code = ex.errno
    if code == errno.ENOENT:
        err: Io = ExecutableNotFound(program)
    elif code == errno.EACCES:
        err = PermissionDenied(program)
    elif code == errno.ENOEXEC:
        err = ExecutableFormatError(program)
    elif code == errno.E2BIG:
        err = ArgumentListTooLong()
    else:
        return from_oserror(ex, f"starting {program}")
    err.__cause__ = ex
    err.__suppress_context__ = True
    return err


async def _open_cwd(cwd: Path) -> int:
    """A descriptor of the directory ``cwd``, opened through its capability (the caller closes it)."""
    try:
        f: Ro = await cwd.dir.open_in(None, cwd.path)
        try:
            fd = _fd_of(f)
            if fd is None:
                raise NotNative(f"{cwd} is not a directory of the operating system")
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                raise from_oserror(NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(cwd)))
            return os.dup(fd)  # close-on-exec, as every descriptor Python makes
        finally:
            await f.close()
    except Io as ex:
        ex.add_note(f"opening {cwd} as a child's directory")
        raise


async def _native_cwd(cwd: Path) -> str:
    """The OS path of the directory ``cwd``, checked by its capability (Windows' directories have ``native_checked``)."""
    checked = getattr(cwd.dir, "native_checked", None)
    if checked is None:
        raise NotNative(f"{cwd}: a child's directory must be a directory of the operating system")
    try:
        path = cast(str, await checked(cwd.path))
        if not os.path.isdir(path):
            raise from_oserror(NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(cwd)))
        return path
    except Io as ex:
        ex.add_note(f"opening {cwd} as a child's directory")
        raise


def _pipe() -> tuple[int, int]:
    return os.pipe()  # Python makes both ends close-on-exec


def _child_stream(flow: object, child_reads: bool, child_fds: list[int], parent_fds: list[int]) -> tuple[int | None, bool]:
    """The descriptor a child gets for one standard stream, and whether a fiber must pump ``flow`` through a pipe.

    A flow with a descriptor is handed over as it is; another flow gets a new
    pipe (the child's end is recorded in ``child_fds``, ours in ``parent_fds``);
    None leaves the stream to the default.
    """
    fd = _fd_of(flow)
    if flow is None or fd is not None:
        return fd, False
    r, w = _pipe()
    child, parent = (r, w) if child_reads else (w, r)
    child_fds.append(child)
    parent_fds.append(parent)
    return child, True


def _take_controlling_tty(chdir: Callable[[], None] | None = None) -> None:
    """In the child, after ``setsid`` and with the terminal as its stdin: make it the controlling terminal.

    (Runs between fork and exec: it imports nothing, the modules were loaded with this one.)
    ``chdir`` first, if given: the child's change of directory when it needs one here.
    """
    if chdir is not None:
        chdir()
    if sys.platform != "win32":
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class UnixProcessManager:
    """The process manager over readiness waits (``env.process_mgr``): an `eio.process.ProcessManager`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<process_mgr>"

    def pipe(self, sw: Switch, /) -> tuple[FdFlow, FdFlow]:
        """An OS pipe ``(read end, write end)``, both closed when ``sw`` finishes (see `eio.process.pipe`).

        The descriptors stay in blocking mode, as a child given one expects;
        the flows wait for readiness before each call, and a write is cut to
        what a pipe takes at once (``PIPE_BUF``).
        """
        sw.check()
        try:
            r, w = _pipe()
        except OSError as ex:
            raise from_oserror(ex, "creating a pipe") from ex
        src = FdFlow(r, owned=True, label="pipe (read end)")
        sink = FdFlow(w, owned=True, label="pipe (write end)")
        try:
            src.attach(sw)
        except BaseException:
            os.close(w)
            raise
        sink.attach(sw)
        return src, sink

    async def spawn(
        self,
        sw: Switch,
        args: Sequence[str],
        /,
        *,
        stdin: _flow.Source | None = None,
        stdout: _flow.Sink | None = None,
        stderr: _flow.Sink | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        executable: str | None = None,
    ) -> UnixProcess:
        """Start ``args`` in a child attached to ``sw`` (see `eio.process.spawn`)."""
        return await self.spawn_unix(
            sw, args, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env, executable=executable, pass_fds=()
        )

    async def spawn_unix(
        self,
        sw: Switch,
        args: Sequence[str],
        /,
        *,
        stdin: _flow.Source | None,
        stdout: _flow.Sink | None,
        stderr: _flow.Sink | None,
        cwd: Path | None,
        env: Mapping[str, str] | None,
        executable: str | None,
        pass_fds: Sequence[int],
        login_tty: int | None = None,
    ) -> UnixProcess:
        """`spawn`, the child also inheriting the descriptors ``pass_fds``, at the same numbers (Eio's ``spawn_unix``).

        ``login_tty``: a terminal's descriptor, made the child's standard
        streams and, in a new session, its controlling terminal (``setsid``,
        then ``TIOCSCTTY`` on it in the child before it runs the program).
        """
        sw.check()
        if login_tty is not None and sys.platform == "win32":
            raise NotNative("login_tty: Windows has no terminals to give a child")
        if executable is not None:
            # A path, as Eio's: never searched for in PATH (Popen would).
            program = executable if "/" in executable else "./" + executable
        else:
            program = find_program(args[0], env)
        # Descriptors to close once the child has them, and parent ends of pipes to
        # close if starting fails (else the copying fibers close them).
        child_fds: list[int] = []
        parent_fds: list[int] = []
        try:
            cwd_arg: str | None = None
            preexec: Callable[[], None] | None = None
            if cwd is not None and sys.platform == "win32":
                cwd_arg = await _native_cwd(cwd)  # no directory descriptors there: a path, checked by its capability
            elif cwd is not None:
                dir_fd = await _open_cwd(cwd)
                child_fds.append(dir_fd)
                if _PROC_FD:
                    cwd_arg = f"/proc/self/fd/{dir_fd}"
                elif sys.platform != "win32":
                    preexec = partial(os.fchdir, dir_fd)
                else:
                    raise NotNative(f"{cwd}: a child's directory given by a descriptor needs a Unix system")
                sw.check()  # it may have been cancelled while opening
            if login_tty is not None:
                stdin_fd = stdout_fd = stderr_fd = login_tty
                feed = drain_out = drain_err = False
                preexec = partial(_take_controlling_tty, preexec)
            else:
                stdin_fd, feed = _child_stream(stdin, True, child_fds, parent_fds)
                stdout_fd, drain_out = _child_stream(stdout, False, child_fds, parent_fds)
                stderr_fd, drain_err = _child_stream(stderr, False, child_fds, parent_fds)
            try:
                popen = subprocess.Popen(
                    list(args),
                    executable=program,
                    stdin=stdin_fd,
                    stdout=stdout_fd,
                    stderr=stderr_fd,
                    cwd=cwd_arg,
                    env=env,
                    close_fds=True,
                    pass_fds=tuple(pass_fds),
                    preexec_fn=preexec,
                    start_new_session=login_tty is not None,
                )
            except OSError as ex:
                if cwd_arg is not None and ex.filename == cwd_arg:
                    err = from_oserror(ex, f"changing a child's directory to {cwd}")
                    err.filename = str(cwd)
                    raise err from ex
                raise _spawn_error(ex, executable or program) from ex
            pidfd = -1
            if sys.platform == "linux":
                try:
                    pidfd = os.pidfd_open(popen.pid)
                except BaseException:
                    popen.kill()
                    popen.wait()
                    raise
        except BaseException:
            for fd in parent_fds:
                os.close(fd)
            raise
        finally:
            for fd in child_fds:
                os.close(fd)
        proc = UnixProcess(popen, pidfd, args[0])
        fork_daemon(sw, proc.watch)
        # The parent ends now belong to the copying fibers, which close them.
        ends = iter(parent_fds)
        if feed:
            fork(sw, _feed_stdin, cast(_flow.Source, stdin), next(ends), proc.copying(), args[0], proc.pid)
        if drain_out:
            fork(sw, _drain, cast(_flow.Sink, stdout), next(ends), proc.copying(), "stdout pipe")
        if drain_err:
            fork(sw, _drain, cast(_flow.Sink, stderr), next(ends), proc.copying(), "stderr pipe")
        return proc


if TYPE_CHECKING:
    # Makes pyright check that the classes implement the Protocols.
    _MGR_IS: type[ProcessManager] = UnixProcessManager
    _PROC_IS: type[Process] = UnixProcess
    _PIPE_IS: type[PipeManager] = UnixProcessManager
    _UNIX_IS: type[FdProcessManager] = UnixProcessManager
