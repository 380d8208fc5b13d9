"""eio inside asyncio: calls both ways, errors and cancellation both ways, a shared hosted loop.

Every test runs on asyncio's own loop and on uvloop. ``trace`` lists the
order in which things happened on both sides.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import eio
import pytest
import uvloop

import eio_backend_asyncio
import eio_mock
from eio_backend_asyncio import run_asyncio, run_eio

T = TypeVar("T")

Factory = Callable[[], asyncio.AbstractEventLoop]


class Failure(Exception):
    """The error the tests raise on one side and catch on the other."""


@pytest.fixture(params=["asyncio", "uvloop"])
def factory(request: pytest.FixtureRequest) -> Factory:
    """The kind of asyncio loop under test."""
    return asyncio.new_event_loop if request.param == "asyncio" else uvloop.new_event_loop


def arun(factory: Factory, coro: Coroutine[Any, Any, T]) -> T:
    """Run an asyncio coroutine on a new loop of the kind under test."""
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


# -- results and errors -----------------------------------------------------------------


def test_results_cross_both_ways(factory: Factory) -> None:
    async def double_in_asyncio(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    async def in_eio(x: int) -> tuple[int, int]:
        doubled = await run_asyncio(double_in_asyncio, x)
        await eio.fiber.yield_()
        return x, doubled

    async def main() -> tuple[int, int]:
        return await run_eio(in_eio, 21)

    assert arun(factory, main()) == (21, 42)


def test_an_asyncio_error_reaches_the_fiber_as_the_same_object(factory: Factory) -> None:
    error = Failure("from asyncio")

    async def fails() -> None:
        await asyncio.sleep(0)
        raise error

    async def in_eio() -> BaseException:
        try:
            await run_asyncio(fails)
        except Failure as ex:
            return ex
        raise AssertionError("no error")

    assert arun(factory, run_eio(in_eio)) is error


def test_an_eio_error_reaches_asyncio_as_the_same_object(factory: Factory) -> None:
    error = Failure("from eio")

    async def fails() -> None:
        await eio.fiber.yield_()
        raise error

    async def main() -> BaseException:
        try:
            await run_eio(fails)
        except Failure as ex:
            return ex
        raise AssertionError("no error")

    assert arun(factory, main()) is error


def test_an_error_crosses_twice_as_the_same_object(factory: Factory) -> None:
    """asyncio -> eio -> asyncio -> eio and back: one object all the way."""
    error = Failure("deep")

    async def innermost() -> None:
        raise error

    async def asyncio_middle() -> None:
        await run_eio(innermost)

    async def eio_middle() -> None:
        await run_asyncio(asyncio_middle)

    with pytest.raises(Failure) as info:
        arun(factory, run_eio(eio_middle))
    assert info.value is error


# -- cancellation ------------------------------------------------------------------------


def test_cancelling_the_fiber_cancels_the_task_and_waits_for_its_end(factory: Factory) -> None:
    trace: list[str] = []
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            trace.append("task: cancelled")
            await asyncio.sleep(0)  # cleanup that takes turns of the asyncio loop
            await asyncio.sleep(0)
            trace.append("task: cleaned up")
            raise
        return "slept"

    async def in_eio() -> None:
        async def call() -> str:
            try:
                return await run_asyncio(slow)
            except eio.Cancelled as ex:
                trace.append(f"fiber: {type(ex).__name__}")
                raise

        async def stopper() -> str:
            await run_asyncio(started.wait)
            trace.append("stopper: wins")
            return "stopper"

        trace.append(f"first: {await eio.fiber.first(call, stopper)}")

    arun(factory, run_eio(in_eio))
    assert trace == [
        "stopper: wins",
        "task: cancelled",
        "task: cleaned up",
        "fiber: Cancelled",
        "first: stopper",
    ]


def test_a_task_that_finishes_despite_cancel_reports_its_result(factory: Factory) -> None:
    """Cancellation is atomic: the task completed, so the fiber gets its result, not Cancelled."""
    trace: list[str] = []

    async def stubborn() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            trace.append("task: cancelled, finishing anyway")
        return "finished"

    async def in_eio() -> None:
        with eio.cancel.sub() as cc:

            async def canceller() -> None:
                await eio.fiber.yield_()
                cc.cancel(Failure("stop"))

            async with eio.Switch.run() as sw:
                eio.fiber.fork(sw, canceller)
                trace.append(f"fiber got {await run_asyncio(stubborn)!r}")
                try:
                    await eio.fiber.yield_()
                except eio.Cancelled:
                    trace.append("fiber: cancelled at its next suspension")
                    raise

    with pytest.raises(eio.Cancelled):
        arun(factory, run_eio(in_eio))
    assert trace == ["task: cancelled, finishing anyway", "fiber got 'finished'", "fiber: cancelled at its next suspension"]


def test_task_cancel_of_the_caller_cancels_the_fiber_and_waits_for_it(factory: Factory) -> None:
    trace: list[str] = []

    async def waits() -> None:
        p, _ = eio.Promise[None].create()
        try:
            await p
        except eio.Cancelled as ex:
            trace.append(f"fiber: Cancelled, reason {type(ex.reason).__name__}")
            with eio.cancel.protect():  # cleanup takes turns of the loop: the fiber is not abandoned
                await eio.fiber.yield_()
                await eio.fiber.yield_()
            trace.append("fiber: cleaned up")
            raise

    async def main() -> None:
        task = asyncio.ensure_future(run_eio(waits))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            trace.append("asyncio: CancelledError")

    arun(factory, main())
    assert trace == ["fiber: Cancelled, reason CancelledError", "fiber: cleaned up", "asyncio: CancelledError"]


def test_a_second_task_cancel_still_waits_for_the_fiber(factory: Factory) -> None:
    trace: list[str] = []
    release: list[eio.Resolver[None]] = []

    async def cleanup_waits() -> None:
        try:
            await eio.Promise[None].create()[0]
        except eio.Cancelled:
            p, r = eio.Promise[None].create()
            release.append(r)
            with eio.cancel.protect():
                await p
            trace.append("fiber: released")
            raise

    async def main() -> None:
        task = asyncio.ensure_future(run_eio(cleanup_waits))
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()  # again, while the fiber cleans up
        for _ in range(3):
            await asyncio.sleep(0)
        trace.append(f"asyncio: task done? {task.done()}")
        release[0].resolve(None)  # host code resolving a promise wakes the hosted loop
        with pytest.raises(asyncio.CancelledError):
            await task
        trace.append("asyncio: CancelledError")

    arun(factory, main())
    assert trace == ["asyncio: task done? False", "fiber: released", "asyncio: CancelledError"]


def test_a_fiber_failing_while_cancelled_reports_its_own_error(factory: Factory) -> None:
    error = Failure("cleanup failed")

    async def fails_on_cancel() -> None:
        try:
            await eio.Promise[None].create()[0]
        except eio.Cancelled:
            raise error from None

    async def main() -> BaseException:
        task = asyncio.ensure_future(run_eio(fails_on_cancel))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except Failure as ex:
            return ex
        raise AssertionError("no error")

    assert arun(factory, main()) is error


def test_an_already_cancelled_fiber_starts_no_task(factory: Factory) -> None:
    started: list[str] = []

    async def would_start() -> None:
        started.append("started")

    async def in_eio() -> None:
        with eio.cancel.sub() as cc:
            cc.cancel(Failure("before"))
            await run_asyncio(would_start)

    with pytest.raises(eio.Cancelled):
        arun(factory, run_eio(in_eio))
    assert started == []


# -- one hosted loop per asyncio loop ---------------------------------------------------------


def test_several_run_eio_calls_share_one_loop_and_a_stream(factory: Factory) -> None:
    async def main() -> list[str]:
        stream = eio.Stream[str](1)
        got: list[str] = []

        async def producer() -> None:
            for i in range(5):
                await stream.add(f"item {i}")
            await stream.add("end")

        async def consumer() -> None:
            while (item := await stream.take()) != "end":
                got.append(item)

        async def loop_id() -> int:
            return id(eio.lowlevel.current_loop())

        await asyncio.gather(run_eio(consumer), run_eio(producer))
        a, b = await asyncio.gather(run_eio(loop_id), run_eio(loop_id))
        assert a == b == id(eio_backend_asyncio.host_for(asyncio.get_running_loop()).loop)
        return got

    assert arun(factory, main()) == [f"item {i}" for i in range(5)]


def test_a_promise_resolved_by_asyncio_code_wakes_a_fiber(factory: Factory) -> None:
    async def main() -> str:
        p, r = eio.Promise[str].create()

        async def waiter() -> str:
            return await p

        task = asyncio.ensure_future(run_eio(waiter))
        await asyncio.sleep(0)
        r.resolve("from asyncio")
        return await task

    assert arun(factory, main()) == "from asyncio"


def test_another_thread_wakes_the_hosted_loop(factory: Factory) -> None:
    async def in_eio() -> str:
        p, r = eio.Promise[str].create()
        t = threading.Thread(target=r.resolve, args=("from a thread",))
        t.start()
        value = await p
        t.join()
        return value

    assert arun(factory, run_eio(in_eio)) == "from a thread"


# -- readiness -----------------------------------------------------------------------------------


def test_readiness_waits_and_cancellation_unregisters(factory: Factory) -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)

    async def in_eio() -> bytes:
        # A wait that is cancelled leaves nothing registered with asyncio...
        with eio.cancel.sub() as cc:

            async def cancel_soon() -> None:
                await eio.fiber.yield_()
                cc.cancel(Failure("enough"))

            async with eio.Switch.run() as sw:
                eio.fiber.fork(sw, cancel_soon)
                with pytest.raises(eio.Cancelled):
                    await eio.lowlevel.wait_readable(a.fileno())
        poller = eio_backend_asyncio.host_for(asyncio.get_running_loop())  # fibers run inside asyncio callbacks
        assert not poller.busy()
        # ...and a new wait works: the writer side fills in, the reader wakes.

        async def write_later() -> None:
            await eio.fiber.yield_()
            await eio.lowlevel.wait_writable(b.fileno())
            b.send(b"ping")

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, write_later)
            await eio.lowlevel.wait_readable(a.fileno())
            data = a.recv(100)
        eio.lowlevel.notify_closing(a.fileno(), Failure("closing"))
        eio.lowlevel.notify_closing(b.fileno(), Failure("closing"))
        return data

    try:
        assert arun(factory, run_eio(in_eio)) == b"ping"
    finally:
        a.close()
        b.close()


def test_notify_closing_wakes_the_waiter_with_the_error(factory: Factory) -> None:
    a, b = socket.socketpair()
    error = Failure("descriptor closed")

    async def in_eio() -> BaseException:
        async def closer() -> None:
            await eio.fiber.yield_()
            eio.lowlevel.notify_closing(a.fileno(), error)

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, closer)
            try:
                await eio.lowlevel.wait_readable(a.fileno())
            except Failure as ex:
                return ex
        raise AssertionError("not woken")

    try:
        assert arun(factory, run_eio(in_eio)) is error
    finally:
        a.close()
        b.close()


def test_a_descriptor_closed_and_reused_within_a_step_is_registered_afresh(factory: Factory) -> None:
    """Shared code closes a descriptor nobody waits on without telling the poller; its number may come back at once."""

    async def in_eio() -> bytes:
        a, b = socket.socketpair()
        b.send(b"x")
        await eio.lowlevel.wait_readable(a.fileno())  # ready: the registration outlives the wake-up...
        number = a.fileno()
        a.close()  # ...and the descriptor is closed in the same step,
        b.close()
        c, d = socket.socketpair()  # its number reused by a new socket,
        try:
            assert number in (c.fileno(), d.fileno())
            reader, writer = (c, d) if c.fileno() == number else (d, c)

            async def send_later() -> None:
                await eio.fiber.yield_()
                writer.send(b"new")

            async with eio.Switch.run() as sw:
                eio.fiber.fork(sw, send_later)
                await eio.lowlevel.wait_readable(reader.fileno())  # which must still wake up
            return reader.recv(10)
        finally:
            eio.lowlevel.notify_closing(c.fileno(), Failure("closing"))
            c.close()
            d.close()

    assert arun(factory, run_eio(in_eio)) == b"new"


def test_asyncio_code_can_watch_a_number_an_eio_wait_used(factory: Factory) -> None:
    """After the step, no registration of a closed descriptor is left in asyncio's loop."""

    async def in_eio() -> int:
        a, b = socket.socketpair()
        b.send(b"x")
        await eio.lowlevel.wait_readable(a.fileno())
        number = a.fileno()
        a.close()
        b.close()
        return number

    async def main() -> bytes:
        number = await run_eio(in_eio)
        c, d = socket.socketpair()
        try:
            assert number in (c.fileno(), d.fileno())
            reader, writer = (c, d) if c.fileno() == number else (d, c)
            readable = asyncio.Event()
            aloop = asyncio.get_running_loop()
            aloop.add_reader(reader.fileno(), readable.set)
            writer.send(b"asyncio")
            await readable.wait()
            aloop.remove_reader(reader.fileno())
            return reader.recv(10)
        finally:
            c.close()
            d.close()

    assert arun(factory, main()) == b"asyncio"


