"""The descriptor behind an eio resource (`fd_of`, `fd_opt`) and a descriptor as a flow (`import_flow`).

Eio's ``Eio_unix.Resource.fd`` / ``fd_opt`` and ``Eio_unix.import_*``: a
resource of an operating-system backend (a socket, a pipe end, an open file,
a standard stream, an `eio.unix.Fd`) has a descriptor, found through its
``fileno()``; one of the mock's in-memory environment has none.
"""

from __future__ import annotations

import os
from typing import Protocol

from .._core._switch import Switch
from ..process import PipeSink, PipeSource
from ._fd import Fd
from ._flow import FdFlow

__all__ = ["FdLike", "HasFileno", "fd_of", "fd_opt", "import_flow"]


class HasFileno(Protocol):
    """A resource backed by an OS descriptor."""

    def fileno(self) -> int:
        """The descriptor."""
        ...


FdLike = int | HasFileno | PipeSource | PipeSink
"""A descriptor number, or a resource that has one (an `eio.process.pipe` end is one on the OS backends: checked when used)."""


def fd_opt(resource: object) -> int | None:
    """The OS descriptor of ``resource`` (its ``fileno()``), or None if it has none (an in-memory flow)."""
    fileno = getattr(resource, "fileno", None)
    if fileno is None:
        return None
    number = fileno()
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        return None
    return number


def fd_of(resource: object) -> int:
    """The OS descriptor of ``resource`` (a socket, a pipe end, a file, a standard stream, an `eio.unix.Fd`).

    `TypeError` if it has none (the mock's in-memory resources, a flow made
    in Python); `eio.ResourceClosed` if it has been closed. The resource
    still owns the descriptor: don't close it yourself.
    """
    number = fd_opt(resource)
    if number is None:
        raise TypeError(f"{resource!r} has no OS file descriptor (it is not a resource of the operating system)")
    return number


def import_flow(sw: Switch, fd: int | Fd, *, close_unix: bool = True, label: str = "imported descriptor") -> FdFlow:
    """A descriptor (a pipe, a tty, a character device, a file) as a two-way flow closed when ``sw`` finishes.

    What `eio.unix.net.import_socket_stream` is for sockets. With ``close_unix=True`` (the default) eio takes the number over;
    with ``close_unix=False``, and for an `eio.unix.Fd` (which its own switch
    owns), the flow works on a duplicate. The descriptor's blocking mode is
    left as it is (it may be shared with other processes). `ValueError` if it
    is not open.
    """
    if not isinstance(sw, Switch):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"eio.unix.import_flow: sw must be an eio.Switch, got {type(sw).__name__}")
    sw.check()
    if isinstance(fd, Fd):
        number, close_unix = fd.fileno(), False
    elif isinstance(fd, int) and not isinstance(fd, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
        number = fd
    else:
        raise TypeError(f"eio.unix.import_flow: expected a descriptor (int) or an eio.unix.Fd, got {fd!r}")
    try:
        os.fstat(number)
    except (OSError, ValueError):
        raise ValueError(f"eio.unix.import_flow: descriptor {number} is not open") from None
    if not close_unix:
        number = os.dup(number)
    flow = FdFlow(number, owned=True, label=label)
    try:
        return flow.attach(sw)
    except BaseException:
        os.close(number)
        raise
