"""The ``eio`` pytest plugin, driven through pytester: a user's test file is run by an inner pytest."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import eio_main._registry
import eio_mock.backend
import pytest
from eio.lowlevel import BackendInfo
from eio_main._registry import Registry, discover

pytest_plugins = ["pytester"]

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _available() -> list[str]:
    """The backends a plain ``@pytest.mark.eio`` runs on here, in the plugin's order."""
    infos = sorted(discover().backends.values(), key=lambda info: (-info.priority, info.name))
    return [info.name for info in infos if info.unavailable_reason() is None]


AVAILABLE = _available()
RESULT_LINE = re.compile(r"^(\S+::\S+) (PASSED|FAILED|SKIPPED|ERROR|XFAIL)\b")


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Write ``source`` as test_user.py and run pytest on it, verbosely."""
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest("-p", "no:cacheprovider", "-v", "-rs", *args)


def outcomes(result: pytest.RunResult) -> list[tuple[str, str]]:
    """(test id, outcome) for each test, in the order they ran."""
    found: list[tuple[str, str]] = []
    for line in result.outlines:
        match = RESULT_LINE.match(line)
        if match:
            found.append((match[1].removeprefix("test_user.py::"), match[2]))
    return found


def test_there_is_a_backend_besides_the_mock() -> None:
    # The other tests' expectations are computed from AVAILABLE; this one
    # makes sure they are not all about the mock alone where io_uring works.
    assert AVAILABLE[-1] == "mock"
    assert len(AVAILABLE) >= 1


def test_a_marked_async_test_runs_once_per_backend_with_that_backends_env(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        ENV_TYPES = {"uring": "eio.unix._env.UnixEnv", "mock": "eio_mock.backend.MockEnv"}

        @pytest.mark.eio
        async def test_env(env, eio_backend):
            assert env.backend_id == eio_backend
            t = type(env)
            assert f"{t.__module__}.{t.__qualname__}" == ENV_TYPES.get(eio_backend, f"{t.__module__}.{t.__qualname__}")
        """,
    )
    assert outcomes(result) == [(f"test_env[{name}]", "PASSED") for name in AVAILABLE]
    result.assert_outcomes(passed=len(AVAILABLE))


def test_the_mock_env_clock_advances_by_itself(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest
        import eio

        @pytest.mark.eio(backends=["mock"])
        async def test_sleep(env):
            await eio.time.sleep(env.clock, 3600.0)
            assert eio.time.now(env.clock) == 3600.0
            assert type(env).__name__ == "MockEnv"
        """,
    )
    assert outcomes(result) == [("test_sleep[mock]", "PASSED")]


def test_a_test_without_env_runs_on_a_bare_loop_of_the_backend(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest
        import eio
        from eio.lowlevel import current_loop

        @pytest.mark.eio
        async def test_plain(eio_backend, tmp_path):
            assert current_loop().backend_id == eio_backend
            assert tmp_path.is_dir()  # sync fixtures reach async tests
            a, b = await eio.fiber.pair(lambda: eio.fiber.yield_(), lambda: eio.fiber.yield_())
        """,
    )
    assert outcomes(result) == [(f"test_plain[{name}]", "PASSED") for name in AVAILABLE]


