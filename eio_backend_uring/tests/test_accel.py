"""The compiled accelerator and the pure-Python ring give identical results.

The whole suite runs once with the accelerator and once with
``EIO_PURE_PYTHON=1`` in CI; these tests compare the two paths directly,
in child processes, whichever way this process runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

if sys.platform != "linux":
    pytest.skip("io_uring is Linux-only", allow_module_level=True)
assert sys.platform == "linux"  # tells pyright's per-platform pass the rest is Linux-only

from eio_backend_uring._accel_choice import ACCELERATED, NOT_ACCELERATED_BECAUSE, pure_python_requested
from eio_backend_uring._probe import unavailable_reason

from eio_backend_uring import _abi

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))

HERE = Path(__file__).parent


def run_child(args: list[str], pure: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pure:
        env["EIO_PURE_PYTHON"] = "1"
    else:
        env.pop("EIO_PURE_PYTHON", None)
    return subprocess.run([sys.executable, *args], cwd=HERE, env=env, capture_output=True, text=True, timeout=120, check=False)


def accelerator_built() -> bool:
    return any(
        p.name.startswith("_accel.") and p.suffix == ".so" for p in (HERE.parent / "src/eio_backend_uring").iterdir()
    ) or (run_child(["-c", "import eio_backend_uring._accel"], pure=False).returncode == 0)


def test_the_choice_follows_the_environment() -> None:
    if pure_python_requested():
        assert not ACCELERATED
        assert NOT_ACCELERATED_BECAUSE == "EIO_PURE_PYTHON is set"
    elif shutil.which(str(sysconfig.get_config_var("CC") or "cc").split()[0]):
        # A machine with a compiler builds it; a silent fallback here would leave it untested.
        assert ACCELERATED, NOT_ACCELERATED_BECAUSE
    probe = "from eio_backend_uring._accel_choice import ACCELERATED as A, NOT_ACCELERATED_BECAUSE as B; print(A, B)"
    assert run_child(["-c", probe], pure=True).stdout == "False EIO_PURE_PYTHON is set\n"


@pytest.mark.skipif(not accelerator_built(), reason="the accelerator was not built (no C compiler at install)")
def test_constants_match_the_abi_module() -> None:
    from eio_backend_uring import _accel

    expected = {name: getattr(_abi, name) for name in _accel.CONSTANTS}
    assert _accel.CONSTANTS == expected
    assert len(expected) == 15


@pytest.mark.skipif(not accelerator_built(), reason="the accelerator was not built (no C compiler at install)")
def test_the_same_trace_both_ways() -> None:
    accelerated = run_child(["ring_trace.py"], pure=False)
    pure = run_child(["ring_trace.py"], pure=True)
    assert accelerated.returncode == 0, accelerated.stderr
    assert pure.returncode == 0, pure.stderr
    a_lines = accelerated.stdout.splitlines()
    p_lines = pure.stdout.splitlines()
    assert a_lines[0] == "accelerated: True"
    assert p_lines[0] == "accelerated: False"
    assert a_lines[1:] == p_lines[1:]
    # Not two empty traces: what the kernel did is in them.
    text = accelerated.stdout
    assert "write: [(1, 5, 0)]\n" in text
    assert "read into a Pinned: ([(12, 23, 0)], b'pinned!view-robytearray')\n" in text
    assert "cancelled: [(5, 125), (6, 125), (7, 0), (8, 0)]\n" in text
    assert "seen after poll_nowait: [300, 301, 302, 303, 304]\n" in text
    assert "woken: (['a', 'b'], None, 0, None, 0, {}, {})\n" in text
    assert "prep on a closed ring: raised ValueError: the ring is closed\n" in text
    assert "woken, and what the inner reaps got: (['d', 'e'], [[], None, [], None])\n" in text
    assert "then in the backlog: (29, (2071, 0, 0), (2099, 0, 0), 29)\n" in text
    assert len(a_lines) == 55


@pytest.mark.skipif(not accelerator_built(), reason="the accelerator was not built (no C compiler at install)")
def test_the_rings_own_tests_pass_the_other_way() -> None:
    # Whichever path this process uses, run the ring's tests on the other one too.
    other = run_child(["-m", "pytest", "-q", "-p", "no:randomly", "test_ring.py"], pure=ACCELERATED)
    assert other.returncode == 0, other.stdout[-3000:]
    assert " passed" in other.stdout
    assert "failed" not in other.stdout


@pytest.mark.skipif(not accelerator_built(), reason="the accelerator was not built (no C compiler at install)")
def test_the_compiled_ring_keeps_its_own_state_sound() -> None:
    # The C code reads _inflight and _backlog without checking them: they stay a dict and a list.
    from eio_backend_uring._accel import RingCore

    core = RingCore()
    assert (getattr(core, "_inflight"), getattr(core, "_backlog"), getattr(core, "_fd")) == ({}, [], -1)
    wrong: list[tuple[str, object]] = [("_inflight", []), ("_backlog", {}), ("_backlog", None)]
    for name, bad in wrong:
        with pytest.raises(TypeError, match=f"{name} must be a"):
            setattr(core, name, bad)
    with pytest.raises(TypeError, match="_backlog must be a list"):
        delattr(core, "_backlog")
    # Never attached to a ring: every operation says the ring is closed.
    with pytest.raises(ValueError, match="the ring is closed"):
        core.prep_poll_add(1, 0, 1)
    with pytest.raises(ValueError, match="the ring is closed"):
        core.submit_and_wait(1, 0.1)
    core.requeue([(1, 0, 0)])
    assert getattr(core, "_backlog") == [(1, 0, 0)]
