"""`EndOfFile`, raised by a source that has no more data."""

from __future__ import annotations


class EndOfFile(EOFError):
    """The end of a flow's input was reached (Eio's ``End_of_file``).

    A source's ``single_read`` raises it instead of returning 0.
    """

    __module__ = "eio"
