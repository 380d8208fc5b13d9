"""eio and trio in one program: trio code from fibers (`run_trio`), fibers from trio code (`run_eio`).

Every test runs with both readiness strategies (the loop's own epoll on
Linux, one trio task per wait everywhere), since cancellation and wake-ups
go through them.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import TypeVar

import eio
import pytest
import trio

import eio_mock
from eio_backend_trio import hosting, readiness, run_eio, run_plain, run_trio

T = TypeVar("T")

KINDS = ["epoll", "tasks"] if sys.platform == "linux" else ["tasks"]


class Boom(Exception):
    """The error the tests throw across."""


def new_poller(kind: str) -> readiness.TrioPoller:
    if kind == "tasks":
        return readiness.TaskPoller()
    return readiness.new_poller()


@pytest.fixture(params=KINDS)
def trio_run(request: pytest.FixtureRequest) -> Callable[[Callable[[], Awaitable[T]]], T]:
    """``trio.run(fn)`` with this run's hosted eio loop using the readiness strategy under test."""
    kind = str(request.param)

    def run(fn: Callable[[], Awaitable[T]]) -> T:
        async def main() -> T:
            hosting.install(hosting.TrioLoop(new_poller(kind), backend_id="trio"))
            return await fn()

        return trio.run(main)

    return run


Runner = Callable[[Callable[[], Awaitable[T]]], T]


# -- trio code from an eio fiber ---------------------------------------------------------------


def test_run_trio_calls_trio_libraries(trio_run: Runner[object]) -> None:
    async def produce(n: int) -> list[int]:
        send, receive = trio.open_memory_channel[int](n)
        async with trio.open_nursery() as nursery:

            async def producer() -> None:
                async with send:
                    for i in range(n):
                        await send.send(i * i)
                        await trio.sleep(0)

            nursery.start_soon(producer)
            async with receive:
                return [x async for x in receive]

    async def fiber() -> list[int]:
        return await run_trio(produce, 4)

    assert trio_run(lambda: run_eio(fiber)) == [0, 1, 4, 9]


def test_run_trio_keeps_other_fibers_running(trio_run: Runner[object]) -> None:
    events: list[str] = []

    async def trio_side() -> str:
        events.append("trio call starts")
        await trio.sleep(0.01)
        events.append("trio call ends")
        return "from trio"

    async def main() -> tuple[str, None]:
        async def other() -> None:
            for i in range(3):
                events.append(f"fiber step {i}")
                await eio.fiber.yield_()

        return await eio.fiber.pair(lambda: run_trio(trio_side), other)

    assert trio_run(lambda: run_eio(main)) == ("from trio", None)
    # The trio task starts when trio next schedules (its place among the
    # fiber's steps is trio's choice); the fiber ran all its steps meanwhile.
    assert events[-1] == "trio call ends"
    assert [e for e in events if e.startswith("fiber")] == ["fiber step 0", "fiber step 1", "fiber step 2"]
    assert "trio call starts" in events


def test_run_trio_error_crosses_as_the_same_object(trio_run: Runner[object]) -> None:
    boom = Boom("from trio")

    async def fail() -> None:
        await trio.sleep(0)
        raise boom

    async def fiber() -> BaseException:
        try:
            await run_trio(fail)
        except Boom as ex:
            return ex
        raise AssertionError("no error")

    assert trio_run(lambda: run_eio(fiber)) is boom


def test_cancelling_the_fiber_cancels_the_trio_call_and_waits_for_it(trio_run: Runner[object]) -> None:
    events: list[str] = []

    async def forever() -> None:
        try:
            await trio.sleep_forever()
        finally:
            # Clean-up that takes trio time: the fiber must not go on before it ends.
            with trio.CancelScope(shield=True):
                await trio.sleep(0.01)
            events.append("trio call ended")

    async def main() -> str:
        async def waiter() -> str:
            try:
                await run_trio(forever)
            except eio.Cancelled:
                events.append("fiber sees Cancelled")
                raise
            return "not reached"

        async def quick() -> str:
            await eio.fiber.yield_()
            return "quick"

        return await eio.fiber.first(waiter, quick)

    assert trio_run(lambda: run_eio(main)) == "quick"
    assert events == ["trio call ended", "fiber sees Cancelled"]


