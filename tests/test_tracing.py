"""Recording a run, drawing it, and finding out where a program is stuck."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import eio
import eio._core._tracing as tracing
import pytest
from conftest import Runner
from test_cancel_stress import os_backends

import eio_main
import eio_mock

ROOT = Path(__file__).resolve().parent.parent


def _load_demo() -> Callable[[eio.Stdenv], Awaitable[None]]:
    spec = importlib.util.spec_from_file_location("trace_demo", ROOT / "examples" / "trace_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(Callable[[eio.Stdenv], Awaitable[None]], module.main)


demo_main = _load_demo()


def story(events: list[dict[str, Any]]) -> list[str]:
    """The record as readable lines: who ran and what it then waited on, who woke whom, trace lines."""
    names = {e["tid"]: e["args"]["name"].split(" #")[0] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    flows: dict[int, str] = {}
    out: list[str] = []
    for e in events:
        who = names.get(e["tid"], "?")
        if e["ph"] == "X":
            args = e["args"]
            then = "waits " + args["waiting"].split(" at ")[0] if "waiting" in args else args.get("error", "ends")
            out.append(f"{who} runs, {then}")
        elif e["ph"] == "i" and e.get("cat") == "traceln":
            out.append(f"{who}: {e['name']}")
        elif e["ph"] == "i" and e["name"] == "cancel":
            out.append(f"{who} cancels {e['args']['context']}")
        elif e["ph"] == "i":
            out.append(f"{who} {e['name']}")
        elif e["ph"] == "s":
            flows[e["id"]] = who
        elif e["ph"] == "f":
            out.append(f"{flows.pop(e['id'])} woke {who}")
    return out


def test_the_record_follows_the_schedule_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.json"
    eio_main.run(demo_main, backend="mock", trace=path)
    events = json.loads(path.read_text())["traceEvents"]
    assert story(events) == [
        "main created",
        "loop woke main",
        "kitchen created",
        "kitchen runs, waits in MockClock.sleep_until",
        "waiter created",
        "waiter runs, waits in Stream.take",
        "main runs, waits in Switch._await_idle",
        "loop: mock time is now 1",
        "loop woke kitchen",
        "kitchen: cooked soup",
        "kitchen runs, waits in MockClock.sleep_until",
        "kitchen woke waiter",
        "waiter: served soup",
        "waiter runs, waits in Stream.take",
        "loop: mock time is now 2",
        "loop woke kitchen",
        "kitchen: cooked bread",
        "kitchen runs, ends",
        "kitchen finished",
        "kitchen woke waiter",
        "waiter: served bread",
        "eio.time.with_timeout timer created",
        "eio.time.with_timeout timer runs, waits in MockClock.sleep_until",
        "waiter runs, waits in Stream.take",
        "loop: mock time is now 2.5",
        "loop woke eio.time.with_timeout timer",
        "eio.time.with_timeout timer cancels eio.time.with_timeout",
        "eio.time.with_timeout timer runs, ends",
        "eio.time.with_timeout timer finished",
        "eio.time.with_timeout timer woke waiter",
        "waiter: no more orders",
        "waiter runs, ends",
        "waiter finished",
        "waiter woke main",
        "main runs, ends",
        "main finished",
    ]
    # The same program records the same file: logical time on the mock backend.
    again = tmp_path / "again.json"
    eio_main.run(demo_main, backend="mock", trace=again)
    assert again.read_text() == path.read_text()
    capsys.readouterr()


def test_the_readme_picture_is_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/run.svg is what examples/trace_demo.py draws today (regenerate it when this fails)."""
    path = tmp_path / "run.json"
    eio_main.run(demo_main, backend="mock", trace=path)
    svg = eio.trace.render_svg(path.read_text())
    committed = ROOT / "docs" / "run.svg"
    if committed.read_text() != svg:
        pytest.fail(
            "docs/run.svg is out of date: run `EIO_BACKEND=mock EIO_TRACE=run.json python examples/trace_demo.py "
            "&& python -m eio.trace run.json -o docs/run.svg`"
        )
    capsys.readouterr()


def test_the_picture_names_files_without_their_directories() -> None:
    """Tooltips say ``trace_demo.py:31``, not a path on the machine that drew the picture."""
    svg = (ROOT / "docs" / "run.svg").read_text()
    assert "trace_demo.py:" in svg
    assert re.search(r"[/\\][\w.-]+\.py:\d", svg) is None


def test_the_picture_holds_rows_labels_text_and_arrows() -> None:
    svg = (ROOT / "docs" / "run.svg").read_text()
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    labels = [t.text for t in root.iter(f"{ns}text") if t.get("class") == "label"]
    assert labels == ["loop", "main #1", "kitchen #2", "waiter #3", "eio.time.with_timeout timer #4"]
    lines = [t.text for t in root.iter(f"{ns}text") if t.get("class") == "traceln"]
    assert lines == [
        "mock time is now 1",
        "mock time is now 2",
        "mock time is now 2.5",
        "cooked soup",
        "cooked bread",
        "served soup",
        "served bread",
        "no more orders",
    ]
    wakes = [e for e in root.iter(f"{ns}line") if e.get("class") == "wake"]
    assert len(wakes) == 8
    assert all(e.get("marker-end") == "url(#arrow)" for e in wakes)
    runs = [e for e in root.iter(f"{ns}rect") if e.get("class") == "run"]
    assert len(runs) == 11
    tips = [r.find(f"{ns}title") for r in runs]
    assert any(t is not None and t.text and "waiting in Stream.take" in t.text for t in tips)