def test_backends_in_the_marker_choose_the_backends(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.eio(backends=["mock"])
        async def test_mock_only(env):
            assert env.backend_id == "mock"

        @pytest.mark.eio(backends=("mock", "mock"))
        async def test_named_twice(eio_backend):
            assert eio_backend == "mock"
        """,
    )
    assert outcomes(result) == [("test_mock_only[mock]", "PASSED"), ("test_named_twice[mock]", "PASSED")]


def test_the_eio_backend_fixture_parametrizes_sync_tests(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        textwrap.dedent(
            """
        import pytest

        seen = []

        def test_unmarked(eio_backend):
            seen.append(eio_backend)

        @pytest.mark.eio
        def test_marked_sync(eio_backend):
            seen.append(eio_backend)

        @pytest.mark.eio
        def test_marked_sync_without_the_fixture():
            seen.append("-")

        def test_last():
            assert seen == EXPECTED
        """
        )
        + f"\nEXPECTED = {[*AVAILABLE, *AVAILABLE, *['-' for _ in AVAILABLE]]!r}\n",
    )
    assert outcomes(result) == [
        *[(f"test_unmarked[{name}]", "PASSED") for name in AVAILABLE],
        *[(f"test_marked_sync[{name}]", "PASSED") for name in AVAILABLE],
        *[(f"test_marked_sync_without_the_fixture[{name}]", "PASSED") for name in AVAILABLE],
        ("test_last", "PASSED"),
    ]


def test_ids_combine_with_other_parametrizations_and_with_class_and_module_marks(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        pytestmark = pytest.mark.eio(backends=["mock"])

        @pytest.mark.parametrize("n", [1, 2])
        async def test_param(env, n):
            assert n in (1, 2)

        @pytest.fixture(params=["a", "b"])
        def letter(request):
            return request.param

        async def test_fixture_param(letter, eio_backend):
            assert letter in "ab"

        class TestGroup:
            @pytest.mark.eio
            async def test_method(self, env):
                assert env.backend_id

            def test_sync_method(self, eio_backend):
                assert eio_backend == "mock"
        """,
    )
    assert outcomes(result) == [
        ("test_param[mock-1]", "PASSED"),
        ("test_param[mock-2]", "PASSED"),
        ("test_fixture_param[a-mock]", "PASSED"),
        ("test_fixture_param[b-mock]", "PASSED"),
        # The closest mark wins: the method's own runs on every backend.
        *[(f"TestGroup::test_method[{name}]", "PASSED") for name in AVAILABLE],
        ("TestGroup::test_sync_method[mock]", "PASSED"),
    ]


def test_eio_backend_looked_up_at_run_time_is_a_clear_error(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        def test_dynamic(request):
            request.getfixturevalue("eio_backend")
        """,
    )
    assert outcomes(result) == [("test_dynamic", "FAILED")]
    result.stdout.fnmatch_lines(
        ["eio_backend: this test was not parametrized by eio backend (name eio_backend among its arguments)"]
    )


USER_TESTS = """
import pytest

@pytest.mark.eio
async def test_all(env, eio_backend):
    assert env.backend_id == eio_backend

@pytest.mark.eio(backends=["mock"])
async def test_mock(env):
    assert env.backend_id == "mock"

def test_sync(eio_backend):
    pass

def test_unrelated():
    pass
"""


def test_eio_backend_option_keeps_only_the_backends_named(pytester: pytest.Pytester) -> None:
    result = run(pytester, USER_TESTS, "--eio-backend", "mock")
    assert outcomes(result) == [
        ("test_all[mock]", "PASSED"),
        ("test_mock[mock]", "PASSED"),
        ("test_sync[mock]", "PASSED"),
        ("test_unrelated", "PASSED"),
    ]
    others = len(AVAILABLE) - 1
    result.assert_outcomes(passed=4, deselected=2 * others)


@pytest.mark.skipif("uring" not in AVAILABLE, reason="io_uring can't be used here")
def test_eio_backend_option_is_repeatable(pytester: pytest.Pytester) -> None:
    result = run(pytester, USER_TESTS, "--eio-backend", "uring", "--eio-backend", "mock")
    assert outcomes(result) == [
        ("test_all[uring]", "PASSED"),
        ("test_all[mock]", "PASSED"),
        ("test_mock[mock]", "PASSED"),
        ("test_sync[uring]", "PASSED"),
        ("test_sync[mock]", "PASSED"),
        ("test_unrelated", "PASSED"),
    ]
    result = run(pytester, USER_TESTS, "--eio-backend", "uring")
    assert outcomes(result) == [("test_all[uring]", "PASSED"), ("test_sync[uring]", "PASSED"), ("test_unrelated", "PASSED")]
    # Every other backend's test_all and test_sync, and test_mock[mock], are deselected.
    result.assert_outcomes(passed=3, deselected=2 * (len(AVAILABLE) - 1) + 1)


def test_an_unknown_backend_in_the_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, USER_TESTS, "--eio-backend", "mock", "--eio-backend", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    known = ", ".join(sorted(discover().backends))
    assert f"ERROR: --eio-backend: unknown eio backend 'nope'; known backends: {known}" in result.errlines
    assert outcomes(result) == []


def test_an_unknown_backend_in_the_marker_is_a_collection_error(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.eio(backends=["mock", "nope", "nada"])
        async def test_x(env):
            pass
        """,
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    known = ", ".join(sorted(discover().backends))
    result.stdout.fnmatch_lines(
        [f"@pytest.mark.eio on test_user.py::test_x: unknown eio backend 'nope', 'nada'; known backends: {known}"]
    )
    result.assert_outcomes(errors=1)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('pytest.mark.eio("mock")', "takes no positional arguments (use backends=[...])"),
        ('pytest.mark.eio(backend=["mock"])', "unexpected argument backend (the only one is backends=[...])"),
        ('pytest.mark.eio(backends="mock")', "backends must be a list of backend names, not 'mock'"),
        ("pytest.mark.eio(backends=[])", "backends must be a non-empty list of backend names, not []"),
    ],
)
def test_a_malformed_marker_is_a_collection_error(pytester: pytest.Pytester, marker: str, message: str) -> None:
    result = run(pytester, f"import pytest\n\n@{marker}\nasync def test_x(env):\n    pass\n")
    result.stdout.fnmatch_lines([f"@pytest.mark.eio on test_user.py::test_x: {message}"])
    result.assert_outcomes(errors=1)