# -- misuse ---------------------------------------------------------------------------------------


def test_run_asyncio_outside_a_fiber_says_what_it_needs(factory: Factory) -> None:
    async def nothing() -> None:
        pass

    async def main() -> None:
        with pytest.raises(RuntimeError, match="must be called from an eio fiber running on the asyncio backend"):
            await run_asyncio(nothing)

    arun(factory, main())


def test_run_asyncio_on_another_backend_says_which_backend_it_needs() -> None:
    async def nothing() -> None:
        pass

    async def main() -> None:
        with pytest.raises(RuntimeError, match=r"run_asyncio needs the asyncio backend \(eio_backend_asyncio\)"):
            await run_asyncio(nothing)

    eio_mock.backend.run(main)


def test_passing_a_coroutine_object_is_a_clear_type_error(factory: Factory) -> None:
    async def work() -> None:
        pass

    async def main() -> None:
        coro = work()
        with pytest.raises(TypeError, match="run_eio expects an async function, but got a coroutine object"):
            await run_eio(coro)  # type: ignore[arg-type]  # the misuse under test

    arun(factory, main())


def test_a_bad_loop_factory_is_a_type_error() -> None:
    async def main(env: object) -> None:
        pass

    with pytest.raises(TypeError, match="loop_factory must be a function"):
        eio_backend_asyncio.run(main, loop_factory=42)  # type: ignore[arg-type]  # the misuse under test


