"""Shared helpers for the benchmarks: runners for each implementation, best-of-N timing, tables.

Every benchmark is a function ``(runner, n) -> Sample``. The benchmark's own
async code times only the work (not loop creation) with `time.perf_counter_ns`
and returns the elapsed time together with what it counted, so a smoke test can
check that the work really happened.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import platform
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, cast

T = TypeVar("T")


class Runner(Protocol):
    """Runs ``await fn()`` on one implementation's event loop and returns the result."""

    def __call__(self, fn: Callable[[], Awaitable[T]], /) -> T: ...


@dataclass(frozen=True, slots=True)
class Sample:
    """One timed run: ``elapsed_ns`` for ``ops`` operations; ``count`` is what the work counted."""

    elapsed_ns: int
    ops: int
    count: int

    @property
    def ns_per_op(self) -> float:
        """Nanoseconds per operation."""
        return self.elapsed_ns / self.ops if self.ops else float("nan")


@dataclass(slots=True)
class Impl:
    """An implementation under test: its name, its family ("eio", "asyncio", "trio") and runner.

    ``skip_reason`` is set (and ``run`` is None) when it can't be used here.
    """

    name: str
    family: str
    run: Runner | None
    skip_reason: str | None = None


def eio_mock_runner() -> Impl:
    """eio on the deterministic mock loop."""
    import eio_mock

    return Impl("eio(mock)", "eio", eio_mock.backend.run)


def eio_uring_runner() -> Impl:
    """eio on the io_uring backend, when that backend exists and the kernel allows it."""
    try:
        # Imported by name: the backend is an optional workspace member.
        mod = importlib.import_module("eio_backend_uring")
    except ImportError as ex:
        return Impl("eio(uring)", "eio", None, f"not importable: {ex}")
    run_plain: object = getattr(mod, "run_plain", None)
    if not callable(run_plain):
        return Impl("eio(uring)", "eio", None, "eio_backend_uring.run_plain does not exist yet")
    reason_fn: object = getattr(mod, "unavailable_reason", None)
    if callable(reason_fn):
        reason: object = reason_fn()
        if reason is not None:
            return Impl("eio(uring)", "eio", None, f"unavailable: {reason}")
    # run_plain(fn) has the same contract as eio_mock.backend.run; found by name, so cast.
    return Impl("eio(uring)", "eio", cast(Runner, run_plain))


def eio_trio_runner() -> Impl:
    """eio hosted on trio (each run is a trio run whose system task steps the eio loop)."""
    try:
        mod = importlib.import_module("eio_backend_trio")
    except ImportError as ex:
        return Impl("eio(trio)", "eio", None, f"not importable: {ex}")
    reason: object = mod.unavailable_reason()
    if reason is not None:
        return Impl("eio(trio)", "eio", None, f"unavailable: {reason}")
    # run_plain(fn) has the same contract as eio_mock.backend.run; found by name, so cast.
    return Impl("eio(trio)", "eio", cast(Runner, mod.run_plain))


