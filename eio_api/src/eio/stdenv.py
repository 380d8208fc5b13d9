"""The standard environment (Eio's ``Eio.Stdenv``): everything a program may touch.

A backend's ``run(main)`` calls ``main(env)``; ``env`` holds every capability
the program gets, and there is no other way to reach the outside world. A
function that needs less should declare less: its own Protocol with only the
attributes it uses (just ``net`` and ``clock``, say), which any ``Stdenv``
satisfies too.

Each attribute is a read-only property here, so a backend's environment may
store a more precise type (its own clock class, its own flow class).
"""

from __future__ import annotations

from typing import Protocol

from ._flow._types import Sink, Source
from ._net.protocols import Network
from .domain_manager import DomainManager
from .path import Path
from .process import ProcessManager
from .time import Clock

__all__ = ["Debug", "Stdenv"]


class Debug(Protocol):
    """Debugging helpers (Eio's ``Stdenv.debug``)."""

    def traceln(self, *args: object) -> None:
        """Write one trace line (as `eio.traceln`)."""
        ...


class Stdenv(Protocol):
    """The environment a backend passes to ``main``."""

    @property
    def stdin(self) -> Source:
        """The process's standard input."""
        ...

    @property
    def stdout(self) -> Sink:
        """The process's standard output."""
        ...

    @property
    def stderr(self) -> Sink:
        """The process's standard error."""
        ...

    @property
    def cwd(self) -> Path:
        """The current directory; paths through it can't escape it."""
        ...

    @property
    def fs(self) -> Path:
        """The whole file system: absolute paths, and relative ones from the current directory."""
        ...

    @property
    def net(self) -> Network:
        """The network: listening, connecting, datagrams, name lookups."""
        ...

    @property
    def process_mgr(self) -> ProcessManager:
        """Starts child processes."""
        ...

    @property
    def domain_mgr(self) -> DomainManager:
        """Runs functions in new domains (OS threads, each with its own loop)."""
        ...

    @property
    def clock(self) -> Clock:
        """The wall clock: seconds since the Unix epoch."""
        ...

    @property
    def mono_clock(self) -> Clock:
        """A monotonic clock (arbitrary origin), for timeouts and intervals."""
        ...

    @property
    def secure_random(self) -> Source:
        """An endless source of cryptographically secure random bytes."""
        ...

    @property
    def debug(self) -> Debug:
        """Debugging helpers."""
        ...

    @property
    def backend_id(self) -> str:
        """The name of the backend running the program (``"uring"``, ``"trio"``...)."""
        ...