def test_run_plain_returns_and_leaves_no_descriptor(factory: Factory) -> None:
    async def nothing() -> None:
        pass

    arun(factory, nothing())  # uvloop keeps one pipe open for the whole process after its first run
    before = set(os.listdir("/proc/self/fd"))

    async def fn() -> str:
        await eio.fiber.yield_()
        return "done"

    assert eio_backend_asyncio.run_plain(fn, loop_factory=factory) == "done"
    gc.collect()
    assert set(os.listdir("/proc/self/fd")) <= before


def test_the_environment_names_its_backend(factory: Factory) -> None:
    async def main(env: eio.Stdenv) -> tuple[str, str]:
        return env.backend_id, eio.lowlevel.current_loop().backend_id

    expected = "asyncio" if factory is asyncio.new_event_loop else "asyncio-uvloop"
    assert eio_backend_asyncio.run(main, loop_factory=factory) == (expected, expected)


def test_a_program_owning_its_loop_that_can_never_finish_raises_deadlock(factory: Factory) -> None:
    cleaned: list[str] = []

    async def never() -> None:
        try:
            await eio.Promise[None].create()[0]
        finally:
            cleaned.append("finally ran")

    with pytest.raises(eio.Deadlock) as info:
        eio_backend_asyncio.run_plain(never, loop_factory=factory)
    # A daemon thread left by an earlier test (a library's worker) adds a note line; skip it.
    lines = [line for line in str(info.value).splitlines() if not line.startswith("  (no wake-up came")]
    assert lines[0] == "Deadlock detected: no events scheduled but main function hasn't returned"
    assert lines[1].startswith("  main fiber is waiting in Promise.__await__ at ")
    assert cleaned == ["finally ran"]


