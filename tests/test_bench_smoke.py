"""The scheduler benchmarks still run: eio's versions complete with a small N and count right.

No timing is checked; this only keeps bench/scheduler.py from rotting as the API moves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import Runner

# bench/ lives at the repository root, which pytest does not put on sys.path.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bench import scheduler  # noqa: E402 - needs the path set up above

N = 50


def test_spawn_forks_and_joins_every_fiber(run: Runner) -> None:
    sample = scheduler.eio_spawn(run, N)
    assert (sample.ops, sample.count) == (N, N)
    assert sample.elapsed_ns > 0


def test_yield_ping_pong_yields_n_times(run: Runner) -> None:
    sample = scheduler.eio_yield(run, N)
    assert (sample.ops, sample.count) == (N, N)


def test_yield_ping_pong_rounds_an_odd_n_down(run: Runner) -> None:
    sample = scheduler.eio_yield(run, N + 1)
    assert (sample.ops, sample.count) == (N, N)


def test_stream_delivers_every_item(run: Runner) -> None:
    sample = scheduler.eio_stream(run, N)
    assert (sample.ops, sample.count) == (N, N)


def test_check_sum_rejects_a_lost_item() -> None:
    with pytest.raises(AssertionError, match="consumer received items summing to 1, expected 3"):
        scheduler._check_sum(1, 3)  # pyright: ignore[reportPrivateUsage] - the check the benchmarks rely on


def test_command_line_runs_eio_only_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.json"
    assert scheduler.main(["--n", "20", "--repeat", "1", "--only", "eio(mock)", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| yield ping-pong (ns/yield) |" in printed
    doc = json.loads(out.read_text())
    assert sorted(doc["ns_per_op"]) == [
        "spawn + join (ns/task)",
        "stream, capacity 1 (ns/item)",
        "yield ping-pong (ns/yield)",
    ]
    assert all(list(row) == ["eio(mock)"] for row in doc["ns_per_op"].values())
