"""``traceln``: debug output that never switches fibers and never interleaves lines."""

from __future__ import annotations

import sys
import threading
from contextvars import ContextVar

from ._loop import loop_state

_lock = threading.RLock()  # re-entrant: a signal handler may trace while the main thread is tracing

# A prefix for every traced line, such as "[1] " inside a mock domain.
trace_prefix: ContextVar[str] = ContextVar("eio_trace_prefix", default="")


def traceln(*args: object) -> None:
    """Write ``+`` and the args (joined like `print`) to stderr as one write.

    A multi-line message gets ``+`` before every line. Never switches fibers.
    """
    text = " ".join(str(a) for a in args)
    loop = loop_state.loop
    if loop is not None and loop.tracer is not None:
        loop.tracer.traceln(text)
    prefix = "+" + trace_prefix.get()
    out = "".join(prefix + line + "\n" for line in text.split("\n"))
    with _lock:
        sys.stderr.write(out)
        sys.stderr.flush()
