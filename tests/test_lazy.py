"""`eio.Lazy`, after Eio's tests/lazy.md."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal, cast

import eio
import pytest
from conftest import Runner, Trace

import eio_mock


def fmt_exn(ex: BaseException) -> str:
    return str(ex) if isinstance(ex, eio.Cancelled) else repr(ex)


async def force_and_trace(label: str, v: eio.Lazy[int]) -> None:
    eio.traceln(f"{label}: forcing...")
    try:
        x = await v.force()
    except (Exception, eio.Cancelled) as ex:
        # A recorded cancellation is reported like any error, unless this fiber is cancelled too.
        eio.traceln(f"{label}: {fmt_exn(ex)}")
        eio.fiber.check()
    else:
        eio.fiber.check()
        eio.traceln(f"{label}: {x}")


async def calculate() -> int:
    eio.traceln("calculating...")
    await eio.fiber.yield_()
    eio.traceln("complete")
    return 42


def test_two_fibers_share_one_computation(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        v = eio.Lazy.from_fun(calculate, cancel="restart")
        await eio.fiber.both(lambda: force_and_trace("a", v), lambda: force_and_trace("b", v))

    run(main)
    assert trace.lines() == ["a: forcing...", "calculating...", "b: forcing...", "complete", "a: 42", "b: 42"]


def test_a_failure_is_computed_once_and_seen_by_all(run: Runner, trace: Trace) -> None:
    async def fail() -> int:
        eio.traceln("calculating...")
        await eio.fiber.yield_()
        raise RuntimeError("failed")

    async def main() -> None:
        v = eio.Lazy.from_fun(fail, cancel="restart")
        await eio.fiber.both(lambda: force_and_trace("a", v), lambda: force_and_trace("b", v))
        assert v.is_forced()

    run(main)
    assert trace.lines() == [
        "a: forcing...",
        "calculating...",
        "b: forcing...",
        "a: RuntimeError('failed')",
        "b: RuntimeError('failed')",
    ]


def run_cancel_test(run: Runner, cancel: Literal["restart", "record", "protect"]) -> None:
    async def main() -> None:
        v = eio.Lazy.from_fun(calculate, cancel=cancel)

        async def a() -> None:
            async def force_a() -> int:
                await force_and_trace("a", v)
                raise AssertionError("a's force should have been cancelled")

            async def five() -> int:
                return 5

            x = await eio.fiber.first(force_a, five)
            eio.traceln(f"a: {x}")

        await eio.fiber.both(a, lambda: force_and_trace("b", v))

    run(main)


NOT_FIRST = "Cancelled: _NotFirst('another fiber finished first')"


def test_cancel_record_keeps_the_cancellation(run: Runner, trace: Trace) -> None:
    run_cancel_test(run, "record")
    assert trace.lines() == [
        "a: forcing...",
        "calculating...",
        "b: forcing...",
        f"a: {NOT_FIRST}",
        f"b: {NOT_FIRST}",
        "a: 5",
    ]


def test_cancel_protect_finishes_the_computation(run: Runner, trace: Trace) -> None:
    run_cancel_test(run, "protect")
    assert trace.lines() == ["a: forcing...", "calculating...", "b: forcing...", "complete", "b: 42", "a: 5"]


def test_cancel_restart_lets_the_next_fiber_compute(run: Runner, trace: Trace) -> None:
    run_cancel_test(run, "restart")
    assert trace.lines() == [
        "a: forcing...",
        "calculating...",
        "b: forcing...",
        f"a: {NOT_FIRST}",
        "calculating...",
        "a: 5",
        "complete",
        "b: 42",
    ]


def test_from_val_and_later_forces_do_not_rerun(run: Runner, trace: Trace) -> None:
    calls = 0

    async def count() -> int:
        nonlocal calls
        calls += 1
        return calls

    async def main() -> tuple[int, int, str]:
        v = eio.Lazy.from_fun(count)
        assert repr(v) == "<Lazy not forced>"
        a = await v.force()
        b = await v.force()
        return a + b, await eio.Lazy.from_val(7).force(), repr(v)

    assert run(main) == (2, 7, "<Lazy forced>")
    assert calls == 1


def test_the_recorded_error_is_the_same_object_each_time(run: Runner) -> None:
    error = ValueError("bad")

    async def fail() -> int:
        raise error

    async def main() -> None:
        v = eio.Lazy.from_fun(fail, cancel="record")
        for _ in range(3):
            with pytest.raises(ValueError) as info:
                await v.force()
            assert info.value is error

    run(main)


def test_misuse_is_reported(run: Runner) -> None:
    async def f() -> int:
        return 1

    with pytest.raises(ValueError, match="Lazy.from_fun: cancel must be 'restart', 'record' or 'protect', not 'never'"):
        eio.Lazy.from_fun(f, cancel="never")  # pyright: ignore[reportArgumentType] - testing the run-time check

    with pytest.raises(TypeError, match=r"Lazy.from_fun expects an async function, but got a coroutine object"):
        eio.Lazy.from_fun(f())  # pyright: ignore[reportArgumentType] - testing the run-time check
    with pytest.raises(TypeError, match=r"Lazy.from_fun expects an async function, not int"):
        eio.Lazy.from_fun(3)  # pyright: ignore[reportArgumentType] - testing the run-time check

    def not_async() -> int:
        return 1

    async def main() -> None:
        v = eio.Lazy.from_fun(cast(Callable[[], Awaitable[int]], not_async))  # wrong on purpose
        with pytest.raises(TypeError, match=r"Lazy.from_fun expects an async function, but .*not_async returned int"):
            await v.force()

    run(main)


def test_domains_share_one_computation(run: Runner) -> None:
    calls = 0

    async def slow() -> int:
        nonlocal calls
        calls += 1
        for _ in range(20):
            await eio.fiber.yield_()
        return 42

    async def main() -> list[int]:
        v = eio.Lazy.from_fun(slow)
        dm = eio_mock.domain_manager.threads()
        return await eio.fiber.map(lambda _: eio.domain_manager.run(dm, v.force), range(4))

    assert run(main) == [42, 42, 42, 42]
    assert calls == 1