class _AsyncioRunner:
    """Runs an async function with `asyncio.Runner` on loops made by ``factory`` (None: asyncio's default)."""

    __slots__ = ("_factory",)

    def __init__(self, factory: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
        self._factory = factory

    def __call__(self, fn: Callable[[], Awaitable[T]], /) -> T:
        async def main() -> T:
            return await fn()

        with asyncio.Runner(loop_factory=self._factory) as runner:
            return runner.run(main())


def asyncio_runner() -> Impl:
    """asyncio with its default (pure selector) event loop."""
    return Impl("asyncio", "asyncio", _AsyncioRunner(None))


def uvloop_runner() -> Impl:
    """asyncio code on uvloop's libuv event loop."""
    try:
        import uvloop
    except ImportError as ex:
        return Impl("uvloop", "asyncio", None, f"not importable: {ex}")
    return Impl("uvloop", "asyncio", _AsyncioRunner(uvloop.new_event_loop))


def trio_runner() -> Impl:
    """trio."""
    try:
        import trio
    except ImportError as ex:
        return Impl("trio", "trio", None, f"not importable: {ex}")
    return Impl("trio", "trio", trio.run)


def all_impls() -> list[Impl]:
    """Every implementation, eio first (unusable ones carry a skip reason)."""
    return [eio_mock_runner(), eio_uring_runner(), asyncio_runner(), uvloop_runner(), trio_runner()]


def measure_once(gc_enabled: bool, once: Callable[[], Sample]) -> Sample:
    """One run of ``once``, with the collector emptied first and enabled or disabled as asked.

    Emptying it first means garbage left by the previous run (of any
    implementation) is not paid for by this one.
    """
    was_enabled = gc.isenabled()
    gc.collect()
    if gc_enabled:
        gc.enable()
    else:
        gc.disable()
    try:
        return once()
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()


def best_of(repeat: int, gc_enabled: bool, once: Callable[[], Sample]) -> Sample:
    """The fastest of ``repeat`` runs of ``once`` (see `measure_once`)."""
    best: Sample | None = None
    for _ in range(repeat):
        sample = measure_once(gc_enabled, once)
        if best is None or sample.elapsed_ns < best.elapsed_ns:
            best = sample
    assert best is not None
    return best


@dataclass(slots=True)
class Results:
    """ns/op per benchmark and implementation, plus what was skipped."""

    n: int
    repeat: int
    gc_enabled: bool
    ns_per_op: dict[str, dict[str, float]] = field(default_factory=lambda: {})
    skipped: dict[str, str] = field(default_factory=lambda: {})

    def ratios(self, eio_names: Sequence[str], peer_names: Sequence[str]) -> dict[str, dict[str, float]]:
        """``{bench: {"eio(mock)/uvloop": ratio}}``; below 1 means eio is faster."""
        out: dict[str, dict[str, float]] = {}
        for bench, row in self.ns_per_op.items():
            r: dict[str, float] = {}
            for e in eio_names:
                for p in peer_names:
                    if e in row and p in row and row[p] > 0:
                        r[f"{e}/{p}"] = row[e] / row[p]
            out[bench] = r
        return out


def machine_description() -> str:
    """Python version and CPU count, for the record."""
    import os

    return f"CPython {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}"


def format_table(results: Results, impl_names: Sequence[str]) -> str:
    """A Markdown table of ns/op: one row per benchmark, one column per implementation."""
    cols = [name for name in impl_names if any(name in row for row in results.ns_per_op.values())]
    lines = ["| ns/op | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for bench, row in results.ns_per_op.items():
        cells = [f"{row[c]:,.0f}" if c in row else "-" for c in cols]
        lines.append(f"| {bench} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_ratios(results: Results, eio_names: Sequence[str], peer_names: Sequence[str]) -> str:
    """A Markdown table of eio's cost relative to each peer (eio/peer; < 1: eio is faster)."""
    ratios = results.ratios(eio_names, peer_names)
    cols: list[str] = []
    for r in ratios.values():
        for k in r:
            if k not in cols:
                cols.append(k)
    if not cols:
        return "(no ratios: eio or its peers did not run)"
    lines = ["| eio/peer | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for bench, r in ratios.items():
        cells = [f"{r[c]:.2f}x" if c in r else "-" for c in cols]
        lines.append(f"| {bench} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: str, results: Results, eio_names: Sequence[str], peer_names: Sequence[str]) -> None:
    """Write the results, ratios and machine description as JSON."""
    doc = {
        "machine": machine_description(),
        "python": sys.version,
        "n": results.n,
        "repeat": results.repeat,
        "gc_enabled": results.gc_enabled,
        "ns_per_op": results.ns_per_op,
        "ratios": results.ratios(eio_names, peer_names),
        "skipped": results.skipped,
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
