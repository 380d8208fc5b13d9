"""Every ```python block of README.md runs, and prints exactly the ```text block after it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

# A python block immediately followed (blank lines aside) by a text block.
EXAMPLES = re.findall(r"```python\n(.*?)```\s*```text\n(.*?)```", README, flags=re.S)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 4
    assert README.count("```python") == len(EXAMPLES), "every python block needs its expected output"


@pytest.mark.parametrize(("code", "expected"), EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_readme_example(code: str, expected: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": ""}
    env.pop("EIO_BACKEND", None)
    # Run in an empty directory: the cwd capability is then that directory.
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout == expected


EIO_MAIN_EXAMPLES = [(code, expected) for code, expected in EXAMPLES if "eio_main.run(" in code]


@pytest.mark.parametrize(
    ("code", "expected"), EIO_MAIN_EXAMPLES, ids=[f"eio_main_example{i}" for i in range(len(EIO_MAIN_EXAMPLES))]
)
def test_readme_example_on_the_mock_env(code: str, expected: str, tmp_path: Path) -> None:
    """The README's programs that use eio_main print the same with EIO_BACKEND=mock (in memory, no OS)."""
    if "load_cert_chain" in code:
        pytest.skip("the ssl module reads certificate files from the real disk, which the mock env doesn't have")
    if "eio.process.pipe(" in code or "import eio.unix" in code:
        pytest.skip("the 'More Unix' examples need OS descriptors and real programs (tests/test_readme_unix.py runs them)")
    env = {**os.environ, "PYTHONPATH": "", "EIO_BACKEND": "mock"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout == expected
    assert list(tmp_path.iterdir()) == []  # nothing touched the disk