FAILING = """
import pytest
import eio

async def check(clock, n):
    await eio.time.sleep(clock, 1.0)
    assert n == 3

@pytest.mark.eio
async def test_assert(env):
    x = 1
    assert x == 2

@pytest.mark.eio(backends=["mock"])
async def test_nested(env):
    await check(env.clock, 2)

@pytest.mark.eio
async def test_plain():
    raise KeyError("boom")

@pytest.mark.eio(backends=["mock"])
async def test_deadlock():
    promise, _ = eio.Promise.create()
    await promise
"""


def test_a_failure_shows_the_tests_traceback_with_assertion_rewriting(pytester: pytest.Pytester) -> None:
    result = run(pytester, FAILING)
    assert outcomes(result) == [
        *[(f"test_assert[{name}]", "FAILED") for name in AVAILABLE],
        ("test_nested[mock]", "FAILED"),
        *[(f"test_plain[{name}]", "FAILED") for name in AVAILABLE],
        ("test_deadlock[mock]", "FAILED"),
    ]
    out = result.stdout.str().partition("= FAILURES =")[2]
    # The rewritten assertion's message, and the test's own lines.
    assert out.count("E       assert 1 == 2") == len(AVAILABLE)
    assert out.count(">       assert x == 2") == len(AVAILABLE)
    assert out.count("E       assert 2 == 3") == 1
    assert out.count(">       await check(env.clock, 2)") == 1
    assert out.count("E       KeyError: 'boom'") == len(AVAILABLE)
    # Each traceback starts at the test function: no frame of the plugin, of
    # pluggy, of the backends' run functions or of the run loop.
    for runner in ("pytest_plugin.py", "pluggy", "eio_mock/", "eio_backend_uring", "_loop.py", "_run("):
        assert runner not in out
    # An error of the runtime's own (the test's fiber did not raise it) is
    # shown alone, without the frames of the loop that detected it.
    result.stdout.fnmatch_lines(["*_ test_deadlock[[]mock[]] _*", "", "E   *Deadlock*", "All traceback entries are hidden.*"])
    result.stdout.fnmatch_lines(["*_ test_assert[[]mock[]] _*", "", "env = MockEnv(*", "", "    @pytest.mark.eio"])
    # --full-trace keeps them.
    result = pytester.runpytest("-p", "no:cacheprovider", "--full-trace", "-k", "deadlock")
    result.assert_outcomes(failed=1)
    assert "_loop.py" in result.stdout.str().partition("= FAILURES =")[2]


