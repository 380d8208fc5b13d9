"""Pseudo-terminals: `open_pty` gives a `Pty`, a terminal whose other side is this program.

A child given ``pty.slave`` as its standard streams sees a terminal
(``isatty`` is true, line editing and echo are on); what it writes is read
from ``pty.master``, and what is written to ``pty.master`` is what it reads
(as typed on a keyboard). The terminal translates as terminals do: a child's
``\\n`` is read as ``\\r\\n``, and input is echoed back::

    async with eio.Switch.run() as sw:
        pty = eio.unix.pty.open_pty(sw)
        proc = await eio.process.spawn(sw, env.process_mgr, ["tty"], stdin=pty.slave, stdout=pty.slave)
        await pty.slave.close()              # the child has its own copy
        out = await eio.flow.read_all(pty.master)   # b"/dev/pts/3\\r\\n"

Once every copy of the slave side is closed (the child exited), reading the
master gives `eio.EndOfFile` after the last output (Linux reports that as
``EIO``; it is translated). Both sides are closed when the switch finishes.
Only on Unix systems with an OS backend: elsewhere, and on the mock's
in-memory loop, `open_pty` raises `RuntimeError`. Eio has no pseudo-terminals
of its own; the names are the usual Unix ones (``openpty``, master and slave).
"""

from __future__ import annotations

import errno
import os
import struct
import sys
from dataclasses import dataclass

from .._core._loop import current_loop
from .._core._switch import Switch
from .._flow._errors import EndOfFile
from .._io_errors import Io, from_oserror
from ._flow import FdFlow

__all__ = ["Pty", "PtyMaster", "open_pty"]


class PtyMaster(FdFlow):
    """The program's side of a pseudo-terminal: a two-way flow; `eio.EndOfFile` once the slave side is closed."""

    __slots__ = ()

    async def single_read(self, buf: memoryview, /) -> int:
        """Read what the terminal's other side wrote; `eio.EndOfFile` once every copy of the slave is closed."""
        try:
            return await super().single_read(buf)
        except Io as ex:
            if ex.errno == errno.EIO:  # Linux's way of saying the slave side hung up
                raise EndOfFile() from None
            raise


@dataclass(frozen=True, eq=False)
class Pty:
    """A pseudo-terminal from `open_pty`: ``master`` (ours), ``slave`` (a child's standard streams), ``slave_name``."""

    master: PtyMaster
    slave: FdFlow
    slave_name: str

    def set_window_size(self, rows: int, cols: int) -> None:
        """Set the terminal's size in characters (children see it, e.g. ``stty size``)."""
        for name, value in (("rows", rows), ("cols", cols)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFF:  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ValueError(f"Pty.set_window_size: {name} must be an int in 0..65535, got {value!r}")
        if sys.platform == "win32":
            raise RuntimeError("pseudo-terminals need a Unix system")
        import fcntl
        import termios

        try:
            fcntl.ioctl(self.master.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        except OSError as ex:
            raise from_oserror(ex, "setting a pseudo-terminal's size") from ex


def open_pty(sw: Switch) -> Pty:
    """A new pseudo-terminal, both sides closed when ``sw`` finishes (``openpty``)."""
    if not isinstance(sw, Switch):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
        raise TypeError(f"eio.unix.pty.open_pty: sw must be an eio.Switch, got {type(sw).__name__}")
    sw.check()
    if sys.platform == "win32":
        raise RuntimeError("eio.unix.pty.open_pty: pseudo-terminals need a Unix system")
    poller = current_loop().poller
    if not hasattr(poller, "wait_readable"):
        raise RuntimeError(
            f"eio.unix.pty.open_pty needs a backend with OS descriptors; this loop's poller ({type(poller).__name__}) has none"
        )
    try:
        master_fd, slave_fd = os.openpty()
    except OSError as ex:
        raise from_oserror(ex, "opening a pseudo-terminal") from ex
    try:
        name = os.ttyname(slave_fd)
        master = PtyMaster(master_fd, owned=True, label="pty master", nonblocking=True)
    except BaseException:
        os.close(master_fd)
        os.close(slave_fd)
        raise
    # The slave stays blocking: a child shares it and expects a normal terminal.
    slave = FdFlow(slave_fd, owned=True, label="pty slave")
    try:
        master.attach(sw)
    except BaseException:
        os.close(slave_fd)
        raise
    slave.attach(sw)
    return Pty(master, slave, name)
