"""The examples of Eio's README about the core, in Python, with their exact traces.

Sections: "Fibers", "Tracing", "Cancellation", "Racing", "Switches",
"Promises", "Example: Concurrent Cache" and "Design Note: Determinism".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import eio
import pytest
from conftest import Runner, Trace

K = TypeVar("K")
V = TypeVar("V")


class Failure(Exception):
    """OCaml's ``Failure``."""


def counter(name: str) -> Callable[[], Awaitable[None]]:
    async def f() -> None:
        for i in range(1, 4):
            eio.traceln(f"{name} = {i}")
            await eio.fiber.yield_()

    return f


# -- Fibers ----------------------------------------------------------------------------------


def test_fibers(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        await eio.fiber.both(counter("x"), counter("y"))

    run(main)
    assert trace.lines() == ["x = 1", "y = 1", "x = 2", "y = 2", "x = 3", "y = 3"]


# -- Tracing ---------------------------------------------------------------------------------


def test_traceln_writes_plus_prefixed_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    eio.traceln("x =", 1, [2])
    eio.traceln("two\nlines")
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "+x = 1 [2]\n+two\n+lines\n"


# -- Cancellation ----------------------------------------------------------------------------


def test_cancellation(run: Runner, trace: Trace) -> None:
    async def fails() -> None:
        raise Failure("Simulated error")

    async def main() -> None:
        await eio.fiber.both(counter("x"), fails)

    with pytest.raises(Failure, match="^Simulated error$"):
        run(main)
    assert trace.lines() == ["x = 1"]


def test_cancellation_is_seen_at_the_next_yield_and_protect_shields(run: Runner, trace: Trace) -> None:
    # Steps 5 and 6 of the README's explanation, and its advice on Cancel.protect.
    async def first() -> None:
        eio.traceln("x = 1")
        with eio.cancel.protect():
            await eio.fiber.yield_()
            eio.traceln("protected yield returned")
        try:
            await eio.fiber.yield_()
        except eio.Cancelled as ex:
            eio.traceln(f"yield raised {ex}")
            raise

    async def fails() -> None:
        raise Failure("Simulated error")

    async def main() -> None:
        await eio.fiber.both(first, fails)

    with pytest.raises(Failure, match="^Simulated error$"):
        run(main)
    assert trace.lines() == ["x = 1", "protected yield returned", "yield raised Cancelled: Failure('Simulated error')"]


# -- Racing ----------------------------------------------------------------------------------


def test_racing(run: Runner, trace: Trace) -> None:
    async def delayed() -> str:
        eio.traceln("first fiber delayed...")
        await eio.fiber.yield_()
        eio.traceln("delay over")
        return "a"

    async def quick() -> str:
        return "b"

    async def main() -> None:
        x = await eio.fiber.first(delayed, quick)
        eio.traceln(f"x = {x!r}")

    run(main)
    assert trace.lines() == ["first fiber delayed...", "x = 'b'"]


# -- Switches --------------------------------------------------------------------------------


def test_switches(run: Runner, trace: Trace) -> None:
    async def job(i: int) -> None:
        eio.traceln(f"Job {i} starting")
        await eio.fiber.yield_()
        eio.traceln(f"{i} done")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            for i in range(1, 4):
                eio.fiber.fork(sw, job, i)
            eio.traceln("All child fibers forked")
        eio.traceln("Switch is finished")

    run(main)
    assert trace.lines() == [
        "Job 1 starting",
        "Job 2 starting",
        "Job 3 starting",
        "All child fibers forked",
        "1 done",
        "2 done",
        "3 done",
        "Switch is finished",
    ]


def test_switch_fail_cancels_its_fibers_and_run_raises(run: Runner, trace: Trace) -> None:
    async def job() -> None:
        try:
            await eio.fiber.await_cancel()
        except eio.Cancelled:
            eio.traceln("job cancelled")
            raise

    async def main() -> None:
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, job)
            sw.fail(Failure("stop"))
            eio.traceln("body goes on")

    with pytest.raises(Failure, match="^stop$"):
        run(main)
    assert trace.lines() == ["body goes on", "job cancelled"]


# -- Promises --------------------------------------------------------------------------------


async def promises_demo() -> None:
    """The README's promise example: one fiber waits, the other resolves."""
    promise, resolver = eio.Promise[int].create()

    async def waiter() -> None:
        eio.traceln("Waiting for promise...")
        x = await promise
        eio.traceln(f"x = {x}")

    async def resolve() -> None:
        eio.traceln("Resolving promise")
        resolver.resolve(42)

    await eio.fiber.both(waiter, resolve)