def test_cancelling_a_trio_call_with_a_nursery_raises_cancelled_in_the_fiber(trio_run: Runner[object]) -> None:
    # trio wraps the Cancelled of a nursery's tasks in an exception group; the
    # call's own cancel scope absorbs it, and the fiber sees eio.Cancelled.
    async def server() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            await trio.sleep_forever()

    seen: list[str] = []

    async def main() -> str:
        async def waiter() -> str:
            try:
                await run_trio(server)
            except eio.Cancelled:
                seen.append("eio.Cancelled")
                raise
            return "returned"

        async def quick() -> str:
            await eio.fiber.yield_()
            return "quick"

        return await eio.fiber.first(waiter, quick)

    assert trio_run(lambda: run_eio(main)) == "quick"
    assert seen == ["eio.Cancelled"]


def test_a_trio_call_that_completes_despite_the_cancel_returns_its_result(trio_run: Runner[object]) -> None:
    async def shielded() -> str:
        with trio.CancelScope(shield=True):
            await trio.sleep(0.01)
        return "completed"

    async def main() -> list[str]:
        seen: list[str] = []
        with eio.cancel.sub() as cc:

            async def cancel_soon() -> None:
                await eio.fiber.yield_()
                cc.cancel(Boom("stop"))

            async with eio.Switch.run() as sw:
                eio.fiber.fork(sw, cancel_soon)
                seen.append(await run_trio(shielded))
                try:
                    await eio.fiber.yield_()
                except eio.Cancelled:
                    seen.append("cancelled at the next operation")
        return seen

    assert trio_run(lambda: run_eio(main)) == ["completed", "cancelled at the next operation"]


def test_run_trio_outside_a_fiber_says_which_backend_it_needs() -> None:
    async def nothing() -> None:
        pass

    async def from_trio() -> None:
        await run_trio(nothing)

    with pytest.raises(RuntimeError, match=r"run_trio must be called from an eio fiber on the trio backend.*no eio fiber"):
        trio.run(from_trio)

    async def from_mock() -> None:
        await run_trio(nothing)

    with pytest.raises(RuntimeError, match=r"on the trio backend.*'mock' backend"):
        eio_mock.backend.run(from_mock)


# -- eio fibers from trio code -----------------------------------------------------------------


def test_fibers_inside_a_trio_nursery_share_a_promise(trio_run: Runner[object]) -> None:
    events: list[str] = []
    promise, resolver = eio.Promise[str].create()

    async def waiter(i: int) -> str:
        value = await promise
        events.append(f"fiber {i} got {value}")
        return value + str(i)

    async def resolver_fiber() -> None:
        await eio.fiber.yield_()
        resolver.resolve("v")
        events.append("resolved")

    async def main() -> list[str]:
        results: list[str] = []
        async with trio.open_nursery() as nursery:

            async def call(i: int) -> None:
                results.append(await run_eio(waiter, i))

            nursery.start_soon(call, 1)
            nursery.start_soon(call, 2)
            await trio.sleep(0.01)
            events.append("trio task resolves through a fiber")
            nursery.start_soon(run_eio, resolver_fiber)
        return sorted(results)

    assert trio_run(main) == ["v1", "v2"]
    # trio starts the two calls in an order of its choosing; both were waiting before the resolve.
    assert events[:2] == ["trio task resolves through a fiber", "resolved"]
    assert sorted(events[2:]) == ["fiber 1 got v", "fiber 2 got v"]


def test_trio_code_resolving_a_promise_wakes_a_fiber(trio_run: Runner[object]) -> None:
    # Between two steps no fiber is current: the wake-up goes through the loop's inbox.
    promise, resolver = eio.Promise[int].create()

    async def main() -> int:
        async with trio.open_nursery() as nursery:
            result: list[int] = []

            async def call() -> None:
                result.append(await run_eio(lambda: promise))

            nursery.start_soon(call)
            await trio.sleep(0.01)
            resolver.resolve(7)
        return result[0]

    assert trio_run(main) == 7


