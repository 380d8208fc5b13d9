"""Reading many small files at once: eio on io_uring vs trio and anyio (thread-based file IO).

Run ``uv run python bench/files.py [--files 1000] [--size 4096] [--repeat 5] [--json PATH]``
(anyio is not a dependency of the workspace; ``uv run --with anyio python bench/files.py``
adds it for one run). The files are made once in a temporary directory; every
implementation then reads all of them concurrently, in the same process:

- eio(uring): ``eio.fiber.map`` of ``Path.load`` over a sandboxed directory
  capability (``open_subtree`` of the temporary directory): OPENAT2 with
  ``RESOLVE_BENEATH`` and READ go through the ring, many per system call;
- eio(uring,fs): the same through the unrestricted ``fs`` capability and
  absolute paths;
- trio: ``trio.Path.read_bytes`` (a worker thread per call, trio's default
  limit of 40 threads) started in a nursery;
- anyio: ``anyio.Path.read_bytes`` (the same, on asyncio) in a task group.

Only the reading is timed. Each result is checked (every file's bytes).
Reported: ns per file, and eio's time relative to each peer (< 1: eio is faster).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from time import perf_counter_ns
from typing import Any, cast

if not __package__:
    # Run as a script: make the repository root importable so `bench` resolves.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import eio

from bench._common import Results, Sample, best_of, format_ratios, format_table, machine_description, write_json

EIO_NAMES = ["eio(uring)", "eio(uring,fs)"]
PEER_NAMES = ["trio", "anyio"]

Bench = Callable[[str, list[str], bytes], Sample]


def make_files(root: str, n: int, size: int) -> tuple[list[str], bytes]:
    """``n`` files of ``size`` bytes in ``root``; their names and the content of the first.

    Every file has the same length and starts with its own number, so a
    mixed-up read would be noticed.
    """
    body = os.urandom(size)
    names: list[str] = []
    for i in range(n):
        name = f"f{i:05d}"
        with open(os.path.join(root, name), "wb") as f:
            f.write(b"%08d" % i + body[8:])
        names.append(name)
    return names, body[8:]


def _check(datas: list[bytes], tail: bytes) -> int:
    for i, data in enumerate(datas):
        if data[:8] != b"%08d" % i or data[8:] != tail:
            raise AssertionError(f"file {i} read wrong: {data[:16]!r}...")
    return len(datas)


# -- eio ---------------------------------------------------------------------------------


def eio_subtree(root: str, names: list[str], tail: bytes) -> Sample:
    """eio on io_uring, through a sandboxed directory capability."""
    from eio_backend_uring._fs import fs_dir
    from eio_backend_uring._run import run_plain

    async def load(p: eio.Path) -> bytes:
        return await p.load()

    async def main() -> Sample:
        async with (eio.Path(fs_dir()) / root).open_subtree() as d:
            paths = [d / name for name in names]
            t0 = perf_counter_ns()
            datas = await eio.fiber.map(load, paths)
            elapsed = perf_counter_ns() - t0
        return Sample(elapsed, len(names), _check(datas, tail))

    return run_plain(main)


def eio_fs(root: str, names: list[str], tail: bytes) -> Sample:
    """eio on io_uring, absolute paths through the unrestricted ``fs``."""
    from eio_backend_uring._fs import fs_dir
    from eio_backend_uring._run import run_plain

    async def load(p: eio.Path) -> bytes:
        return await p.load()

    async def main() -> Sample:
        fs = eio.Path(fs_dir())
        paths = [fs / os.path.join(root, name) for name in names]
        t0 = perf_counter_ns()
        datas = await eio.fiber.map(load, paths)
        elapsed = perf_counter_ns() - t0
        return Sample(elapsed, len(names), _check(datas, tail))

    return run_plain(main)


# -- peers ---------------------------------------------------------------------------------


def trio_read(root: str, names: list[str], tail: bytes) -> Sample:
    """trio: ``trio.Path.read_bytes`` for every file, in one nursery."""
    import trio

    async def main() -> Sample:
        datas: list[bytes] = [b""] * len(names)
        paths = [trio.Path(root, name) for name in names]

        async def read(i: int) -> None:
            datas[i] = await paths[i].read_bytes()

        t0 = perf_counter_ns()
        async with trio.open_nursery() as nursery:
            for i in range(len(paths)):
                nursery.start_soon(read, i)
        elapsed = perf_counter_ns() - t0
        return Sample(elapsed, len(names), _check(datas, tail))

    return trio.run(main)


def anyio_read(root: str, names: list[str], tail: bytes) -> Sample:
    """anyio (on asyncio): ``anyio.Path.read_bytes`` for every file, in one task group."""
    # Any: anyio is optional (not a workspace dependency), so it has no types at check time.
    anyio: Any = importlib.import_module("anyio")

    async def main() -> Sample:
        datas: list[bytes] = [b""] * len(names)
        paths = [anyio.Path(root, name) for name in names]

        async def read(i: int) -> None:
            datas[i] = await paths[i].read_bytes()

        t0 = perf_counter_ns()
        async with anyio.create_task_group() as tg:
            for i in range(len(paths)):
                tg.start_soon(read, i)
        elapsed = perf_counter_ns() - t0
        return Sample(elapsed, len(names), _check(datas, tail))

    return cast(Sample, anyio.run(main))


def _available() -> tuple[dict[str, Bench], dict[str, str]]:
    """The implementations that can run here, and why the others can't."""
    benches: dict[str, Bench] = {}
    skipped: dict[str, str] = {}
    try:
        from eio_backend_uring._ring import unavailable_reason

        reason = unavailable_reason()
    except ImportError as ex:
        reason = f"not importable: {ex}"
    if reason is None:
        benches["eio(uring)"] = eio_subtree
        benches["eio(uring,fs)"] = eio_fs
    else:
        skipped["eio(uring)"] = skipped["eio(uring,fs)"] = reason
    for name, fn, module in (("trio", trio_read, "trio"), ("anyio", anyio_read, "anyio")):
        try:
            __import__(module)
        except ImportError as ex:
            skipped[name] = f"not importable ({ex}); try: uv run --with {module} python bench/files.py"
        else:
            benches[name] = fn
    return benches, skipped