PROMISES_TRACE = ["Waiting for promise...", "Resolving promise", "x = 42"]


def test_promises(run: Runner, trace: Trace) -> None:
    run(promises_demo)
    assert trace.lines() == PROMISES_TRACE


def test_promises_resolved_once_and_shared(run: Runner) -> None:
    async def main() -> tuple[int, int, bool]:
        p, r = eio.Promise[int].create()
        r.resolve(1)
        with pytest.raises(eio.AlreadyResolved):
            r.resolve(2)
        return await p, await p, p.is_resolved()

    assert run(main) == (1, 1, True)


def test_promises_wrap_callback_apis(run: Runner) -> None:
    def callback_api(x: int, on_success: Callable[[int], None], on_error: Callable[[BaseException], None]) -> None:
        if x > 0:
            on_success(x * 2)
        else:
            on_error(Failure("not positive"))

    async def wrap(x: int) -> int:
        promise, resolver = eio.Promise[int].create()
        callback_api(x, resolver.resolve, resolver.resolve_error)
        return await promise

    async def main() -> int:
        with pytest.raises(Failure, match="^not positive$"):
            await wrap(0)
        return await wrap(21)

    assert run(main) == 42


# -- Example: Concurrent Cache ---------------------------------------------------------------


def make_cache(fn: Callable[[K], Awaitable[V]]) -> Callable[[K], Awaitable[V]]:
    tbl: dict[K, eio.Promise[V]] = {}

    async def get(key: K) -> V:
        p = tbl.get(key)
        if p is not None:
            return await p
        p, r = eio.Promise[V].create()
        tbl[key] = p  # stored before anything can switch fibers
        try:
            v = await fn(key)
        except Exception as ex:
            r.resolve_error(ex)
            raise
        r.resolve(v)
        return v

    return get


async def fetch(url: str) -> str:
    eio.traceln(f"Fetching {url!r}...")
    await eio.fiber.yield_()  # simulate work
    eio.traceln(f"Got response for {url!r}")
    if url == "http://example.com":
        return "<h1>Example.com</h1>"
    raise Failure("404 Not Found")


async def concurrent_cache_demo() -> None:
    """The README's cache in use: two requests per URL, one fetch each."""
    c = make_cache(fetch)

    async def test(url: str) -> None:
        eio.traceln(f"Requesting {url}...")
        try:
            page = await c(url)
        except Failure as ex:
            eio.traceln(f"{url} -> {ex!r}")
        else:
            eio.traceln(f"{url} -> {page}")

    await eio.fiber.iter(test, ["http://example.com", "http://example.com", "http://bad.com", "http://bad.com"])


CONCURRENT_CACHE_TRACE = [
    "Requesting http://example.com...",
    "Fetching 'http://example.com'...",
    "Requesting http://example.com...",
    "Requesting http://bad.com...",
    "Fetching 'http://bad.com'...",
    "Requesting http://bad.com...",
    "Got response for 'http://example.com'",
    "http://example.com -> <h1>Example.com</h1>",
    "Got response for 'http://bad.com'",
    "http://bad.com -> Failure('404 Not Found')",
    "http://example.com -> <h1>Example.com</h1>",
    "http://bad.com -> Failure('404 Not Found')",
]


def test_concurrent_cache(run: Runner, trace: Trace) -> None:
    run(concurrent_cache_demo)
    assert trace.lines() == CONCURRENT_CACHE_TRACE


def test_both_runs_f_first_until_it_performs_an_effect(run: Runner, trace: Trace) -> None:
    async def f() -> None:
        eio.traceln("f starts")
        eio.traceln("f traces again: traceln never switches fibers")
        await eio.fiber.yield_()
        eio.traceln("f resumes")

    async def g() -> None:
        eio.traceln("g starts")

    async def main() -> None:
        await eio.fiber.both(f, g)

    run(main)
    assert trace.lines() == ["f starts", "f traces again: traceln never switches fibers", "g starts", "f resumes"]


def test_the_same_program_gives_the_same_trace_every_time(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async def worker(i: int) -> None:
            for step in range(3):
                eio.traceln(f"worker {i} step {step}")
                if (i + step) % 2:
                    await eio.fiber.yield_()

        await eio.fiber.iter(worker, range(4))

    run(main)
    first = trace.lines()
    for _ in range(3):
        run(main)
        assert trace.lines() == first
    assert first[:3] == ["worker 0 step 0", "worker 0 step 1", "worker 1 step 0"]
