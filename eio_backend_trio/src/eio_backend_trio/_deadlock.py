"""Deadlock detection for a trio run that eio owns (``run``, ``run_plain``, a domain).

When eio started the trio run itself, nothing but eio fibers, their
`run_trio` calls, other threads and signal handlers can wake the loop; if
none of them can, the main fiber can never finish, and the run ends with
`eio.Deadlock` (as on the self-driven backends) instead of hanging. A loop
hosted in a trio program of the user's is never declared deadlocked: any of
the program's trio tasks may still wake it.
"""

from __future__ import annotations


def is_trios_own(handler: object) -> bool:
    """Whether signal ``handler`` is trio's (its Ctrl-C handler raises KeyboardInterrupt: it wakes no fiber)."""
    return str(getattr(handler, "__module__", "")).startswith("trio.")
