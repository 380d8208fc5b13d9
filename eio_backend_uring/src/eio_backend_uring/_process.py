"""Child processes on the io_uring backend: ``env.process_mgr``.

Starting a child uses `subprocess.Popen` with descriptors only (no pipes of
its own, no ``preexec_fn``): CPython's fork/exec helper is written to be safe
in a program with threads (it uses ``vfork`` where it can and only
async-signal-safe calls in the child), it can set the child's directory,
and with ``close_fds`` the child gets nothing but its three standard
streams. ``os.posix_spawn`` can't change directory before Python 3.13.
Starting is synchronous, as in Eio: it lasts until the child has called
``exec``.

The exit is then watched without a thread and without ``SIGCHLD``: a pidfd
(``pidfd_open``) becomes readable when the child exits, and a POLL_ADD on it
in the ring wakes a daemon fiber in the child's switch, which reaps the child
with ``waitid(P_PIDFD)`` (never a reused PID) and resolves its exit status.
If the switch finishes (or fails) first, that fiber is cancelled: it sends
``SIGKILL`` and, protected from cancellation, waits for the exit and reaps.

The child's directory is opened through the ``cwd`` path's directory
capability (so the sandbox applies, and ``..`` out of ``env.cwd`` is
refused); the child enters it by ``/proc/self/fd/N``, which names that open
descriptor in the child until it calls ``exec``.
"""

from __future__ import annotations

import errno
import os
import select
import signal as _signal
import stat
import subprocess
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

import eio
from eio._io_errors import from_oserror
from eio.file import Ro
from eio.process import (
    ArgumentListTooLong,
    ExecutableFormatError,
    ExecutableNotFound,
    ExitStatus,
    Exited,
    PermissionDenied,
    Signaled,
)

from ._fd import FdFlow, uring, write_fd
from ._sched import check_cancelled

__all__ = ["UringProcess", "UringProcessManager"]

async def _await_exit(pidfd: int) -> None:
    """Wait until the process ``pidfd`` refers to has exited (its pidfd is readable)."""
    check_cancelled()
    u = uring()
    ud = u.next_user_data()
    u.ring.prep_poll_add(ud, pidfd, select.POLLIN)
    res = await u.await_op(ud)
    if res < 0:
        raise OSError(-res, f"poll on a pidfd: {os.strerror(-res)}")


class UringProcess:
    """A child process started by `UringProcessManager` (an `eio.process.Process`)."""

    __slots__ = ("pid", "_pidfd", "_popen", "_exit", "_set_exit", "_copies", "_args0")

    pid: int

    def __init__(self, popen: subprocess.Popen[bytes], pidfd: int, args0: str) -> None:
        self.pid = popen.pid
        self._popen: subprocess.Popen[bytes] | None = popen
        self._pidfd = pidfd
        self._exit: eio.Promise[ExitStatus] = eio.Promise()
        self._set_exit = eio.Resolver(self._exit)
        # Resolved when each fiber copying a standard stream has finished.
        self._copies: list[eio.Promise[None]] = []
        self._args0 = args0

    def __repr__(self) -> str:
        state = f" {self._exit.peek()}" if self._exit.is_resolved() else ""
        return f"<process {self.pid} {self._args0!r}{state}>"

    def copying(self) -> eio.Resolver[None]:
        """A resolver to resolve when a fiber copying one of the child's streams ends; `await_` waits for it."""
        done: eio.Promise[None] = eio.Promise()
        resolver = eio.Resolver(done)
        self._copies.append(done)
        return resolver

    async def await_(self) -> ExitStatus:
        """Wait for the exit and for the copying of the standard streams; the exit status."""
        status = await self._exit
        for done in self._copies:
            await done
        return status

    def signal(self, signum: int, /) -> None:
        """Send ``signum`` to the child; nothing once it has been reaped."""
        fd = self._pidfd
        if fd < 0:
            return
        try:
            _signal.pidfd_send_signal(fd, signum)
        except ProcessLookupError:
            pass  # exited, not yet reaped: nothing to signal
        except OSError as ex:
            if ex.errno == errno.EINVAL:
                raise ValueError(f"invalid signal number {signum}") from None
            raise from_oserror(ex, f"signalling process {self.pid}") from ex

    def _reap(self) -> None:
        fd = self._pidfd
        popen, self._popen = self._popen, None
        try:
            res = os.waitid(os.P_PIDFD, fd, os.WEXITED)
        except OSError as ex:
            # Someone else reaped it (a waitpid(-1) elsewhere): the status is lost.
            if popen is not None:
                popen.returncode = -1  # stops Popen warning that it still runs
            self._set_exit.resolve_error(from_oserror(ex, f"waiting for process {self.pid}"))
            return
        finally:
            self._pidfd = -1
            os.close(fd)
        assert res is not None  # without WNOHANG, waitid returns a result or raises
        if res.si_code == os.CLD_EXITED:
            status: ExitStatus = Exited(res.si_status)
            code = res.si_status
        else:
            status = Signaled(res.si_status)
            code = -res.si_status
        if popen is not None:
            # Popen warns when collected with no exit code: it has one now.
            popen.returncode = code
        self._set_exit.resolve(status)

    async def watch(self) -> None:
        """The daemon fiber: reap the child when it exits; kill it first if cancelled (its switch ended)."""
        try:
            await _await_exit(self._pidfd)
        except eio.Cancelled:
            with eio.cancel.protect():
                self.signal(_signal.SIGKILL)
                await _await_exit(self._pidfd)
        except BaseException:
            # Can't watch it: make sure it is gone and reaped, then report.
            self.signal(_signal.SIGKILL)
            self._reap()
            raise
        self._reap()


