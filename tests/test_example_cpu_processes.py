"""examples/cpu_processes.py runs as a program and prints its results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cpu_processes_example() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "cpu_processes.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2262 primes below 20000",
        "3245 primes below 30000",
        "4203 primes below 40000",
        "5133 primes below 50000",
        "computed by 2 worker processes, none of them this one: True",
    ]
    assert result.stderr == ""
