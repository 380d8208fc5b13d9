"""The shared Unix layer (Eio's ``Eio_unix``): everything above the poller, for any backend.

Written against two primitives only, the readiness waits of the running
loop's poller (`eio.lowlevel.wait_readable` / `wait_writable` /
`notify_closing`, see `eio.lowlevel.ReadinessPoller`) and worker threads
(`eio.lowlevel.run_in_systhread`), so a backend needs no more than a poller
to offer the whole standard environment: `make_stdenv`.

- `Fd`: one owned descriptor, closed once, never while in use; closing wakes
  its waiters in every domain with `eio.ResourceClosed`.
- `UnixNetwork` and its sockets: try the call, wait for readiness on EAGAIN.
- `UnixProcessManager`: child processes, pipes, reaping (pidfd or a thread).
- `FdFlow` (standard streams, pipes), `SecureRandom`, `Debug`.
- `UnixDir` / `UnixFile`: files and directories on worker threads, sandboxed
  (`FifoFile`: a FIFO, on readiness waits; `opened_file` picks one for a new descriptor)
  by `resolve_beneath` (component by component, for systems without ``openat2``).
- `fd_of` / `fd_opt` (the descriptor of a resource), `import_flow` (a
  descriptor as a flow); `eio.unix.net`: socket pairs, adopting OS sockets,
  passing descriptors; `eio.unix.pty`: pseudo-terminals.

The module imports on every platform; what needs a Unix system call says so
when used elsewhere.
"""

from __future__ import annotations

from .._io_errors import ResourceClosed
from ._env import UnixEnv, make_stdenv
from ._fd import Fd
from ._flow import Debug, FdFlow, SecureRandom, stdio_flows
from ._fs import O_OPEN_NONBLOCK, FifoFile, UnixDir, UnixFile, cwd_dir, fs_dir, opened_file, stat_of
from ._net import (
    ACCEPT_BACKOFF,
    OUT_OF_RESOURCES,
    UnixDatagramSocket,
    UnixListeningSocket,
    UnixNetwork,
    UnixSocket,
    UnixStreamSocket,
    check_cancelled,
    new_socket,
)
from ._process import UnixProcess, UnixProcessManager, find_program
from ._resources import FdLike, HasFileno, fd_of, fd_opt, import_flow
from ._sandbox import MAX_SYMLINKS, escape_error, open_beneath, resolve_beneath

__all__ = [
    "ACCEPT_BACKOFF",
    "MAX_SYMLINKS",
    "OUT_OF_RESOURCES",
    "Debug",
    "Fd",
    "FdFlow",
    "FdLike",
    "HasFileno",
    "ResourceClosed",
    "SecureRandom",
    "UnixDatagramSocket",
    "UnixDir",
    "UnixEnv",
    "UnixFile",
    "FifoFile",
    "opened_file",
    "O_OPEN_NONBLOCK",
    "UnixListeningSocket",
    "UnixNetwork",
    "UnixProcess",
    "UnixProcessManager",
    "UnixSocket",
    "UnixStreamSocket",
    "check_cancelled",
    "cwd_dir",
    "escape_error",
    "fd_of",
    "fd_opt",
    "find_program",
    "fs_dir",
    "import_flow",
    "make_stdenv",
    "new_socket",
    "open_beneath",
    "resolve_beneath",
    "stat_of",
    "stdio_flows",
]
