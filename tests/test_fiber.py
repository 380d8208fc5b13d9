"""Conformance: `eio.fiber` (Eio's tests/fiber.md).

Each test reproduces one case of Eio's file: the same trace, in the same
order, and the same outcome. Eio's ``Failure "x"`` is the local `Failure`
here, ``Exit`` the local `Exit`; fiber-local storage is `contextvars`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import eio
import pytest
from conftest import Runner, Trace

T = TypeVar("T")


class Failure(Exception):
    """Eio's ``Failure``."""


class Exit(Exception):
    """Eio's ``Stdlib.Exit``."""


def run_traced(run: Runner, fn: Callable[[], Awaitable[str]]) -> None:
    """Eio's ``run``: run ``fn`` and trace the string it returns."""

    async def main() -> None:
        eio.traceln(await fn())

    run(main)


def raises(run: Runner, fn: Callable[[], Awaitable[Any]]) -> BaseException:
    """Run ``fn``, which must fail; return what it raised."""
    with pytest.raises(BaseException) as info:
        run(fn)
    return info.value


def assert_failure(ex: BaseException, message: str) -> None:
    assert type(ex) is Failure
    assert ex.args == (message,)


def assert_multiple(ex: BaseException, *messages: str) -> None:
    """``ex`` is Eio's ``Multiple exceptions`` of `Failure`s with these messages, in order."""
    assert type(ex) is ExceptionGroup
    assert ex.message == "Multiple exceptions"
    assert [(type(e), e.args) for e in ex.exceptions] == [(Failure, (m,)) for m in messages]


def const(x: T) -> Callable[[], Awaitable[T]]:
    async def f() -> T:
        return x

    return f


def fail(message: str) -> Callable[[], Awaitable[Any]]:
    async def f() -> Any:
        raise Failure(message)

    return f


def awaiting(p: eio.Promise[T]) -> Callable[[], Awaitable[T]]:
    async def f() -> T:
        return await p

    return f


# -- Fiber.first ------------------------------------------------------------------


