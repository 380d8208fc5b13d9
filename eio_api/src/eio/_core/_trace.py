"""``traceln``: debug output that never switches fibers and never interleaves lines."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Generator
from contextlib import contextmanager
from contextvars import ContextVar

from ._loop import loop_state

_lock = threading.RLock()  # re-entrant: a signal handler may trace while the main thread is tracing

# A prefix for every traced line, such as "[1] " inside a mock domain.
trace_prefix: ContextVar[str] = ContextVar("eio_trace_prefix", default="")

# Where `traceln` sends its text in this fiber (None: stderr). Fibers forked
# from a fiber start with a copy of its context, so they inherit it.
_traceln_writer: ContextVar[Callable[[str], None] | None] = ContextVar("eio_traceln_writer", default=None)


def traceln(*args: object) -> None:
    """Write ``+`` and the args (joined like `print`) to stderr as one write.

    A multi-line message gets ``+`` before every line. Never switches fibers.
    """
    text = " ".join(str(a) for a in args)
    loop = loop_state.loop
    if loop is not None and loop.tracer is not None:
        loop.tracer.traceln(text)
    writer = _traceln_writer.get()
    if writer is not None:
        writer(text)
        return
    prefix = "+" + trace_prefix.get()
    out = "".join(prefix + line + "\n" for line in text.split("\n"))
    with _lock:
        sys.stderr.write(out)
        sys.stderr.flush()


@contextmanager
def with_traceln(writer: Callable[[str], None]) -> Generator[None, None, None]:
    """Send this fiber's `traceln` text to ``writer`` instead of stderr, inside the block.

    Eio's ``Debug.traceln`` binding in Python form: the override holds for
    the fiber that enters the block and for fibers it forks inside it (each
    starts with a copy of its parent's context), not for other fibers.
    ``writer`` gets the text as ``traceln`` joined it (no ``+``, no prefix);
    a recording of the run (``eio_main.run(main, trace=...)``) still sees
    every line. Blocks nest: the innermost writer wins.
    """
    token = _traceln_writer.set(writer)
    try:
        yield
    finally:
        _traceln_writer.reset(token)


@contextmanager
def with_trace_prefix(prefix: str) -> Generator[None, None, None]:
    """Put ``prefix`` after the ``+`` of every `traceln` line of this fiber (and fibers it forks) inside the block.

    Blocks nest by concatenation: ``with_trace_prefix("[a] ")`` around
    ``with_trace_prefix("[b] ")`` writes ``+[a] [b] text``. The mock
    domain manager uses the same prefix for ``[1] `` before a domain's lines.
    """
    if not isinstance(prefix, str):  # pyright: ignore[reportUnnecessaryIsInstance] - checked for untyped callers
        raise TypeError(f"with_trace_prefix: prefix must be a str, not {type(prefix).__name__}")
    token = trace_prefix.set(trace_prefix.get() + prefix)
    try:
        yield
    finally:
        trace_prefix.reset(token)
