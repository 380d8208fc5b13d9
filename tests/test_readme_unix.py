"""The README's "More Unix" examples, run on every OS backend (``EIO_BACKEND=<name>``), each printing exactly its text block."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SECTION = README.split("\n## More Unix\n", 1)[1].split("\n## ", 1)[0]
EXAMPLES = re.findall(r"```python\n(.*?)```\s*```text\n(.*?)```", SECTION, flags=re.S)


def test_the_section_has_its_examples() -> None:
    assert len(EXAMPLES) == 3
    assert SECTION.count("```python") == len(EXAMPLES)


@pytest.mark.parametrize(("code", "expected"), EXAMPLES, ids=[f"more_unix{i}" for i in range(len(EXAMPLES))])
def test_more_unix_example(code: str, expected: str, os_backend: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": "", "EIO_BACKEND": os_backend}
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
