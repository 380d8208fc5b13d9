"""Pyright must reject each line marked ``# expect: <rule>`` with that rule (see tests/test_typing.py)."""

from __future__ import annotations

import eio


class NotASource:
    """Reads into a str and returns nothing: not a source."""

    async def single_read(self, buf: str, /) -> None:
        pass


async def main() -> None:
    clock = eio.time.MonoClock()
    await eio.flow.copy_string("hello", clock)  # expect: reportArgumentType
    await eio.flow.write(clock, [b"hello"])  # expect: reportArgumentType
    eio.BufRead.of_flow(clock, max_size=100)  # expect: reportArgumentType
    eio.BufRead.of_flow(NotASource(), max_size=100)  # expect: reportArgumentType
    await eio.flow.shutdown(eio.flow.string_source("x"), "send")  # expect: reportArgumentType
