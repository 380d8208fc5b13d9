"""Quoting bytes the way OCaml's ``%S`` and ``%C`` do, for Eio's exact parse-error messages."""

from __future__ import annotations

__all__ = ["quote_char", "quote_string"]


def _escaped(b: int, quote: int) -> str:
    if b == quote or b == 0x5C:
        return "\\" + chr(b)
    if 0x20 <= b <= 0x7E:
        return chr(b)
    if b == 0x0A:
        return "\\n"
    if b == 0x09:
        return "\\t"
    if b == 0x0D:
        return "\\r"
    if b == 0x08:
        return "\\b"
    return f"\\{b:03d}"


def quote_string(data: bytes) -> str:
    """``data`` in double quotes, escaped like OCaml's ``String.escaped``."""
    return '"' + "".join(_escaped(b, 0x22) for b in data) + '"'


def quote_char(b: int) -> str:
    """The byte ``b`` in single quotes, escaped like OCaml's ``Char.escaped``."""
    return "'" + _escaped(b, 0x27) + "'"