def test_failed_and_cancelled_fibers_are_marked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def sleeper() -> None:
            await eio.time.sleep(env.clock, 10)

        async def failer() -> None:
            raise ValueError("boom")

        try:
            async with eio.Switch.run() as sw:
                eio.fiber.fork(sw, sleeper)
                eio.fiber.fork(sw, failer)
        except ValueError:
            pass

    path = tmp_path / "run.json"
    eio_main.run(main, backend="mock", trace=path)
    root = ET.fromstring(eio.trace.render_svg(path.read_text()))
    ns = "{http://www.w3.org/2000/svg}"
    marks = {
        str(g.get("class")): g.find(f"{ns}title") for g in root.iter(f"{ns}g") if g.get("class") in ("failed", "cancelled")
    }
    assert sorted(marks) == ["cancelled", "failed"]
    failed_title = marks["failed"]
    assert failed_title is not None and failed_title.text == "failed: ValueError('boom')"
    capsys.readouterr()


def test_the_command_line_draws_and_reports_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    out = tmp_path / "run.svg"
    path.write_text(json.dumps({"traceEvents": []}))
    ok = subprocess.run([sys.executable, "-m", "eio.trace", str(path), "-o", str(out)], capture_output=True, text=True)
    assert ok.returncode == 0 and out.read_text().startswith("<svg ")
    bad = subprocess.run([sys.executable, "-m", "eio.trace", str(tmp_path / "missing.json")], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.startswith("python -m eio.trace: can't draw ")


def test_a_slow_fiber_is_reported_in_debug_mode(
    run: Runner, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tracing, "slow_fiber_threshold", 0.05)

    async def main() -> None:
        async def blocker() -> None:
            time.sleep(0.1)  # a blocking call in a fiber: every other fiber waits
            await eio.fiber.yield_()

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, blocker)

    with caplog.at_level(logging.WARNING, logger="eio"):
        run(main)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert messages[0].startswith(
        "fiber test_a_slow_fiber_is_reported_in_debug_mode.<locals>.main.<locals>.blocker ran for 0."
    )
    assert "without switching" in messages[0] and "then suspended" in messages[0]


def test_the_fiber_tree_shows_switches_and_waits(run: Runner) -> None:
    async def main() -> str:
        p, r = eio.Promise[str].create()
        tree = ""
        waits_at = 0

        async def waiter() -> None:
            nonlocal waits_at
            waits_at = sys._getframe().f_lineno + 1  # pyright: ignore[reportPrivateUsage] - the line of the next statement
            await p

        async def dumper() -> None:
            nonlocal tree
            tree = eio.lowlevel.fiber_tree(eio.lowlevel.current_loop())
            r.resolve("done")

        async with eio.Switch.run(name="workers") as sw:
            eio.fiber.fork(sw, waiter)
            eio.fiber.fork(sw, dumper)
        return f"{waits_at}\n{tree}"

    line, *lines = run(main).splitlines()
    prefix = "fiber test_the_fiber_tree_shows_switches_and_waits.<locals>.main.<locals>"
    assert lines[0].startswith("loop ")
    if lines[2] == "    run_eio":
        # A hosted loop (trio, asyncio) runs the main fiber in a context of the call that started it.
        lines = [lines[0], lines[1], *(x[2:] for x in lines[3:])]
    assert lines[1:4] == ["  root", "    workers", "      main fiber: running (it started a fiber that is running now)"]
    assert lines[4].startswith(f"      {prefix}.waiter: waiting in Promise.__await__ at ")
    assert lines[4].endswith(f"test_tracing.py:{line} ({prefix[6:]}.waiter)")
    assert lines[5] == f"      {prefix}.dumper: running"
    assert len(lines) == 6


@pytest.mark.skipif(not hasattr(signal, "SIGQUIT"), reason="no SIGQUIT on this OS")
def test_sigquit_prints_the_fiber_tree() -> None:
    source = (
        "import eio, eio_main\n"
        "async def main(env):\n"
        "    print('ready', flush=True)\n"
        "    await eio.time.sleep(env.mono_clock, 20)\n"
        f"eio_main.run(main, backend={os_backends()[0]!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", source], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    time.sleep(0.2)  # let the program block; the check below doesn't depend on timing, only the dump
    proc.send_signal(signal.SIGQUIT)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert f"loop {os_backends()[0]}" in err
    assert "main fiber: waiting in sleep_until_monotonic at <string>:4 (main)" in err


def test_recording_off_leaves_the_loop_alone() -> None:
    async def main() -> tuple[object, type]:
        loop = eio.lowlevel.current_loop()
        return loop.tracer, type(loop.run_queue)

    tracer, queue_type = eio_mock.backend.run(main)
    assert tracer is None
    assert queue_type.__name__ == "deque"
