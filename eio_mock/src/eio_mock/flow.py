"""Mock flows that trace what is done to them (Eio's ``Eio_mock.Flow``).

``flow = make("flow")`` is a two-way flow (also an ``eio.net.StreamSocket``).
Reads perform the actions given to `on_read` (by default: end of file);
writes accept as many bytes as the actions given to `on_copy_bytes` say (by
default 4096 per call). Each call traces one line::

    flow: read b'(packet 1)'
    flow: wrote b'Hello'
    flow: wrote [b'Hello', b'World']      (several buffers in one write)
    flow: wrote (rsb) [b'Hello']          (a copy using the source's own buffers)
    flow: shutdown send
    flow: closed

Data is shown with ``pp`` (default `repr`), which `make` takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import eio
import eio.flow
import eio.net
from eio import Switch

from ._action import Action, Raise, Return
from ._handler import Handler

__all__ = ["CopyMethod", "MockFlow", "attach_to_switch", "make", "on_copy_bytes", "on_read", "set_copy_method"]

CopyMethod = Literal["read_into", "read_source_buffer"]
"""How a mock flow's ``copy`` takes data from the source: by reading into its
own buffer (``single_read``), or from the source's buffers (``read_source_buffer``)."""

_COPY_METHODS = ("read_into", "read_source_buffer")


def _take(bufs: Sequence[bytes | memoryview], n: int) -> list[bytes]:
    """The first ``n`` bytes of ``bufs``, keeping the buffer boundaries."""
    out: list[bytes] = []
    for b in bufs:
        if n <= 0:
            break
        size = len(b)
        if size >= n:
            out.append(bytes(b[:n]))
            break
        out.append(bytes(b))
        n -= size
    return out


class MockFlow:
    """A traced two-way flow for tests; create one with `make`."""

    __slots__ = ("label", "pp", "reads", "copy_bytes", "copy_method", "_on_close", "_options")

    def __init__(self, label: str, pp: Callable[[bytes], str] = repr) -> None:
        self.label = label
        self.pp = pp
        self.reads: Handler[bytes] = Handler(f"{label}: read", Raise(eio.EndOfFile()))
        self.copy_bytes: Handler[int] = Handler(f"{label}: copy_bytes", Return(4096))
        self.copy_method: CopyMethod = "read_into"
        self._on_close: list[Callable[[], object]] = []
        self._options: dict[str, object] = {}

    def __repr__(self) -> str:
        return f"<mock flow {self.label}>"

    async def single_read(self, buf: memoryview, /) -> int:
        """Perform the next read action and copy its bytes into ``buf``."""
        data = await self.reads.run()
        size = len(data)
        if len(buf) < size:
            raise RuntimeError(f"{self.label}: read buffer too short for {self.pp(data)}!")
        buf[:size] = data
        eio.traceln(f"{self.label}: read {self.pp(data)}")
        return size

    async def _write(self, bufs: Sequence[bytes | memoryview], rsb: bool) -> int:
        size = await self.copy_bytes.run()
        total = 0
        for b in bufs:
            total += len(b)
        taken = _take(bufs, min(total, size))
        pp = self.pp
        shown = "[" + ", ".join(pp(b) for b in taken) + "]"
        if rsb:
            shown = "(rsb) " + shown
        elif len(taken) == 1:
            shown = pp(taken[0])
        eio.traceln(f"{self.label}: wrote {shown}")
        return min(total, size)

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        """Accept as many bytes as the next `on_copy_bytes` action says (all, by default)."""
        return await self._write(bufs, rsb=False)

    async def copy(self, src: eio.flow.Source, /) -> None:
        """Copy all of ``src``, by the flow's `CopyMethod` (see `set_copy_method`)."""
        if self.copy_method == "read_into":
            await self._copy_via_buffer(src)
            return
        rsb = eio.flow.get_read_source_buffer(src)
        if rsb is None:
            raise RuntimeError(f"{self.label}: the source does not offer read_source_buffer")

        async def write_rsb(views: Sequence[memoryview]) -> int:
            return await self._write(views, rsb=True)

        try:
            while True:
                await rsb.read_source_buffer(write_rsb)
        except eio.EndOfFile:
            pass

    async def _copy_via_buffer(self, src: eio.flow.Source) -> None:
        try:
            while True:
                size = await self.copy_bytes.run()
                buf = bytearray(size)
                n = await eio.flow.single_read(src, buf)
                eio.traceln(f"{self.label}: wrote {self.pp(bytes(buf[:n]))}")
        except eio.EndOfFile:
            pass

    async def shutdown(self, how: eio.flow.ShutdownCommand, /) -> None:
        """Trace ``shutdown send`` (or ``receive``, ``all``)."""
        eio.traceln(f"{self.label}: shutdown {how}")

    def set_socket_option(self, option: eio.net.SocketOption[Any], value: object, /) -> None:
        """Trace ``setsockopt <NAME> = <value>`` (what `eio.net.setsockopt` and ``connect(..., options=)`` do to a mock flow)."""
        eio.traceln(f"{self.label}: setsockopt {option.name} = {value!r}")
        self._options[option.name] = value

    def get_socket_option(self, option: eio.net.SocketOption[Any], /) -> object:
        """The value last set for ``option``; `ValueError` if it never was (Eio's mock: ``Invalid_option``)."""
        if option.name not in self._options:
            raise ValueError(f"eio.net.getsockopt: {option.name} was never set on mock flow {self.label!r}")
        return self._options[option.name]

    async def close(self) -> None:
        """Trace ``closed`` (and forget the switch this flow was attached to)."""
        callbacks = self._on_close
        while callbacks:
            callbacks.pop(0)()
        eio.traceln(f"{self.label}: closed")


def make(label: str, pp: Callable[[bytes], str] = repr) -> MockFlow:
    """A new mock flow that traces its operations as ``<label>: ...``, showing data with ``pp``."""
    return MockFlow(label, pp)


def on_read(flow: MockFlow, actions: Iterable[Action[bytes]]) -> None:
    """Perform ``actions`` for the next reads, one per read; then end of file."""
    flow.reads.seq(actions)


def on_copy_bytes(flow: MockFlow, actions: Iterable[Action[int]]) -> None:
    """How many bytes each of the next writes (or copy steps) accepts; then 4096 each."""
    flow.copy_bytes.seq(actions)


def set_copy_method(flow: MockFlow, method: CopyMethod) -> None:
    """How ``flow.copy(src)`` takes the data: ``"read_into"`` (default) or ``"read_source_buffer"``."""
    if method not in _COPY_METHODS:
        raise ValueError(f"set_copy_method: {method!r} is not 'read_into' or 'read_source_buffer'")
    flow.copy_method = method


def attach_to_switch(flow: MockFlow, sw: Switch) -> None:
    """Close ``flow`` when ``sw`` finishes, unless it is closed first."""
    hook = sw.on_release(flow.close)
    flow._on_close.append(hook.remove)  # pyright: ignore[reportPrivateUsage] - this module owns MockFlow
