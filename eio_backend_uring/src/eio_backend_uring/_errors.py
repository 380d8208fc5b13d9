"""The backend's own errors, importable on any platform (the ring itself is Linux-only)."""

from __future__ import annotations


class Deadlock(RuntimeError):
    """The main function can't finish: no fiber can run and nothing can wake one."""

    def __init__(self) -> None:
        super().__init__("Deadlock detected: no events scheduled but main function hasn't returned")
