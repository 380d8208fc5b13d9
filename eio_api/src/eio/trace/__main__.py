"""``python -m eio.trace run.json -o run.svg``: draw a recorded run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._svg import render_svg


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m eio.trace", description="Draw a recorded eio run as an SVG picture.")
    parser.add_argument("trace", type=Path, help="the record (Chrome Trace Event JSON from eio_main.run(..., trace=...))")
    parser.add_argument("-o", "--output", type=Path, help="where to write the SVG (default: stdout)")
    args = parser.parse_args(argv)
    try:
        svg = render_svg(args.trace.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as ex:
        print(f"python -m eio.trace: can't draw {args.trace}: {ex}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(svg)
    else:
        args.output.write_text(svg, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
