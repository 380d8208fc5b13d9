"""Drawing a recorded run (Chrome Trace Event JSON from `eio.lowlevel.Recorder`) as SVG."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any, cast

Event = dict[str, Any]

ROW_HEIGHT = 34
LABEL_WIDTH = 220
PLOT_WIDTH = 900
TOP = 30
COLOURS = {
    "run": "#3b7dd8",
    "alive": "#9aa4b1",
    "text": "#1d2733",
    "wake": "#d0822b",
    "failed": "#c62828",
    "cancelled": "#8e44ad",
}


_PATH = re.compile(r"(?:[A-Za-z]:)?[^\s:()]*[/\\]([^/\\\s:()]+\.py):(\d+)")


def _short_paths(text: str) -> str:
    """``/home/me/app/main.py:12`` as ``main.py:12``: the picture reads the same on every machine."""
    return _PATH.sub(r"\1:\2", text)


@dataclass
class Row:
    """One fiber (or a domain's loop, for wake-ups from IO and timers) in the picture."""

    pid: int
    tid: int
    name: str
    created: float | None = None
    ended: float | None = None
    end_kind: str = ""
    end_detail: str = ""
    runs: list[tuple[float, float, str]] = field(default_factory=list[tuple[float, float, str]])
    lines: list[tuple[float, str]] = field(default_factory=list[tuple[float, str]])


def load_rows(events: list[Event]) -> tuple[list[Row], list[tuple[int, int, float, int, int, float]]]:
    """The rows of the picture, in creation order per domain, and the wake-ups as (pid, tid, ts) pairs."""
    rows: dict[tuple[int, int], Row] = {}

    def row(pid: int, tid: int) -> Row:
        key = (pid, tid)
        if key not in rows:
            rows[key] = Row(pid, tid, "loop" if tid == 0 else f"fiber #{tid}")
        return rows[key]

    starts: dict[int, Event] = {}
    wakes: list[tuple[int, int, float, int, int, float]] = []
    for e in events:
        ph = e.get("ph")
        pid, tid = int(e.get("pid", 0)), int(e.get("tid", 0))
        if ph == "M" and e.get("name") == "thread_name":
            row(pid, tid).name = str(e["args"]["name"])
        elif ph == "X":
            args = e.get("args", {})
            detail = _short_paths(str(args.get("waiting") or args.get("error") or ""))
            row(pid, tid).runs.append((float(e["ts"]), float(e.get("dur", 0.0)), detail))
        elif ph == "i":
            r = row(pid, tid)
            name = str(e.get("name", ""))
            ts = float(e["ts"])
            if e.get("cat") == "traceln":
                r.lines.append((ts, name))
            elif name == "created":
                r.created = ts
            elif name in ("finished", "failed", "cancelled"):
                r.ended = ts
                r.end_kind = name
                r.end_detail = _short_paths(str(e.get("args", {}).get("error", "")))
        elif ph == "s":
            starts[int(e["id"])] = e
        elif ph == "f":
            s = starts.pop(int(e["id"]), None)
            if s is not None:
                wakes.append((int(s.get("pid", 0)), int(s.get("tid", 0)), float(s["ts"]), pid, tid, float(e["ts"])))
    used = {(p, t) for p, t, _, _, _, _ in wakes} | {(p, t) for _, _, _, p, t, _ in wakes}
    ordered = sorted(
        (r for r in rows.values() if r.tid != 0 or (r.pid, 0) in used or r.lines),
        key=lambda r: (r.pid, r.created if r.created is not None else -1.0, r.tid),
    )
    return ordered, wakes


def render_svg(trace_json: str) -> str:
    """The SVG picture of a recorded run (a self-contained document)."""
    data: object = json.loads(trace_json)
    if isinstance(data, dict):
        data = cast(dict[str, object], data).get("traceEvents", [])
    if not isinstance(data, list):
        raise ValueError("not a Chrome Trace Event record (expected a list of events)")
    events = cast(list[Event], data)
    rows, wakes = load_rows(events)
    times = [float(e["ts"]) for e in events if "ts" in e]
    times += [float(e["ts"]) + float(e.get("dur", 0.0)) for e in events if e.get("ph") == "X"]
    t0 = min(times, default=0.0)
    t1 = max(times, default=1.0)
    span = (t1 - t0) or 1.0

    def x(ts: float) -> float:
        return LABEL_WIDTH + (ts - t0) / span * PLOT_WIDTH

    index = {(r.pid, r.tid): i for i, r in enumerate(rows)}

    def y(i: int) -> float:
        return TOP + i * ROW_HEIGHT + ROW_HEIGHT / 2

    width = LABEL_WIDTH + PLOT_WIDTH + 40
    height = TOP + len(rows) * ROW_HEIGHT + 20
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{COLOURS["wake"]}"/></marker></defs>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        f'<text x="{LABEL_WIDTH}" y="16" fill="{COLOURS["text"]}">time →  (bars: running; line: waiting; arrows: wake-ups)</text>',
    ]
    for i, r in enumerate(rows):
        cy = y(i)
        out.append(f'<g class="row" data-fiber="{escape(r.name)}">')
        if i % 2 == 0:
            out.append(f'<rect x="0" y="{cy - ROW_HEIGHT / 2:.1f}" width="{width}" height="{ROW_HEIGHT}" fill="#f4f6f8"/>')
        out.append(f'<text class="label" x="8" y="{cy + 4:.1f}" fill="{COLOURS["text"]}">{escape(r.name)}</text>')
        if r.tid != 0:
            start = r.created if r.created is not None else (r.runs[0][0] if r.runs else t0)
            end = r.ended if r.ended is not None else t1
            out.append(
                f'<line class="alive" x1="{x(start):.1f}" y1="{cy:.1f}" x2="{x(end):.1f}" y2="{cy:.1f}" '
                f'stroke="{COLOURS["alive"]}" stroke-width="2"/>'
            )
        for ts, dur, detail in r.runs:
            w = max(x(ts + dur) - x(ts), 2.0)
            tip = f"ran {dur:g}; then waiting {detail}" if detail else f"ran {dur:g}"
            out.append(
                f'<rect class="run" x="{x(ts):.1f}" y="{cy - 7:.1f}" width="{w:.1f}" height="14" '
                f'fill="{COLOURS["run"]}"><title>{escape(tip)}</title></rect>'
            )
        for k, (ts, text) in enumerate(r.lines):
            out.append(
                f'<circle cx="{x(ts):.1f}" cy="{cy:.1f}" r="3" fill="{COLOURS["text"]}"/>'
                f'<text class="traceln" x="{x(ts) + 4:.1f}" y="{cy - 9 - (k % 2) * 0:.1f}" fill="{COLOURS["text"]}">{escape(text)}</text>'
            )
        if r.end_kind in ("failed", "cancelled"):
            colour = COLOURS[r.end_kind]
            ex = x(r.ended or t1)
            out.append(
                f'<g class="{r.end_kind}"><title>{escape(r.end_kind + ": " + r.end_detail)}</title>'
                f'<line x1="{ex - 5:.1f}" y1="{cy - 5:.1f}" x2="{ex + 5:.1f}" y2="{cy + 5:.1f}" stroke="{colour}" stroke-width="2.5"/>'
                f'<line x1="{ex - 5:.1f}" y1="{cy + 5:.1f}" x2="{ex + 5:.1f}" y2="{cy - 5:.1f}" stroke="{colour}" stroke-width="2.5"/></g>'
            )
        out.append("</g>")
    for spid, stid, sts, fpid, ftid, fts in wakes:
        a = index.get((spid, stid))
        b = index.get((fpid, ftid))
        if a is None or b is None or a == b:
            continue
        out.append(
            f'<line class="wake" x1="{x(sts):.1f}" y1="{y(a):.1f}" x2="{x(fts):.1f}" y2="{y(b):.1f}" '
            f'stroke="{COLOURS["wake"]}" stroke-width="1.2" marker-end="url(#arrow)"/>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
