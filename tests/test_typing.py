"""The static contract: pyright accepts tests/typing/accept_*.py and rejects tests/typing/reject_*.py.

In a reject file, every line that must fail ends with ``# expect: <pyright rule>``; the
file must give exactly those errors, so a wrong expectation fails as surely as a
missing rejection. The root pyproject excludes reject files from the normal run;
here each is checked on its own, with the same settings.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Required, TypedDict, cast

import pytest

ROOT = Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
EXPECT = re.compile(r"#\s*expect:\s*(\w+)\s*$")


class _Position(TypedDict):
    line: int


class _Range(TypedDict):
    start: _Position


class _Diagnostic(TypedDict, total=False):
    severity: Required[str]
    rule: str
    message: Required[str]
    range: Required[_Range]


class _Report(TypedDict):
    generalDiagnostics: list[_Diagnostic]


def pyright(args: list[str], cwd: Path) -> _Report:
    proc = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = cast(_Report, json.loads(proc.stdout))
    except json.JSONDecodeError:
        pytest.fail(f"pyright gave no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return report


def errors(report: _Report) -> list[tuple[int, str, str]]:
    """(line, rule, message) of each error in a pyright JSON report."""
    return [
        (d["range"]["start"]["line"] + 1, d.get("rule", ""), d["message"])
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]


def settings() -> dict[str, object]:
    """The root pyproject's pyright settings, without its file selection."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        conf = dict(tomllib.load(f)["tool"]["pyright"])
    for key in ("include", "exclude"):
        conf.pop(key, None)
    return conf


@pytest.mark.parametrize("name", sorted(p.name for p in TYPING.glob("accept_*.py")))
def test_accepted(name: str) -> None:
    report = pyright([str(TYPING / name)], ROOT)
    assert errors(report) == []


@pytest.mark.parametrize("name", sorted(p.name for p in TYPING.glob("reject_*.py")))
def test_rejected(name: str, tmp_path: Path) -> None:
    source = (TYPING / name).read_text()
    expected = sorted((i, m.group(1)) for i, line in enumerate(source.splitlines(), start=1) if (m := EXPECT.search(line)))
    assert expected, f"{name} marks no line with '# expect: <rule>'"
    # A copy outside the repository, so that the root config's exclude does not skip it.
    (tmp_path / "subject.py").write_text(source)
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({**settings(), "include": ["subject.py"]}))
    got = errors(pyright(["-p", str(tmp_path / "pyrightconfig.json")], tmp_path))
    assert sorted((line, rule) for line, rule, _ in got) == expected, got