class _StdinClosed(Exception):
    """The child closed its end of the stdin pipe (EPIPE)."""


class _ChildStdin:
    """The parent's end of a child's stdin pipe, as a sink that tells the child going away apart."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        try:
            return await write_fd(self.fd, bufs)
        except OSError as ex:
            if ex.errno == errno.EPIPE:
                raise _StdinClosed() from None
            raise from_oserror(ex, "writing to a child's stdin") from ex


async def _feed_stdin(src: eio.flow.Source, fd: int, done: eio.Resolver[None]) -> None:
    try:
        await eio.flow.copy(src, _ChildStdin(fd))
    except _StdinClosed:
        pass  # the child stopped reading: the rest is not wanted
    finally:
        os.close(fd)
        done.resolve(None)


async def _drain(dst: eio.flow.Sink, fd: int, done: eio.Resolver[None], label: str) -> None:
    pipe = FdFlow(fd, owned=True, label=label)
    try:
        await eio.flow.copy(pipe, dst)
    finally:
        await pipe.close()
        done.resolve(None)


def _fd_of(flow: object) -> int | None:
    fileno = getattr(flow, "fileno", None)
    if fileno is None:
        return None
    fd = fileno()
    return fd if isinstance(fd, int) else None


def _find_program(name: str, env: Mapping[str, str] | None) -> str:
    """The path to execute for ``args[0]``: ``name`` itself if it has a ``/``, else a search of PATH."""
    if "/" in name:
        return name
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    for d in path.split(os.pathsep):
        candidate = os.path.join(d or ".", name)
        # As execvp, skip what exists but can't be run.
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise ExecutableNotFound(name)


def _spawn_error(ex: OSError, program: str) -> eio.Io:
    code = ex.errno
    if code == errno.ENOENT:
        err: eio.Io = ExecutableNotFound(program)
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


async def _open_cwd(cwd: eio.Path) -> int:
    """A descriptor of the directory ``cwd``, opened through its capability (the caller closes it)."""
    try:
        f: Ro = await cwd.dir.open_in(None, cwd.path)
        try:
            fd = _fd_of(f)
            if fd is None:
                raise eio.fs.NotNative(f"{cwd} is not a directory of the operating system")
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                raise from_oserror(NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(cwd)))
            return os.dup(fd)  # close-on-exec, as every descriptor Python makes
        finally:
            await f.close()
    except eio.Io as ex:
        ex.add_note(f"opening {cwd} as a child's directory")
        raise


class UringProcessManager:
    """The io_uring backend's process manager (``env.process_mgr``): an `eio.process.ProcessManager`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<process_mgr>"

    async def spawn(
        self,
        sw: eio.Switch,
        args: Sequence[str],
        /,
        *,
        stdin: eio.flow.Source | None = None,
        stdout: eio.flow.Sink | None = None,
        stderr: eio.flow.Sink | None = None,
        cwd: eio.Path | None = None,
        env: Mapping[str, str] | None = None,
        executable: str | None = None,
    ) -> UringProcess:
        """Start ``args`` in a child attached to ``sw`` (see `eio.process.spawn`)."""
        sw.check()
        if executable is not None:
            # A path, as Eio's: never searched for in PATH (Popen would).
            program = executable if "/" in executable else "./" + executable
        else:
            program = _find_program(args[0], env)
        # Descriptors to close once the child has them, and parent ends of pipes to
        # close if starting fails (else the copying fibers close them).
        child_fds: list[int] = []
        parent_fds: list[int] = []
        try:
            cwd_arg: str | None = None
            if cwd is not None:
                dir_fd = await _open_cwd(cwd)
                child_fds.append(dir_fd)
                cwd_arg = f"/proc/self/fd/{dir_fd}"
                sw.check()  # it may have been cancelled while opening
            stdin_fd = _fd_of(stdin)
            feed = stdin is not None and stdin_fd is None
            if feed:
                r, w = os.pipe2(os.O_CLOEXEC)
                child_fds.append(r)
                parent_fds.append(w)
                stdin_fd = r
            stdout_fd = _fd_of(stdout)
            drain_out = stdout is not None and stdout_fd is None
            if drain_out:
                r, w = os.pipe2(os.O_CLOEXEC)
                child_fds.append(w)
                parent_fds.append(r)
                stdout_fd = w
            stderr_fd = _fd_of(stderr)
            drain_err = stderr is not None and stderr_fd is None
            if drain_err:
                r, w = os.pipe2(os.O_CLOEXEC)
                child_fds.append(w)
                parent_fds.append(r)
                stderr_fd = w
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
                )
            except OSError as ex:
                if cwd is not None and ex.filename == cwd_arg:
                    err = from_oserror(ex, f"changing a child's directory to {cwd}")
                    err.filename = str(cwd)
                    raise err from ex
                raise _spawn_error(ex, executable or program) from ex
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
        proc = UringProcess(popen, pidfd, args[0])
        eio.fiber.fork_daemon(sw, proc.watch)
        # The parent ends now belong to the copying fibers, which close them.
        ends = iter(parent_fds)
        if feed:
            eio.fiber.fork(sw, _feed_stdin, cast(eio.flow.Source, stdin), next(ends), proc.copying())
        if drain_out:
            eio.fiber.fork(sw, _drain, cast(eio.flow.Sink, stdout), next(ends), proc.copying(), "stdout pipe")
        if drain_err:
            eio.fiber.fork(sw, _drain, cast(eio.flow.Sink, stderr), next(ends), proc.copying(), "stderr pipe")
        return proc


if TYPE_CHECKING:
    # Makes pyright check that the classes implement the Protocols.
    _MGR_IS: type[eio.process.ProcessManager] = UringProcessManager
    _PROC_IS: type[eio.process.Process] = UringProcess
