"""README's "Porting from asyncio": every step runs and prints the same, and the excerpts match the files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from eio_main._registry import discover

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "examples" / "porting_asyncio"
EXPECTED = (GUIDE / "expected_output.txt").read_text()
STEPS = sorted(p.name for p in GUIDE.glob("step*.py"))
README = (ROOT / "README.md").read_text()
_START = README.index("## Porting from asyncio")
_END = README.find("\n## ", _START + 1)
SECTION = README[_START : _END if _END >= 0 else len(README)]
DIFFS = re.findall(r"```diff\n(.*?)```", SECTION, flags=re.S)


def run_step(name: str, backend: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run one step as a program, as a reader would (``EIO_BACKEND`` set only if ``backend`` is)."""
    env = {**os.environ, "PYTHONPATH": ""}
    env.pop("EIO_BACKEND", None)
    if backend is not None:
        env["EIO_BACKEND"] = backend
    return subprocess.run(
        [sys.executable, str(GUIDE / name)],
        cwd=GUIDE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_guide_has_every_step() -> None:
    assert STEPS == ["step0_asyncio.py", "step1_hosted.py", "step2_client.py", "step3_server.py", "step4_any_backend.py"]
    assert [f"`{name}`" in SECTION for name in STEPS] == [True] * len(STEPS)


@pytest.mark.parametrize("name", STEPS)
def test_each_step_prints_the_same_and_nothing_else(name: str) -> None:
    result = run_step(name)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == EXPECTED


@pytest.mark.parametrize("backend", ["asyncio", "asyncio-uvloop", "uring"])
def test_the_last_step_runs_on_each_backend(backend: str) -> None:
    info = discover().backends.get(backend)
    if info is None or info.unavailable_reason() is not None:
        pytest.skip(f"backend {backend} unavailable here")
    result = run_step("step4_any_backend.py", backend)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == EXPECTED


@pytest.mark.parametrize("diff", DIFFS, ids=[f"excerpt{i}" for i in range(len(DIFFS))])
def test_each_excerpt_matches_its_files(diff: str) -> None:
    lines = diff.splitlines()
    assert lines[0].startswith("--- ") and lines[1].startswith("+++ ")
    old = (GUIDE / lines[0][4:]).read_text().splitlines()
    new = (GUIDE / lines[1][4:]).read_text().splitlines()
    for line in lines[2:]:
        mark, text = line[0], line[1:]
        if mark == "-":
            assert text in old, f"{line!r} is not a line of {lines[0][4:]}"
        elif mark == "+":
            assert text in new, f"{line!r} is not a line of {lines[1][4:]}"
        else:
            assert mark == " " and text in old and text in new, f"{line!r} is not a line of both files"


def test_the_guide_has_excerpts() -> None:
    assert len(DIFFS) == 3
