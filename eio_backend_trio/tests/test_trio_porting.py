"""The porting guide: README's "Porting a trio program to eio" shows examples/porting_trio/ exactly, and each step runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STEPS = ROOT / "examples" / "porting_trio"
SECTION = ROOT.joinpath("README.md").read_text().split("## Porting a trio program to eio", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```python\n(.*?)```\s*```text\n(.*?)```", SECTION, flags=re.S)
FILES = sorted(STEPS.glob("step*.py"))


def test_the_guide_shows_every_step_as_it_is() -> None:
    assert [f.name for f in FILES] == [
        "step1_trio.py",
        "step2_under_eio.py",
        "step3_client.py",
        "step4_handler.py",
        "step5_server.py",
    ]
    assert [code for code, _ in BLOCKS] == [f.read_text() for f in FILES]


@pytest.mark.parametrize("index", range(len(FILES)), ids=[f.stem for f in FILES])
def test_each_step_prints_what_the_guide_says(index: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EIO_BACKEND"}
    result = subprocess.run(
        [sys.executable, str(FILES[index])], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == BLOCKS[index][1]


def test_the_last_step_runs_on_the_trio_backend_too() -> None:
    env = {**os.environ, "EIO_BACKEND": "trio"}
    result = subprocess.run(
        [sys.executable, str(STEPS / "step5_server.py")], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == BLOCKS[-1][1]
