"""The standard environment of the io_uring backend: every capability a program gets."""

from __future__ import annotations

from dataclasses import dataclass, field

import eio
from eio.lowlevel import ThreadDomainManager

from ._fd import FdFlow, SecureRandom
from ._fs import cwd_dir, fs_dir
from ._net import UringNetwork
from ._process import UringProcessManager
from ._run import new_loop


def _new_domain_loop() -> eio.lowlevel.Loop:
    return new_loop()[0]


class Debug:
    """Debugging helpers (Eio's ``env#debug``): `traceln`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<debug>"

    @staticmethod
    def traceln(*args: object) -> None:
        """`eio.traceln`."""
        eio.traceln(*args)


@dataclass(eq=False)
class UringEnv:
    """What `eio_backend_uring.run` passes to ``main``: all authority the program has."""

    stdin: FdFlow = field(default_factory=lambda: FdFlow(0, owned=False, label="stdin"))
    stdout: FdFlow = field(default_factory=lambda: FdFlow(1, owned=False, label="stdout"))
    stderr: FdFlow = field(default_factory=lambda: FdFlow(2, owned=False, label="stderr"))
    domain_mgr: ThreadDomainManager = field(default_factory=lambda: ThreadDomainManager(_new_domain_loop))
    clock: eio.time.SystemClock = field(default_factory=eio.time.SystemClock)
    mono_clock: eio.time.MonoClock = field(default_factory=eio.time.MonoClock)
    secure_random: SecureRandom = field(default_factory=SecureRandom)
    debug: Debug = field(default_factory=Debug)
    process_mgr: UringProcessManager = field(default_factory=UringProcessManager)
    net: UringNetwork = field(default_factory=UringNetwork)
    cwd: eio.Path = field(default_factory=lambda: eio.Path(cwd_dir()))
    fs: eio.Path = field(default_factory=lambda: eio.Path(fs_dir()))
    backend_id: str = "uring"