def test_a_stream_between_fibers_of_two_run_eio_calls(trio_run: Runner[object]) -> None:
    stream = eio.Stream[int](1)

    async def producer() -> None:
        for i in range(5):
            await stream.add(i)

    async def consumer() -> list[int]:
        return [await stream.take() for _ in range(5)]

    async def main() -> list[int]:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_eio, producer)
            return await run_eio(consumer)

    assert trio_run(main) == [0, 1, 2, 3, 4]


def test_run_eio_error_crosses_as_the_same_object(trio_run: Runner[object]) -> None:
    boom = Boom("from eio")

    async def fail() -> None:
        await eio.fiber.yield_()
        raise boom

    async def main() -> BaseException:
        try:
            await run_eio(fail)
        except Boom as ex:
            return ex
        raise AssertionError("no error")

    assert trio_run(main) is boom


def test_a_trio_cancel_scope_cancels_the_fiber_and_waits_for_it(trio_run: Runner[object]) -> None:
    events: list[str] = []

    async def fiber() -> None:
        try:
            await eio.fiber.await_cancel()
        except eio.Cancelled as ex:
            events.append(f"fiber cancelled by {type(ex.reason).__name__}")
            raise
        finally:
            with eio.cancel.protect():
                await eio.fiber.yield_()
                events.append("fiber clean-up done")

    async def main() -> bool:
        with trio.move_on_after(0.01) as scope:
            await run_eio(fiber)
        events.append("trio goes on")
        return scope.cancelled_caught

    assert trio_run(main) is True
    assert events == ["fiber cancelled by Cancelled", "fiber clean-up done", "trio goes on"]


def test_cancelling_one_run_eio_call_leaves_the_others_running(trio_run: Runner[object]) -> None:
    promise, resolver = eio.Promise[str].create()

    async def main() -> str:
        async with trio.open_nursery() as nursery:
            out: list[str] = []

            async def survivor() -> None:
                out.append(await run_eio(lambda: promise))

            nursery.start_soon(survivor)
            with trio.CancelScope() as scope:
                scope.cancel()
                await run_eio(eio.fiber.await_cancel)
            resolver.resolve("still here")
        return out[0]

    assert trio_run(main) == "still here"


def test_an_error_raised_while_cancelled_wins_over_trios_cancellation(trio_run: Runner[object]) -> None:
    boom = Boom("clean-up failed")

    async def fiber() -> None:
        try:
            await eio.fiber.await_cancel()
        finally:
            raise boom

    async def main() -> None:
        with trio.move_on_after(0.01):
            await run_eio(fiber)

    with pytest.raises(Boom) as info:
        trio_run(main)
    assert info.value is boom


def test_run_plain_returns_the_result() -> None:
    async def fiber() -> int:
        await eio.fiber.yield_()
        return 42

    assert run_plain(fiber) == 42


def test_run_eio_rejects_a_coroutine_object(trio_run: Runner[object]) -> None:
    async def fiber() -> None:
        pass

    async def main() -> None:
        await run_eio(fiber())  # type: ignore[arg-type]  # the mistake under test

    with pytest.raises(TypeError, match="pass the function itself"):
        trio_run(main)


# -- wake-ups from outside ---------------------------------------------------------------------


def test_another_thread_wakes_the_parked_loop(trio_run: Runner[object]) -> None:
    promise, resolver = eio.Promise[str].create()

    async def main() -> str:
        # The driver is parked in trio (no timer, no IO) when the thread resolves.
        threading.Timer(0.01, resolver.resolve, ("from a thread",)).start()
        return await promise

    assert trio_run(lambda: run_eio(main)) == "from a thread"


@pytest.fixture
def restore_sigusr1() -> Iterator[None]:
    old = signal.getsignal(signal.SIGUSR1)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, old)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGUSR1 is POSIX")