def test_unmarked_async_tests_are_left_to_other_plugins(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_on_anyio(anyio_backend):
            import asyncio
            await asyncio.sleep(0)

        async def test_no_plugin():
            pass
        """,
    )
    assert outcomes(result) == [("test_on_anyio", "PASSED"), ("test_no_plugin", "FAILED")]
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])


def _fake_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    """Add a backend without ``run_plain`` and one that can't run here, beside the installed ones."""

    def run_full(main: Callable[[Any], Awaitable[Any]]) -> Any:
        return eio_mock.backend.run_full(main)

    def discover_with_fakes() -> Registry:
        registry = discover()
        registry.register(BackendInfo("noplain", -1, run_full, lambda: None, "eio-backend-noplain", auto=False))
        registry.register(BackendInfo("broken", 1, run_full, lambda: "needs a broken kernel", "eio-backend-broken"))
        return registry

    monkeypatch.setattr(eio_main._registry, "discover", discover_with_fakes)


def test_a_backend_without_run_plain_runs_tests_without_env_through_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_backends(monkeypatch)
    result = run(
        pytester,
        """
        import pytest
        from eio.lowlevel import current_loop

        @pytest.mark.eio(backends=["noplain"])
        async def test_plain(eio_backend):
            assert current_loop().backend_id == "mock"  # run_full's loop

        @pytest.mark.eio(backends=["noplain"])
        async def test_env(env):
            assert env.backend_id == "mock"
        """,
    )
    assert outcomes(result) == [("test_plain[noplain]", "PASSED"), ("test_env[noplain]", "PASSED")]


def test_a_backend_that_cant_run_here_is_skipped_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_backends(monkeypatch)
    source = """
        import pytest

        @pytest.mark.eio
        async def test_default(env):
            pass

        @pytest.mark.eio(backends=["broken", "mock"])
        async def test_named(env):
            pass
        """
    result = run(pytester, source)
    # Without backends=..., only the backends usable here run (the unusable one is not listed).
    assert outcomes(result) == [
        *[(f"test_default[{name}]", "PASSED") for name in [*AVAILABLE, "noplain"]],
        ("test_named[broken]", "SKIPPED"),
        ("test_named[mock]", "PASSED"),
    ]
    result.stdout.fnmatch_lines(
        ["SKIPPED [[]1[]] test_user.py:7: eio backend 'broken' can't be used here: needs a broken kernel"]
    )
    # Asked for by --eio-backend, it is listed for every test, skipped.
    result = run(pytester, source, "--eio-backend", "broken")
    assert outcomes(result) == [("test_default[broken]", "SKIPPED"), ("test_named[broken]", "SKIPPED")]


README_EXAMPLE = re.search(
    r"## Testing your code with pytest\n.*?```py\n(.*?)```.*?```text\n(.*?)```", README, flags=re.DOTALL
)


def test_the_readme_example(pytester: pytest.Pytester) -> None:
    assert README_EXAMPLE is not None
    code, expected = README_EXAMPLE[1], README_EXAMPLE[2]
    name, _, body = code.partition("\n")
    assert name == "# test_example.py"
    pytester.makepyfile(test_example=body)
    # The README shows the run on Linux with io_uring: here, the lines of the
    # backends that can't run are absent, and other installed backends add theirs.
    shown = [line for line in expected.splitlines() if backend_of(line) in AVAILABLE]
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "test_example.py")
    ran = [f"test_example.py::{test} {outcome}" for test, outcome in outcomes_of(result, "test_example.py")]
    assert [line for line in ran if backend_of(line) in ("uring", "mock")] == shown
    assert all(line.endswith(" PASSED") for line in ran)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "test_example.py", "--eio-backend", "mock")
    ran = [f"test_example.py::{test} {outcome}" for test, outcome in outcomes_of(result, "test_example.py")]
    assert ran == [line for line in shown if "[mock]" in line]


def outcomes_of(result: pytest.RunResult, filename: str) -> list[tuple[str, str]]:
    """`outcomes` for a file other than test_user.py."""
    return [(test.removeprefix(f"{filename}::"), outcome) for test, outcome in outcomes(result)]


def backend_of(line: str) -> str:
    """The backend in a result line's test id: "uring" in "test_example.py::test_x[uring] PASSED"."""
    match = re.search(r"\[([\w-]+)\] ", line)
    assert match is not None, line
    return match[1]
