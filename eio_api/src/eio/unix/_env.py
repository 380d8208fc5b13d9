"""`make_stdenv`: the whole standard environment for a backend whose poller has readiness waits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .._core._loop import Loop
from .._core._threads import ThreadDomainManager
from ..path import Path
from ..time import MonoClock, SystemClock
from ._flow import Debug, FdFlow, SecureRandom, stdio_flows
from ._fs import cwd_dir, fs_dir
from ._net import UnixNetwork
from ._process import UnixProcessManager

__all__ = ["UnixEnv", "make_stdenv"]


@dataclass(eq=False)
class UnixEnv:
    """What a backend's ``run`` passes to ``main``: all the authority the program has (an `eio.Stdenv`)."""

    stdin: FdFlow
    stdout: FdFlow
    stderr: FdFlow
    domain_mgr: ThreadDomainManager
    net: UnixNetwork
    process_mgr: UnixProcessManager
    cwd: Path
    fs: Path
    backend_id: str
    clock: SystemClock = field(default_factory=SystemClock)
    mono_clock: MonoClock = field(default_factory=MonoClock)
    secure_random: SecureRandom = field(default_factory=SecureRandom)
    debug: Debug = field(default_factory=Debug)


def make_stdenv(
    backend_id: str,
    new_domain_loop: Callable[[], Loop],
    *,
    net: UnixNetwork | None = None,
    cwd: Path | None = None,
    fs: Path | None = None,
) -> UnixEnv:
    """The standard environment for a backend named ``backend_id`` whose poller is a `eio.lowlevel.ReadinessPoller`.

    ``new_domain_loop()`` makes the loop of each new domain (run on its own
    OS thread). A backend that does some things its own way passes its own
    ``net`` (a `UnixNetwork` subclass) or directories (``cwd``, ``fs``).
    """
    stdin, stdout, stderr = stdio_flows()
    return UnixEnv(
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        domain_mgr=ThreadDomainManager(new_domain_loop),
        net=net if net is not None else UnixNetwork(),
        process_mgr=UnixProcessManager(),
        cwd=cwd if cwd is not None else Path(cwd_dir()),
        fs=fs if fs is not None else Path(fs_dir()),
        backend_id=backend_id,
    )