@pytest.mark.usefixtures("restore_sigusr1")
def test_a_signal_handler_broadcast_wakes_the_hosted_loop(trio_run: Runner[object]) -> None:
    cond = eio.Condition()

    def handler(signum: int, frame: FrameType | None) -> None:
        cond.broadcast()

    signal.signal(signal.SIGUSR1, handler)

    async def main() -> str:
        async def waiter() -> str:
            await cond.await_no_mutex()
            return "woken"

        async def send() -> str:
            # From another thread, once the waiter is parked: the signal may
            # reach any thread, and the driver is asleep in trio.
            await eio.fiber.yield_()
            threading.Timer(0.01, signal.pthread_kill, (threading.main_thread().ident or 0, signal.SIGUSR1)).start()
            await eio.fiber.await_cancel()
            return "not reached"

        return await eio.fiber.first(waiter, send)

    assert trio_run(lambda: run_eio(main)) == "woken"


# -- readiness waits ---------------------------------------------------------------------------


def test_readiness_waits_on_a_socket_pair(trio_run: Runner[object]) -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)

    async def reader() -> bytes:
        while True:
            try:
                return a.recv(100)
            except BlockingIOError:
                await eio.lowlevel.wait_readable(a.fileno())

    async def writer() -> None:
        await eio.fiber.yield_()
        b.send(b"hello")

    async def main() -> bytes:
        data, _ = await eio.fiber.pair(reader, writer)
        return data

    try:
        assert trio_run(lambda: run_eio(main)) == b"hello"
    finally:
        a.close()
        b.close()


def test_a_cancelled_readiness_wait_and_notify_closing(trio_run: Runner[object]) -> None:
    a, b = socket.socketpair()
    closed = OSError("closed under the waiter")

    async def main() -> list[str]:
        seen: list[str] = []

        async def wait_cancelled() -> None:
            try:
                await eio.lowlevel.wait_readable(a.fileno())
            except eio.Cancelled:
                seen.append("wait cancelled")
                raise

        async def stop() -> None:
            await eio.fiber.yield_()

        await eio.fiber.first(wait_cancelled, stop)

        async def wait_closed() -> None:
            try:
                await eio.lowlevel.wait_readable(a.fileno())
            except OSError as ex:
                seen.append(f"woken by {ex is closed and 'the closing error'}")

        async def close() -> None:
            await eio.fiber.yield_()
            eio.lowlevel.notify_closing(a.fileno(), closed)
            a.close()

        await eio.fiber.both(wait_closed, close)
        return seen

    try:
        assert trio_run(lambda: run_eio(main)) == ["wait cancelled", "woken by the closing error"]
    finally:
        a.close()
        b.close()


def test_two_fibers_waiting_for_the_same_direction_is_an_error(trio_run: Runner[object]) -> None:
    a, b = socket.socketpair()

    async def main() -> str:
        async def first_waiter() -> str:
            await eio.lowlevel.wait_readable(a.fileno())
            return "readable"

        async def second_waiter() -> str:
            try:
                await eio.lowlevel.wait_readable(a.fileno())
            except RuntimeError as ex:
                return str(ex)
            return "no error"

        return await eio.fiber.first(first_waiter, second_waiter)

    try:
        assert (
            trio_run(lambda: run_eio(main))
            == f"another fiber is already waiting for descriptor {a.fileno()} to become readable"
        )
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_wait_ended_by_notify_closing_is_no_deadlock(kind: str) -> None:
    # In a run eio owns (deadlocks are detected), the closed descriptor's wait
    # still counts as pending until its fiber is woken with the error.
    a, b = socket.socketpair()
    closed = OSError("closed under the waiter")

    async def main() -> str:
        async def waiter() -> str:
            try:
                await eio.lowlevel.wait_readable(a.fileno())
            except OSError as ex:
                return "closing error" if ex is closed else repr(ex)
            return "readable"

        async def close() -> str:
            await eio.fiber.yield_()
            eio.lowlevel.notify_closing(a.fileno(), closed)
            a.close()
            return "closed"

        return str(await eio.fiber.pair(waiter, close))

    try:
        loop = hosting.TrioLoop(new_poller(kind), backend_id="trio")
        assert loop.run(main()) == "('closing error', 'closed')"
    finally:
        a.close()
        b.close()
