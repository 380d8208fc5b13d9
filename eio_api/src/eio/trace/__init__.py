"""Pictures of recorded runs: ``python -m eio.trace run.json -o run.svg``.

Record a run with ``eio_main.run(main, trace="run.json")`` (or
``EIO_TRACE=run.json``); the file is Chrome Trace Event JSON, which Perfetto
opens as it is. `render_svg` draws it as a self-contained SVG: one row per
fiber labelled with its name, time across, a bar for each time the fiber
ran, a thin line while it was alive and waiting (hover for what it waited
on), an arrow from the fiber that woke it, `eio.traceln` lines as text where
they were written, and a mark where a fiber failed or was cancelled.
"""

from ._svg import Row, load_rows, render_svg

__all__ = ["Row", "load_rows", "render_svg"]
