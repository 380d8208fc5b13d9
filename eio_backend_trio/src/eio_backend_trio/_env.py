"""The whole standard environment on trio, from the shared Unix layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def run_main(main: Callable[[Any], Awaitable[T]]) -> T:
    """From trio code: ``await main(env)`` as an eio fiber with the whole `eio.Stdenv` (``backend_id == "trio"``)."""
    raise RuntimeError("the trio backend's standard environment needs eio.unix (not merged yet)")