def run_all(
    n_files: int, size: int, repeat: int, gc_enabled: bool, progress: Callable[[str], object] = lambda _: None
) -> Results:
    """Make the files, then time every available implementation reading them (best of ``repeat``)."""
    benches, skipped = _available()
    results = Results(n=n_files, repeat=repeat, gc_enabled=gc_enabled, skipped=skipped)
    root = tempfile.mkdtemp(prefix="eio-bench-files-")
    try:
        names, tail = make_files(root, n_files, size)
        row: dict[str, float] = {}
        label = f"load {n_files} x {size} B"
        for name, fn in benches.items():
            sample = best_of(repeat, gc_enabled, _bind(fn, root, names, tail))
            row[name] = sample.ns_per_op
            progress(f"{name}: {sample.ns_per_op:,.0f} ns per file")
        results.ns_per_op[label] = row
    finally:
        shutil.rmtree(root)
    return results


def _bind(fn: Bench, root: str, names: list[str], tail: bytes) -> Callable[[], Sample]:
    return lambda: fn(root, names, tail)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000, help="number of files (default 1000)")
    parser.add_argument("--size", type=int, default=4096, help="bytes per file (default 4096; at least 8)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the best is kept (default 5)")
    parser.add_argument("--gc", choices=("on", "off"), default="on", help="garbage collector during runs (default on)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    n, size, repeat = int(args.files), int(args.size), int(args.repeat)
    if n < 1 or repeat < 1 or size < 8:
        parser.error("--files and --repeat must be at least 1, --size at least 8")

    print(f"{machine_description()}; {n:,} files of {size:,} B read concurrently, best of {repeat}, gc {args.gc}")
    results = run_all(n, size, repeat, args.gc == "on", lambda line: print(line, flush=True))
    for name, reason in results.skipped.items():
        print(f"skipped {name}: {reason}")
    print()
    print(format_table(results, [*EIO_NAMES, *PEER_NAMES]))
    print()
    print(format_ratios(results, EIO_NAMES, PEER_NAMES))
    if args.json:
        write_json(str(args.json), results, EIO_NAMES, PEER_NAMES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
