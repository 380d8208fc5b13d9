"""Eio for Python: structured concurrency and capability-passing IO.

Fibers run on a deterministic scheduler shared by every backend; all IO authority comes from the ``env`` given to
``main`` by a backend (see `eio_main`).
"""

from . import buf_read, buf_write, cancel, domain_manager, fiber, file, flow, fs, lowlevel, net, process, time, tls, trace
from ._core._cancel import Cancelled
from ._core._condition import Condition
from ._core._executor_pool import ExecutorPool
from ._core._executors import await_future, run_in_executor
from ._core._lazy import Lazy
from ._core._loop import Deadlock, NoLoopRunning
from ._core._mutex import Mutex, MutexPoisoned
from ._core._pool import Pool
from ._core._promise import AlreadyResolved, Promise, Resolver
from ._core._rwlock import RwLock
from ._core._semaphore import Semaphore
from ._core._stream import Stream, StreamClosed
from ._core._switch import ReleaseHook, Switch, SwitchFinished
from ._core._trace import traceln, with_trace_prefix, with_traceln
from ._flow._errors import EndOfFile
from ._io_errors import Io, ResourceClosed
from .buf_read import BufRead
from .buf_write import BufWrite
from .domain_manager import DomainManager
from .path import Path
from .stdenv import Stdenv

__all__ = [
    "AlreadyResolved",
    "BufRead",
    "BufWrite",
    "Cancelled",
    "Condition",
    "Deadlock",
    "DomainManager",
    "EndOfFile",
    "ExecutorPool",
    "Io",
    "Lazy",
    "Mutex",
    "MutexPoisoned",
    "NoLoopRunning",
    "Path",
    "Pool",
    "Promise",
    "ReleaseHook",
    "RwLock",
    "Resolver",
    "ResourceClosed",
    "Semaphore",
    "Stdenv",
    "Stream",
    "StreamClosed",
    "Switch",
    "SwitchFinished",
    "await_future",
    "buf_read",
    "buf_write",
    "cancel",
    "domain_manager",
    "fiber",
    "file",
    "flow",
    "fs",
    "lowlevel",
    "net",
    "process",
    "run_in_executor",
    "time",
    "tls",
    "trace",
    "traceln",
    "with_trace_prefix",
    "with_traceln",
]
