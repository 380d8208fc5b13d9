"""Conformance: `eio.Switch` (Eio's tests/switch.md).

Eio's ``run fn`` runs ``fn sw`` in a new switch; here each test's body is the
``async with eio.Switch.run() as sw`` block. Eio's ``Invalid_argument
"Switch finished!"`` is `eio.SwitchFinished`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import eio
import pytest
from conftest import Runner, Trace


class Failure(Exception):
    """Eio's ``Failure``."""


class Exit(Exception):
    """Eio's ``Stdlib.Exit``."""


def in_switch(fn: Callable[[eio.Switch], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    """Eio's ``run``: ``fn sw`` inside a new switch."""

    async def main() -> Any:
        async with eio.Switch.run() as sw:
            return await fn(sw)

    return main


def raises(run: Runner, fn: Callable[[], Awaitable[Any]]) -> BaseException:
    with pytest.raises(BaseException) as info:
        run(fn)
    return info.value


def assert_failure(ex: BaseException, message: str) -> None:
    assert type(ex) is Failure
    assert ex.args == (message,)


def fork_sub(sw: eio.Switch, on_error: Callable[[BaseException], None], fn: Callable[[eio.Switch], Awaitable[None]]) -> None:
    """Fork a fiber running ``fn`` in its own switch; its errors (not cancellation) go to ``on_error``."""

    async def child() -> None:
        try:
            async with eio.Switch.run() as sub:
                await fn(sub)
        except eio.Cancelled:
            pass
        except Exception as ex:
            on_error(ex)

    eio.fiber.fork(sw, child)


def trace_child_error(ex: BaseException) -> None:
    eio.traceln(f"child: {ex!r}")


def test_basic(run: Runner, trace: Trace) -> None:
    async def body(_sw: eio.Switch) -> None:
        eio.traceln("Running")

    run(in_switch(body))
    assert trace.lines() == ["Running"]


def test_failed_switch_still_allows_clean_up(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        eio.traceln("Running")
        sw.fail(Failure("Cancel"))
        eio.traceln("Clean up")

    assert_failure(raises(run, in_switch(body)), "Cancel")
    assert trace.lines() == ["Running", "Clean up"]


def counter(name: str, n: int) -> Callable[[], Awaitable[None]]:
    async def f() -> None:
        for i in range(1, n + 1):
            eio.traceln(f"{name} = {i}")
            await eio.fiber.yield_()

    return f


def test_both_pass(run: Runner, trace: Trace) -> None:
    async def body(_sw: eio.Switch) -> None:
        await eio.fiber.both(counter("i", 2), counter("j", 2))

    run(in_switch(body))
    assert trace.lines() == ["i = 1", "j = 1", "i = 2", "j = 2"]


async def failed() -> None:
    raise Failure("Failed")


def test_both_only_first_succeeds(run: Runner, trace: Trace) -> None:
    async def body(_sw: eio.Switch) -> None:
        await eio.fiber.both(counter("i", 5), failed)

    assert_failure(raises(run, in_switch(body)), "Failed")
    assert trace.lines() == ["i = 1"]


def test_both_only_second_succeeds(run: Runner, trace: Trace) -> None:
    async def first() -> None:
        await eio.fiber.yield_()
        raise Failure("Failed")

    async def body(_sw: eio.Switch) -> None:
        await eio.fiber.both(first, counter("i", 5))

    assert_failure(raises(run, in_switch(body)), "Failed")
    assert trace.lines() == ["i = 1"]


def test_both_first_fails_at_once_and_the_other_does_not_start(run: Runner, trace: Trace) -> None:
    async def second() -> None:
        eio.traceln("Second OK")

    async def body(_sw: eio.Switch) -> None:
        await eio.fiber.both(failed, second)
        eio.traceln("Not reached")

    assert_failure(raises(run, in_switch(body)), "Failed")
    assert trace.lines() == []


def test_both_second_fails_but_the_other_does_not_stop(run: Runner, trace: Trace) -> None:
    async def ignore() -> None:
        pass

    async def body(_sw: eio.Switch) -> None:
        await eio.fiber.both(ignore, failed)
        eio.traceln("not reached")

    assert_failure(raises(run, in_switch(body)), "Failed")
    assert trace.lines() == []


def test_both_fibers_fail(run: Runner) -> None:
    def protected_then_fail(message: str) -> Callable[[], Awaitable[None]]:
        async def f() -> None:
            with eio.cancel.protect():
                await eio.fiber.yield_()
            raise Failure(message)

        return f

    async def body(_sw: eio.Switch) -> None:
        await eio.fiber.both(protected_then_fail("Failed 1"), protected_then_fail("Failed 2"))

    ex = raises(run, in_switch(body))
    assert type(ex) is ExceptionGroup
    assert ex.message == "Multiple exceptions"
    assert [e.args for e in ex.exceptions] == [("Failed 1",), ("Failed 2",)]


def test_fork_on_a_failed_switch_does_not_start_the_fiber(run: Runner, trace: Trace) -> None:
    async def not_reached() -> None:
        eio.traceln("Not reached")

    async def body(sw: eio.Switch) -> None:
        sw.fail(Failure("Cancel"))
        eio.fiber.fork(sw, not_reached)
        eio.traceln("Main continues")

    assert_failure(raises(run, in_switch(body)), "Cancel")
    assert trace.lines() == ["Main continues"]


def test_a_switch_cannot_be_used_after_its_scope(run: Runner) -> None:
    async def body(sw: eio.Switch) -> eio.Switch:
        return sw

    sw: eio.Switch = run(in_switch(body))
    with pytest.raises(eio.SwitchFinished, match="^Switch finished!$"):
        sw.check()
    assert sw.is_finished()
    assert isinstance(sw.get_error(), eio.SwitchFinished)


def test_promise_or_cancellation_cancellation_first(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        p, r = eio.Promise[None].create()

        async def waiting() -> None:
            eio.traceln("Waiting")
            await p
            eio.traceln("Resolved")

        async def cancelled() -> None:
            raise Failure("Cancelled")

        async def child() -> None:
            await eio.fiber.both(waiting, cancelled)

        eio.fiber.fork(sw, child)
        await eio.fiber.yield_()
        r.resolve(None)
        eio.traceln("Main thread done")

    assert_failure(raises(run, in_switch(body)), "Cancelled")
    assert trace.lines() == ["Waiting", "Main thread done"]


def test_promise_or_switch_promise_first(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        p, r = eio.Promise[None].create()

        async def child() -> None:
            eio.traceln("Waiting")
            await p
            eio.traceln("Resolved")

        eio.fiber.fork(sw, child)
        r.resolve(None)
        await eio.fiber.yield_()
        eio.traceln("Now cancelling...")
        sw.fail(Failure("Cancelled"))

    assert_failure(raises(run, in_switch(body)), "Cancelled")
    assert trace.lines() == ["Waiting", "Resolved", "Now cancelling..."]


def test_promise_or_switch_switch_first(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        p, r = eio.Promise[None].create()

        async def child() -> None:
            eio.traceln("Waiting")
            await p
            eio.traceln("Resolved")

        eio.fiber.fork(sw, child)
        sw.fail(Failure("Cancelled"))
        r.resolve(None)

    assert_failure(raises(run, in_switch(body)), "Cancelled")
    assert trace.lines() == ["Waiting"]


def test_promise_resolved_first_but_switch_fails_without_yielding(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        p, r = eio.Promise[None].create()

        async def child() -> None:
            eio.traceln("Waiting")
            await p
            eio.traceln("Resolved")

        eio.fiber.fork(sw, child)
        r.resolve(None)
        eio.traceln("Now cancelling...")
        sw.fail(Failure("Cancelled"))

    assert_failure(raises(run, in_switch(body)), "Cancelled")
    assert trace.lines() == ["Waiting", "Now cancelling...", "Resolved"]


def test_child_switches_are_cancelled_with_the_parent_without_on_error(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        p, _ = eio.Promise[None].create()

        def child(name: str) -> Callable[[eio.Switch], Awaitable[None]]:
            async def f(_sw: eio.Switch) -> None:
                eio.traceln(name)
                await p

            return f

        fork_sub(sw, trace_child_error, child("Child 1"))
        fork_sub(sw, trace_child_error, child("Child 2"))
        sw.fail(Failure("Cancel parent"))

    assert_failure(raises(run, in_switch(body)), "Cancel parent")
    assert trace.lines() == ["Child 1", "Child 2"]


def test_a_child_can_fail_independently(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        p1, r1 = eio.Promise[None].create()
        p2, r2 = eio.Promise[None].create()

        def child(name: str, p: eio.Promise[None]) -> Callable[[eio.Switch], Awaitable[None]]:
            async def f(_sw: eio.Switch) -> None:
                eio.traceln(name)
                await p

            return f

        fork_sub(sw, trace_child_error, child("Child 1", p1))
        fork_sub(sw, trace_child_error, child("Child 2", p2))
        r1.resolve_error(Failure("Child error"))
        r2.resolve(None)
        await eio.fiber.yield_()
        eio.traceln("Parent fiber is still running")

    run(in_switch(body))
    assert trace.lines() == ["Child 1", "Child 2", "child: Failure('Child error')", "Parent fiber is still running"]


def test_a_child_can_be_cancelled_independently(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        p, _ = eio.Promise[None].create()
        child_sw: eio.Switch | None = None

        async def child(sub: eio.Switch) -> None:
            nonlocal child_sw
            eio.traceln("Child 1")
            child_sw = sub
            await p

        fork_sub(sw, trace_child_error, child)
        assert child_sw is not None
        child_sw.fail(Failure("Cancel child"))
        await eio.fiber.yield_()
        eio.traceln("Parent fiber is still running")

    run(in_switch(body))
    assert trace.lines() == ["Child 1", "child: Failure('Cancel child')", "Parent fiber is still running"]


def test_a_child_error_handler_raises(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        p, r = eio.Promise[None].create()

        def reraise(ex: BaseException) -> None:
            raise ex

        async def child(_sw: eio.Switch) -> None:
            eio.traceln("Child")
            await p

        fork_sub(sw, reraise, child)
        r.resolve_error(Failure("Child error escapes"))
        await eio.fiber.yield_()
        eio.traceln("Not reached")

    assert_failure(raises(run, in_switch(body)), "Child error escapes")
    assert trace.lines() == ["Child"]


def test_a_child_error_handler_deals_with_the_error(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        p, r = eio.Promise[None].create()

        def caught(ex: BaseException) -> None:
            eio.traceln(f"caught: {ex!r}")

        async def child(_sw: eio.Switch) -> None:
            eio.traceln("Child")
            await p

        fork_sub(sw, caught, child)
        r.resolve_error(Failure("Child error is caught"))
        await eio.fiber.yield_()
        eio.traceln("Still running")

    run(in_switch(body))
    assert trace.lines() == ["Child", "caught: Failure('Child error is caught')", "Still running"]


# -- Release handlers ----------------------------------------------------------------------


def release(label: str, error: str | None = None) -> Callable[[], Awaitable[None]]:
    """Eio's ``release``: yield, trace, then optionally fail."""

    async def f() -> None:
        await eio.fiber.yield_()
        eio.traceln(f"release {label}")
        if error is not None:
            raise Failure(error)

    return f


def test_release_on_success(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        sw.on_release(release("1"))
        sw.on_release(release("2"))

    run(in_switch(body))
    assert trace.lines() == ["release 2", "release 1"]


def test_release_on_error(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        sw.on_release(release("1"))
        sw.on_release(release("2"))
        raise Failure("Test error")

    assert_failure(raises(run, in_switch(body)), "Test error")
    assert trace.lines() == ["release 2", "release 1"]


def test_release_operations_fail(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        sw.on_release(release("1", "failure 1"))
        sw.on_release(release("2"))
        sw.on_release(release("3", "failure 3"))

    ex = raises(run, in_switch(body))
    assert trace.lines() == ["release 3", "release 2", "release 1"]
    assert type(ex) is ExceptionGroup
    assert ex.message == "Multiple exceptions"
    assert [e.args for e in ex.exceptions] == [("failure 3",), ("failure 1",)]


def test_release_hooks_may_be_sync_and_can_be_removed(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        sw.on_release(lambda: eio.traceln("sync 1"))
        hook = sw.on_release(lambda: eio.traceln("removed"))
        sw.on_release(release("async 2"))
        assert hook.remove() is True
        assert hook.remove() is False

    run(in_switch(body))
    assert trace.lines() == ["release async 2", "sync 1"]


def test_release_hooks_run_protected(run: Runner, trace: Trace) -> None:
    # The switch is cancelled by its failure, yet each hook can still suspend.
    async def body(sw: eio.Switch) -> None:
        sw.on_release(release("1"))
        sw.fail(Failure("Cancel"))

    assert_failure(raises(run, in_switch(body)), "Cancel")
    assert trace.lines() == ["release 1"]


def test_on_release_of_a_finished_switch_from_a_cancelled_context(run: Runner, trace: Trace) -> None:
    # A sync hook on a finished switch runs at once, then SwitchFinished is raised.
    async def body(sw: eio.Switch) -> None:
        async with eio.Switch.run() as sub:
            pass
        sw.fail(Failure("Parent cancelled too!"))
        sub.on_release(lambda: eio.traceln("release 1"))

    ex = raises(run, in_switch(body))
    assert trace.lines() == ["release 1"]
    assert type(ex) is ExceptionGroup
    assert ex.message == "Multiple exceptions"
    assert [(type(e), e.args) for e in ex.exceptions] == [
        (Failure, ("Parent cancelled too!",)),
        (eio.SwitchFinished, ("Switch finished!",)),
    ]


def test_on_release_of_a_finished_switch_with_an_async_hook(run: Runner) -> None:
    # An async hook can't be run from the synchronous on_release: only the error.
    async def main() -> None:
        async with eio.Switch.run() as sub:
            pass
        with pytest.raises(eio.SwitchFinished, match="^Switch finished!$"):
            sub.on_release(release("never"))

    run(main)


def test_on_release_of_a_finished_switch_with_a_failing_hook(run: Runner, trace: Trace) -> None:
    # Eio's Release_error: the hook's own error is kept as the cause.
    async def main() -> None:
        async with eio.Switch.run() as sub:
            pass

        def hook() -> None:
            eio.traceln("hook runs")
            raise Failure("hook failed")

        with pytest.raises(eio.SwitchFinished, match="^Switch finished!$") as info:
            sub.on_release(hook)
        assert type(info.value.__cause__) is Failure
        assert info.value.__cause__.args == ("hook failed",)

    run(main)
    assert trace.lines() == ["hook runs"]


def test_async_release_hooks_may_fork(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        async def late_fiber() -> None:
            eio.traceln("forked by the hook")
            await eio.fiber.yield_()
            eio.traceln("forked fiber done")

        async def hook() -> None:
            eio.traceln("hook starts")
            eio.fiber.fork(sw, late_fiber)
            await eio.fiber.yield_()
            eio.traceln("hook done")

        sw.on_release(hook)
        sw.on_release(lambda: eio.traceln("first hook (registered last)"))

    run(in_switch(body))
    assert trace.lines() == [
        "first hook (registered last)",
        "hook starts",
        "forked by the hook",
        "forked fiber done",
        "hook done",
    ]


def test_release_hooks_may_fork_but_not_attach_hooks(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        async def release1() -> None:
            eio.traceln("Starting release 1")
            await eio.fiber.yield_()
            eio.traceln("Finished release 1")

        async def release2() -> None:
            eio.traceln("Starting release 2")
            try:
                sw.on_release(lambda: eio.traceln("Immediate release"))
            except eio.SwitchFinished as ex:
                eio.traceln(f"on_release refused: {ex}")
            await eio.fiber.yield_()
            eio.traceln("Finished release 2")

        sw.on_release(lambda: eio.fiber.fork(sw, release1))
        sw.on_release(lambda: eio.fiber.fork(sw, release2))
        eio.traceln("Main fiber done")

    run(in_switch(body))
    assert trace.lines() == [
        "Main fiber done",
        "Starting release 2",
        "Immediate release",
        "on_release refused: Switch finished!",
        "Starting release 1",
        "Finished release 2",
        "Finished release 1",
    ]


# -- Error reporting -----------------------------------------------------------------------


def test_all_errors_are_reported(run: Runner) -> None:
    def cancel_then_fail(message: str) -> Callable[[], Awaitable[None]]:
        async def f() -> None:
            try:
                await eio.fiber.await_cancel()
            except BaseException:
                raise Failure(message) from None

        return f

    async def body(sw: eio.Switch) -> None:
        eio.fiber.fork(sw, cancel_then_fail("cancel1 failed"))
        eio.fiber.fork(sw, cancel_then_fail("cancel2 failed"))
        raise Exit()

    ex = raises(run, in_switch(body))
    assert type(ex) is ExceptionGroup
    assert ex.message == "Multiple exceptions"
    assert [(type(e), e.args) for e in ex.exceptions] == [
        (Exit, ()),
        (Failure, ("cancel1 failed",)),
        (Failure, ("cancel2 failed",)),
    ]


def test_errors_during_cleanup_are_reported_during_cancellation(run: Runner) -> None:
    async def cleanup_fails() -> None:
        async with eio.Switch.run():
            try:
                await eio.fiber.await_cancel()
            except BaseException:
                raise Failure("cleanup failed") from None

    async def body(sw: eio.Switch) -> None:
        eio.fiber.fork(sw, cleanup_fails)
        eio.fiber.fork(sw, failed_simulated)

    ex = raises(run, in_switch(body))
    assert type(ex) is ExceptionGroup
    assert ex.message == "Multiple exceptions"
    assert [e.args for e in ex.exceptions] == [("simulated error",), ("cleanup failed",)]


async def failed_simulated() -> None:
    raise Failure("simulated error")


# -- Python-specific shape --------------------------------------------------------------------


def test_one_error_is_reraised_as_itself_with_its_traceback(run: Runner) -> None:
    async def body(_sw: eio.Switch) -> None:
        raise Failure("only one")

    ex = raises(run, in_switch(body))
    assert_failure(ex, "only one")
    assert ex.__traceback__ is not None
    names: list[str] = []
    tb = ex.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert names[-1] == "body"


def test_run_protected_is_not_cancelled_by_its_parent(run: Runner, trace: Trace) -> None:
    async def body(sw: eio.Switch) -> None:
        sw.fail(Failure("outer"))
        async with eio.Switch.run_protected(name="inner") as inner:
            assert inner.get_error() is None
            await eio.fiber.yield_()
            eio.traceln("protected switch ran")
        with pytest.raises(eio.Cancelled):
            async with eio.Switch.run():
                pass

    assert_failure(raises(run, in_switch(body)), "outer")
    assert trace.lines() == ["protected switch ran"]


def test_a_scope_can_be_entered_once(run: Runner) -> None:
    async def main() -> None:
        scope = eio.Switch.run()
        async with scope:
            pass
        with pytest.raises(RuntimeError, match="can only be entered once"):
            async with scope:
                pass

    run(main)


def test_cancel_sub_cancels_only_its_block(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        with eio.cancel.sub() as cc:
            cc.cancel(Failure("inner only"))
            try:
                await eio.fiber.yield_()
            except eio.Cancelled as ex:
                eio.traceln(f"inner: {ex}")
        await eio.fiber.yield_()
        eio.traceln("outer still on:", not eio.fiber.is_cancelled())

    run(main)
    assert trace.lines() == ["inner: Cancelled: Failure('inner only')", "outer still on: True"]
