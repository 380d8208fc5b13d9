"""Pyright must reject each line marked ``# expect: <rule>`` with that rule (see tests/test_typing.py)."""

from __future__ import annotations

import eio
import eio.net


async def main(sock: eio.net.StreamSocket) -> None:
    eio.net.setsockopt(sock, eio.net.TCP_NODELAY, True)
    eio.net.setsockopt(sock, eio.net.SO_LINGER, None)
    nodelay: bool = eio.net.getsockopt(sock, eio.net.TCP_NODELAY)
    linger: int | None = eio.net.getsockopt(sock, eio.net.SO_LINGER)
    eio.net.setsockopt(sock, eio.net.TCP_NODELAY, "yes")  # expect: reportArgumentType
    eio.net.setsockopt(sock, eio.net.SO_RCVBUF, None)  # expect: reportArgumentType
    eio.net.TCP_KEEPIDLE("30")  # expect: reportArgumentType
    size: str = eio.net.getsockopt(sock, eio.net.SO_SNDBUF)  # expect: reportAssignmentType
    print(nodelay, linger, size)
