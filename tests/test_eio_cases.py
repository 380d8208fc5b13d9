"""README's table of Eio's expect-test cases agrees with tests/eio_cases.py, and every test named there exists."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from eio_cases import CASES

TESTS = Path(__file__).resolve().parent
README = TESTS.parent / "README.md"
SECTION = "## Reproducing Eio's own tests"


@cache
def top_level_names(module: str) -> frozenset[str]:
    """The functions, classes and variables defined at the top of tests/<module>.py."""
    tree = ast.parse((TESTS / f"{module}.py").read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


def counts() -> dict[str, tuple[int, int]]:
    """For each Eio file: how many cases, how many reproduced."""
    return {f: (len(cases), sum(1 for _, where in cases if not where.startswith("not: "))) for f, cases in CASES.items()}


def test_every_case_names_a_test_that_exists_or_says_why_not() -> None:
    for eio_file, cases in CASES.items():
        lines = [line for line, _ in cases]
        assert lines == sorted(set(lines)), f"{eio_file}: lines out of order or repeated"
        for line, where in cases:
            if where.startswith("not: "):
                assert len(where) > len("not: ") + 10, f"{eio_file}:{line}: say why it is not reproduced"
                continue
            module, _, name = where.partition("::")
            assert name in top_level_names(module), f"{eio_file}:{line}: tests/{module}.py has no {name}"


def test_readme_table_gives_the_same_counts() -> None:
    text = README.read_text()
    assert SECTION in text
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = {m[1]: (int(m[2]), int(m[3])) for m in re.finditer(r"^\| `([^`]+)` \| (\d+) \| (\d+) \|", section, re.M)}
    assert rows == counts()
    total = re.search(r"^\| \*\*total\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \|", section, re.M)
    assert total is not None
    assert (int(total[1]), int(total[2])) == tuple(map(sum, zip(*counts().values(), strict=True)))