def test_an_asyncio_task_still_running_is_no_deadlock(factory: Factory) -> None:
    """While the program's asyncio code may still resolve a promise, the loop waits for it."""

    async def in_eio() -> str:
        p, r = eio.Promise[str].create()

        async def resolve_later() -> None:
            for _ in range(5):
                await asyncio.sleep(0)
            r.resolve("resolved by asyncio code")

        task = asyncio.get_running_loop().create_task(resolve_later())  # awaited by no fiber
        value = await p
        assert task.done()
        return value

    assert eio_backend_asyncio.run_plain(in_eio, loop_factory=factory) == "resolved by asyncio code"


def test_each_domain_is_an_asyncio_loop_of_its_own_thread(factory: Factory) -> None:
    async def main(env: eio.Stdenv) -> tuple[bool, bool, str, str]:
        here = asyncio.get_running_loop()

        async def in_asyncio() -> tuple[asyncio.AbstractEventLoop, int]:
            await asyncio.sleep(0.001)  # an asyncio timer in the domain's loop
            return asyncio.get_running_loop(), threading.get_ident()

        async def in_domain() -> tuple[bool, bool, str, str]:
            loop, thread = await run_asyncio(in_asyncio)
            # An asyncio call cancelled in the domain ends as eio.Cancelled there too.
            try:
                await eio.time.with_timeout(env.mono_clock, 0.001, lambda: run_asyncio(asyncio.sleep, 3600))
                outcome = "slept"
            except eio.time.Timeout:
                outcome = "timed out"
            same_kind_here = type(loop) is type(here) and thread == threading.get_ident()
            return loop is not here, same_kind_here, outcome, eio.lowlevel.current_loop().backend_id

        return await env.domain_mgr.run(in_domain)

    expected_id = "asyncio" if factory is asyncio.new_event_loop else "asyncio-uvloop"
    assert eio_backend_asyncio.run(main, loop_factory=factory) == (True, True, "timed out", expected_id)