def test_first_first_finishes(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        p, _r = eio.Promise[str].create()
        return await eio.fiber.first(const("a"), awaiting(p))

    run_traced(run, main)
    assert trace.lines() == ["a"]


def test_first_second_finishes(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        p, _r = eio.Promise[str].create()
        return await eio.fiber.first(awaiting(p), const("b"))

    run_traced(run, main)
    assert trace.lines() == ["b"]


def test_first_both_succeed_picks_first_by_default(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        return await eio.fiber.first(const("a"), const("b"))

    run_traced(run, main)
    assert trace.lines() == ["a"]


def test_first_both_succeed_combine_decides(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        return await eio.fiber.first(const("a"), const("b"), combine=lambda _x, y: y)

    run_traced(run, main)
    assert trace.lines() == ["b"]


def _stream(capacity: int) -> eio.Stream[str]:
    return eio.Stream[str](capacity)


def test_first_stream_take_race_both(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        stream = _stream(1)

        async def f() -> str:
            await eio.fiber.yield_()
            await stream.add("b")
            return "a"

        async def g() -> str:
            return await stream.take()

        return await eio.fiber.first(f, g, combine=lambda x, y: x + y)

    run_traced(run, main)
    assert trace.lines() == ["ab"]


def test_first_stream_take_race_f_first(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        stream = _stream(1)

        async def f() -> str:
            await stream.add("b")
            await eio.fiber.yield_()
            return "a"

        async def g() -> str:
            await eio.fiber.yield_()
            return await stream.take()

        out = await eio.fiber.first(f, g, combine=lambda x, y: x + y)
        return out + str(len(stream))

    run_traced(run, main)
    assert trace.lines() == ["a1"]


def test_first_stream_take_race_g_first(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        stream = _stream(1)

        async def f() -> str:
            await stream.add("b")
            await eio.fiber.yield_()
            return "a"

        async def g() -> str:
            return await stream.take()

        out = await eio.fiber.first(f, g, combine=lambda x, y: x + y)
        return out + str(len(stream))

    run_traced(run, main)
    assert trace.lines() == ["b0"]


def test_first_second_crashes(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        return await eio.fiber.first(const("a"), fail("b crashed"))

    assert_failure(raises(run, main), "b crashed")
    assert trace.lines() == []


def test_first_first_crashes(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        return await eio.fiber.first(fail("a crashed"), const("b"))

    assert_failure(raises(run, main), "a crashed")
    assert trace.lines() == []


def test_first_both_crash(run: Runner) -> None:
    async def main() -> str:
        return await eio.fiber.first(fail("a crashed"), fail("b crashed"))

    assert_multiple(raises(run, main), "a crashed", "b crashed")


def test_first_cancelled_before_it_can_crash(run: Runner, trace: Trace) -> None:
    async def b() -> str:
        await eio.fiber.yield_()
        raise Failure("b crashed")

    async def main() -> str:
        return await eio.fiber.first(const("a"), b)

    run_traced(run, main)
    assert trace.lines() == ["a"]


def test_first_one_claims_to_be_cancelled_a(run: Runner) -> None:
    async def a() -> str:
        raise eio.Cancelled(Failure("cancel-a"))

    async def main() -> str:
        return await eio.fiber.first(a, const("b"))

    ex = raises(run, main)
    assert type(ex) is eio.Cancelled
    assert str(ex) == "Cancelled: Failure('cancel-a')"


def test_first_one_claims_to_be_cancelled_b(run: Runner) -> None:
    async def a() -> str:
        await eio.fiber.yield_()
        return "a"

    async def b() -> str:
        raise eio.Cancelled(Failure("cancel-b"))

    async def main() -> str:
        return await eio.fiber.first(a, b)

    ex = raises(run, main)
    assert type(ex) is eio.Cancelled
    assert str(ex) == "Cancelled: Failure('cancel-b')"


def test_first_cancelled_from_parent(run: Runner) -> None:
    async def main() -> str:
        p, _r = eio.Promise[str].create()

        async def racer() -> None:
            raise Failure(await eio.fiber.first(awaiting(p), awaiting(p)))

        await eio.fiber.both(racer, fail("Parent cancel"))
        return "not-reached"

    assert_failure(raises(run, main), "Parent cancel")


def test_first_cancelled_from_parent_while_already_cancelling(run: Runner, trace: Trace) -> None:
    async def cancel_b() -> str:
        await eio.fiber.yield_()
        raise Failure("cancel-b")

    async def racer() -> None:
        eio.traceln(await eio.fiber.first(const("a"), cancel_b))
        eio.fiber.check()
        eio.traceln("Parent cancel failed")

    async def parent_cancel() -> None:
        eio.traceln("Cancelling parent")
        raise Failure("Parent cancel")

    async def main() -> str:
        await eio.fiber.both(racer, parent_cancel)
        return "not-reached"

    assert_failure(raises(run, main), "Parent cancel")
    assert trace.lines() == ["Cancelling parent", "a"]


def test_first_cancelling_in_a_sub_switch(run: Runner, trace: Trace) -> None:
    # Inside, the error is seen as Cancelled(Exit); once out of the context
    # where the cancellation started, as plain Exit.
    async def main() -> str:
        p, _r = eio.Promise[None].create()

        async def waiter() -> None:
            try:
                async with eio.Switch.run():
                    try:
                        await p
                    except BaseException as ex:
                        eio.traceln(f"Nested exception: {ex}")
                        raise
            except BaseException as ex:
                eio.traceln(f"Parent exception: {ex}")
                raise

        async def exit_() -> None:
            raise Exit()

        await eio.fiber.both(waiter, exit_)
        raise Failure("not-reached")

    ex = raises(run, main)
    assert type(ex) is Exit
    assert trace.lines() == ["Nested exception: Cancelled: Exit()", "Parent exception: Cancelled: Exit()"]


# -- Fiber.pair, Fiber.all, Fiber.any, Fiber.n_any ------------------------------------


def test_pair(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        x, y = await eio.fiber.pair(const("a"), const("b"))
        return x + y

    run_traced(run, main)
    assert trace.lines() == ["ab"]


def test_all(run: Runner, trace: Trace) -> None:
    def job(x: int) -> Callable[[], Awaitable[None]]:
        async def f() -> None:
            eio.traceln(f"fiber {x}")

        return f

    async def main() -> str:
        await eio.fiber.all([])
        await eio.fiber.all([job(x) for x in range(3)])
        return "done"

    run_traced(run, main)
    assert trace.lines() == ["fiber 0", "fiber 1", "fiber 2", "done"]


def test_any(run: Runner, trace: Trace) -> None:
    def job(x: int) -> Callable[[], Awaitable[int]]:
        async def f() -> int:
            eio.traceln(x)
            await eio.fiber.yield_()
            return x

        return f

    async def main() -> str:
        return str(await eio.fiber.any([job(x) for x in range(3)]))

    run_traced(run, main)
    assert trace.lines() == ["0", "1", "2", "0"]


def test_any_with_combine_collects_all_results(run: Runner, trace: Trace) -> None:
    def job(x: int) -> Callable[[], Awaitable[list[int]]]:
        async def f() -> list[int]:
            eio.traceln(x)
            return [x]

        return f

    async def main() -> str:
        return str(await eio.fiber.any([job(x) for x in range(3)], combine=lambda x, y: x + y))

    run_traced(run, main)
    assert trace.lines() == ["0", "1", "2", "[0, 1, 2]"]


def test_n_any_with_one_result(run: Runner, trace: Trace) -> None:
    def job(x: int) -> Callable[[], Awaitable[int]]:
        async def f() -> int:
            eio.traceln(x)
            await eio.fiber.yield_()
            return x

        return f

    async def main() -> str:
        return str(await eio.fiber.n_any([job(x) for x in range(3)]))

    run_traced(run, main)
    assert trace.lines() == ["0", "1", "2", "[0]"]


def test_n_any_collects_all_results(run: Runner, trace: Trace) -> None:
    def job(x: int) -> Callable[[], Awaitable[int]]:
        async def f() -> int:
            eio.traceln(x)
            if x == 1:
                await eio.fiber.yield_()
            return x

        return f

    async def main() -> str:
        return str(await eio.fiber.n_any([job(x) for x in range(4)]))

    run_traced(run, main)
    assert trace.lines() == ["0", "1", "2", "3", "[0, 2, 3]"]


# -- Fiber.await_cancel, Fiber.fork_promise ----------------------------------------------


def test_await_cancel(run: Runner, trace: Trace) -> None:
    async def waiter() -> None:
        try:
            await eio.fiber.await_cancel()
        except eio.Cancelled as ex:
            eio.traceln(f"Caught: {ex}")
            raise

    async def main() -> str:
        await eio.fiber.both(waiter, fail("simulated error"))
        return "not reached"

    assert_failure(raises(run, main), "simulated error")
    assert trace.lines() == ["Caught: Cancelled: Failure('simulated error')"]


def test_fork_promise_uses_the_switch_context_not_the_callers(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        switch: eio.Switch | None = None

        async def owner() -> None:
            nonlocal switch
            async with eio.Switch.run() as sw:
                switch = sw
                await eio.fiber.await_cancel()

        async def child() -> None:
            eio.traceln("Forked child")
            await eio.fiber.await_cancel()

        async def other() -> None:
            assert switch is not None
            with eio.cancel.protect():
                p = eio.fiber.fork_promise(switch, child)
                switch.fail(Exit())
                await p

        await eio.fiber.both(owner, other)
        return "not reached"

    ex = raises(run, main)
    assert type(ex) is Exit
    assert trace.lines() == ["Forked child"]


# -- Scheduling order ----------------------------------------------------------------------


def test_fork_runs_child_first_and_caller_before_queued_work(run: Runner, trace: Trace) -> None:
    async def first_child() -> None:
        eio.traceln("1st child runs")
        await eio.fiber.yield_()
        eio.traceln("Queued work")

    async def second_child() -> None:
        eio.traceln("2nd child runs immediately")

    async def main() -> str:
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, first_child)
            eio.fiber.fork(sw, second_child)
            eio.traceln("Caller runs before queued work")
        return "ok"

    run_traced(run, main)
    assert trace.lines() == [
        "1st child runs",
        "2nd child runs immediately",
        "Caller runs before queued work",
        "Queued work",
        "ok",
    ]


async def _enqueue_work_for_later() -> None:
    eio.traceln("Enqueuing work for later")
    await eio.fiber.yield_()
    eio.traceln("Queued work")


def _tracer(message: str) -> Callable[[], Awaitable[None]]:
    async def f() -> None:
        eio.traceln(message)

    return f


def test_both_runs_before_queued_work(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, _enqueue_work_for_later)
            await eio.fiber.both(_tracer("1st branch"), _tracer("2nd branch"))
        return "ok"

    run_traced(run, main)
    assert trace.lines() == ["Enqueuing work for later", "1st branch", "2nd branch", "Queued work", "ok"]


def test_first_runs_before_queued_work(run: Runner, trace: Trace) -> None:
    async def main() -> str:
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, _enqueue_work_for_later)
            await eio.fiber.first(_tracer("1st branch"), _tracer("2nd branch"))
        return "ok"

    run_traced(run, main)
    assert trace.lines() == ["Enqueuing work for later", "1st branch", "2nd branch", "Queued work", "ok"]


def test_forking_while_cancelled(run: Runner, trace: Trace) -> None:
    async def second() -> None:
        await eio.fiber.both(_tracer("Not reached"), _tracer("Not reached"))
        raise AssertionError("both returned in a cancelled context")

    async def main() -> None:
        await eio.fiber.first(fail("Simulated error"), second)

    assert_failure(raises(run, main), "Simulated error")
    assert trace.lines() == []


# -- Concurrent list operations ---------------------------------------------------------


def process(fn: Callable[[int], Awaitable[T]]) -> Callable[[int], Awaitable[T]]:
    async def f(x: int) -> T:
        eio.traceln(f"Start {x}")
        await eio.fiber.yield_()
        y = await fn(x)
        eio.traceln(f"Finished {x}")
        return y

    return f


async def is_even(x: int) -> bool:
    return x % 2 == 0


async def string_even(x: int) -> str | None:
    return str(x) if x % 2 == 0 else None


async def crash_on_three(x: int) -> str | None:
    if x == 3:
        raise Failure("Simulated error")
    return await string_even(x)


STARTS_AND_FINISHES = [f"Start {i}" for i in range(1, 5)] + [f"Finished {i}" for i in range(1, 5)]


def test_list_filter(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        eio.traceln(await eio.fiber.filter(process(is_even), [1, 2, 3, 4]))

    run(main)
    assert trace.lines() == [*STARTS_AND_FINISHES, "[2, 4]"]


def test_list_map(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        eio.traceln(await eio.fiber.map(process(string_even), [1, 2, 3, 4]))

    run(main)
    assert trace.lines() == [*STARTS_AND_FINISHES, "[None, '2', None, '4']"]


def test_list_filter_map(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        eio.traceln(await eio.fiber.filter_map(process(string_even), [1, 2, 3, 4]))

    run(main)
    assert trace.lines() == [*STARTS_AND_FINISHES, "['2', '4']"]


def test_list_empty_input(run: Runner) -> None:
    async def main() -> tuple[list[str], list[int], list[int]]:
        await eio.fiber.iter(process(string_even), [])
        return (
            await eio.fiber.filter_map(process(string_even), []),
            await eio.fiber.map(process(lambda x: const(x)()), []),
            await eio.fiber.filter(process(is_even), []),
        )

    assert run(main) == ([], [], [])


def test_list_any_error_cancels_everything(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        eio.traceln(await eio.fiber.filter_map(process(crash_on_three), [1, 2, 3, 4]))

    assert_failure(raises(run, main), "Simulated error")
    assert trace.lines() == ["Start 1", "Start 2", "Start 3", "Start 4", "Finished 1", "Finished 2"]


def _limited_scenario(
    op: Callable[[Callable[[int], Awaitable[str | None]], list[int]], Awaitable[object]],
) -> Callable[[], Awaitable[None]]:
    async def main() -> None:
        ps = [eio.Promise[str].create() for _ in range(4)]

        async def await_(i: int) -> str:
            return await ps[i][0]

        async def worker() -> None:
            result = await op(process(await_), list(range(4)))
            if result is not None:
                eio.traceln(result)

        async def driver() -> None:
            ps[1][1].resolve("one")
            await eio.fiber.yield_()
            ps[2][1].resolve("two")
            await eio.fiber.yield_()
            await eio.fiber.yield_()
            ps[0][1].resolve("zero")
            await eio.fiber.yield_()
            await eio.fiber.yield_()
            ps[3][1].resolve("three")

        await eio.fiber.both(worker, driver)

    return main


LIMITED_TRACE = ["Start 0", "Start 1", "Finished 1", "Start 2", "Finished 2", "Start 3", "Finished 0", "Finished 3"]


def test_list_map_max_fibers(run: Runner, trace: Trace) -> None:
    run(_limited_scenario(lambda fn, xs: eio.fiber.map(fn, xs, max_fibers=2)))
    assert trace.lines() == [*LIMITED_TRACE, "['zero', 'one', 'two', 'three']"]


def test_list_iter_max_fibers(run: Runner, trace: Trace) -> None:
    run(_limited_scenario(lambda fn, xs: eio.fiber.iter(fn, xs, max_fibers=2)))
    assert trace.lines() == LIMITED_TRACE


def test_list_exception_while_waiting_for_a_free_fiber(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        ps = [eio.Promise[str].create() for _ in range(2)]

        async def await_(i: int) -> str:
            return await ps[i][0]

        async def worker() -> None:
            eio.traceln(await eio.fiber.map(process(await_), [0, 1], max_fibers=1))

        async def driver() -> None:
            await eio.fiber.yield_()
            ps[0][1].resolve_error(Failure("Simulated error"))

        await eio.fiber.both(worker, driver)

    assert_failure(raises(run, main), "Simulated error")
    assert trace.lines() == ["Start 0"]


@pytest.mark.parametrize("max_fibers", [0, -1])
def test_list_max_fibers_must_be_positive(run: Runner, max_fibers: int) -> None:
    async def main() -> None:
        await eio.fiber.map(is_even, [1, 2], max_fibers=max_fibers)

    ex = raises(run, main)
    assert type(ex) is ValueError
    assert str(ex) == f"max_fibers must be positive (got {max_fibers})"


# -- Daemon fibers ----------------------------------------------------------------------------


def test_daemon_runs_until_non_daemons_finish(run: Runner, trace: Trace) -> None:
    async def daemon() -> None:
        for _ in range(10):
            eio.traceln("Daemon running")
            await eio.fiber.yield_()
        raise Failure("Test failed")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            eio.fiber.fork_daemon(sw, daemon)
            eio.traceln("Main running 1")
            await eio.fiber.yield_()
            eio.traceln("Main running 2")

    run(main)
    assert trace.lines() == ["Daemon running", "Main running 1", "Daemon running", "Main running 2"]


def test_daemons_and_workers(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:

            async def worker1() -> None:
                eio.traceln("Worker 1 starting")
                await eio.fiber.yield_()
                eio.traceln("Worker 1 running")
                await eio.fiber.yield_()
                eio.traceln("Worker 1 finished")

            async def worker2() -> None:
                eio.traceln("Worker 2 starting")
                await eio.fiber.yield_()
                eio.traceln("Worker 2 finished")

            async def must_not_start() -> None:
                raise Failure("Shouldn't start")

            async def daemon1() -> None:
                try:
                    for _ in range(10):
                        eio.traceln("Daemon 1 running")
                        await eio.fiber.yield_()
                    raise Failure("Test failed")
                except eio.Cancelled:
                    eio.traceln("Daemon cancelled; trying to spawn more fibers")
                    eio.fiber.fork_daemon(sw, must_not_start)
                    eio.fiber.fork(sw, must_not_start)
                    raise

            async def daemon2() -> None:
                eio.traceln("Daemon 2 running")
                await eio.fiber.yield_()
                eio.traceln("Daemon 2 finished")

            eio.fiber.fork(sw, worker1)
            eio.fiber.fork(sw, worker2)
            eio.fiber.fork_daemon(sw, daemon1)
            eio.fiber.fork_daemon(sw, daemon2)
            eio.traceln("Main running")
            await eio.fiber.yield_()
            eio.traceln("Main finished")

    run(main)
    assert trace.lines() == [
        "Worker 1 starting",
        "Worker 2 starting",
        "Daemon 1 running",
        "Daemon 2 running",
        "Main running",
        "Worker 1 running",
        "Worker 2 finished",
        "Daemon 1 running",
        "Daemon 2 finished",
        "Main finished",
        "Worker 1 finished",
        "Daemon cancelled; trying to spawn more fibers",
    ]


def test_failing_daemon_reports_its_error(run: Runner) -> None:
    async def daemon() -> None:
        await eio.fiber.yield_()
        raise Failure("Simulated error")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            eio.fiber.fork_daemon(sw, daemon)
            await eio.fiber.yield_()

    assert_failure(raises(run, main), "Simulated error")


# -- Fiber-local storage: contextvars ----------------------------------------------------------

key: contextvars.ContextVar[int] = contextvars.ContextVar("key")


def trace_key() -> None:
    eio.traceln(f"Key => {key.get('<unset>')}")


async def atrace_key() -> None:
    trace_key()


def test_keys_default_to_unset(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        trace_key()

    run(main)
    assert trace.lines() == ["Key => <unset>"]


def test_bindings_shadow_and_are_restored(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        token = key.set(123)
        trace_key()
        inner = key.set(456)
        trace_key()
        key.reset(inner)
        trace_key()
        key.reset(token)
        trace_key()

    run(main)
    assert trace.lines() == ["Key => 123", "Key => 456", "Key => 123", "Key => <unset>"]


def test_values_are_propagated_when_forking(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        key.set(123)
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, atrace_key)

    run(main)
    assert trace.lines() == ["Key => 123"]


def test_values_come_from_the_running_fiber_not_the_switch(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            key.set(123)
            eio.fiber.fork(sw, atrace_key)

    run(main)
    assert trace.lines() == ["Key => 123"]


def test_a_child_binding_does_not_leak_to_its_parent(run: Runner, trace: Trace) -> None:
    async def child() -> None:
        key.set(7)
        await eio.fiber.yield_()
        trace_key()

    async def main() -> None:
        key.set(1)
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, child)
            trace_key()
        trace_key()

    run(main)
    assert trace.lines() == ["Key => 1", "Key => 7", "Key => 1"]


def test_a_generator_based_coroutine_function_can_be_forked(run: Runner, trace: Trace) -> None:
    """`eio.fiber.yield_` is a generator-based coroutine: fork, both and fork_promise accept it."""

    async def main() -> None:
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, eio.fiber.yield_)
            p = eio.fiber.fork_promise(sw, eio.fiber.yield_)
            await eio.fiber.both(eio.fiber.yield_, eio.fiber.yield_)
            assert await p is None
        eio.traceln("done")

    run(main)
    assert trace.lines() == ["done"]


def test_bindings_can_be_removed(run: Runner, trace: Trace) -> None:
    # Eio's ``Fiber.without_binding``: a ContextVar can't be unset, but code run
    # in an empty `contextvars.Context` sees no binding, and ours is untouched.
    async def main() -> None:
        key.set(123)
        trace_key()
        contextvars.Context().run(trace_key)
        trace_key()

    run(main)
    assert trace.lines() == ["Key => 123", "Key => <unset>", "Key => 123"]
