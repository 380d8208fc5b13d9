"""The backend's own errors, importable on any platform (the ring itself is Linux-only)."""

from __future__ import annotations

from eio.lowlevel import Deadlock

__all__ = ["Deadlock"]
