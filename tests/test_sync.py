"""Conformance: Eio's tests/sync.md (promises, fork, semaphores) and lib_eio/tests/sync.md (the rendezvous).

tests/sync.md is reproduced case by case, with the same traces. Its
``Failure "x"`` is the local `Failure`, ``Exit`` the local `Exit`.

lib_eio/tests/sync.md drives Eio's lock-free ``Sync`` channel (our
``Stream(0)``) with a fake scheduler that resumes a woken fiber at once,
nested inside the waker. Here the same steps are taken by real fibers, so a
woken fiber runs only after the waker has finished its own step: that is
why "Sent A" comes before "cons1: Took A" below, where Eio's fake scheduler
prints them the other way round. What the cases check is the same: who is
paired with whom, in what order, and what cancelling and closing do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import eio
from conftest import Runner, Trace


class Failure(Exception):
    """Eio's ``Failure``."""


class Exit(Exception):
    """Eio's ``Stdlib.Exit``."""


def pp_promise(p: eio.Promise[Any]) -> str:
    """Eio's ``pp_promise``: the state of ``p`` and its value or error."""
    if not p.is_resolved():
        return "unresolved"
    try:
        return f"fulfilled:{p.peek()}"
    except Failure as ex:
        return f"broken:{ex}"


# -- tests/sync.md --


def test_fulfil_promise_waited_on_by_forked_fiber(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            p, r = eio.Promise[str].create()
            eio.traceln(f"Initial state: {pp_promise(p)}")

            async def wait_p() -> str:
                return await p

            thread = eio.fiber.fork_promise(sw, wait_p)
            r.resolve("ok")
            eio.traceln(f"After being fulfilled: {pp_promise(p)}")
            eio.traceln(f"Thread before yield: {pp_promise(thread)}")
            await eio.fiber.yield_()
            eio.traceln(f"Thread after yield: {pp_promise(thread)}")
            eio.traceln(f"Final result: {await thread}")

    run(main)
    assert trace.lines() == [
        "Initial state: unresolved",
        "After being fulfilled: fulfilled:ok",
        "Thread before yield: unresolved",
        "Thread after yield: fulfilled:ok",
        "Final result: ok",
    ]


def test_break_promise_waited_on_by_forked_fiber(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            p, r = eio.Promise[str].create()
            eio.traceln(f"Initial state: {pp_promise(p)}")

            async def wait_p() -> str:
                return await p

            thread = eio.fiber.fork_promise(sw, wait_p)
            r.resolve_error(Failure("test"))
            eio.traceln(f"After being broken: {pp_promise(p)}")
            eio.traceln(f"Thread before yield: {pp_promise(thread)}")
            await eio.fiber.yield_()
            eio.traceln(f"Thread after yield: {pp_promise(thread)}")
            try:
                x = await thread
                raise Failure(x)
            except Failure as ex:
                eio.traceln(f"Final result exception: {ex}")

    run(main)
    assert trace.lines() == [
        "Initial state: unresolved",
        "After being broken: broken:test",
        "Thread before yield: unresolved",
        "Thread after yield: broken:test",
        "Final result exception: test",
    ]


def test_simple_fork(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        i = 0

        async def incr() -> None:
            nonlocal i
            i += 1

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, incr)
        eio.traceln(f"Forked code ran; i is now {i}")
        p1, r1 = eio.Promise[None].create()
        try:
            async with eio.Switch.run() as sw:

                async def child() -> None:
                    await p1
                    await incr()
                    raise Exit()

                eio.fiber.fork(sw, child)
                eio.traceln(f"Forked code waiting; i is still {i}")
                r1.resolve(None)
            raise AssertionError("not reached")
        except Exit:
            eio.traceln(f"Forked code ran; i is now {i}")

    run(main)
    assert trace.lines() == [
        "Forked code ran; i is now 1",
        "Forked code waiting; i is still 1",
        "Forked code ran; i is now 2",
    ]


def test_basic_semaphore(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            running = 0
            sem = eio.Semaphore(2)

            async def worker() -> None:
                nonlocal running
                await sem.acquire()
                running += 1

            a = eio.fiber.fork_promise(sw, worker)
            b = eio.fiber.fork_promise(sw, worker)
            c = eio.fiber.fork_promise(sw, worker)
            d = eio.fiber.fork_promise(sw, worker)
            eio.traceln(f"Semaphore means that only {running} threads are running")
            await a
            await b
            # a finishes and c starts
            running -= 1
            sem.release()
            eio.traceln(f"One finished; now {running} is running")
            await eio.fiber.yield_()
            eio.traceln(f"Yield allows C to start; now {running} are running")
            await c
            # b finishes and d starts
            running -= 1
            sem.release()
            await d
            running -= 1
            sem.release()
            running -= 1
            sem.release()

    run(main)
    assert trace.lines() == [
        "Semaphore means that only 2 threads are running",
        "One finished; now 1 is running",
        "Yield allows C to start; now 2 are running",
    ]


def test_release_semaphore_when_no_one_is_waiting(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        async with eio.Switch.run() as sw:
            sem = eio.Semaphore(0)
            sem.release()  # release with a free counter
            eio.traceln(f"Initial config: {sem.get_value()}")
            eio.fiber.fork(sw, sem.acquire)
            eio.fiber.fork(sw, sem.acquire)
            eio.traceln(f"A running: {sem.get_value()}")
            sem.release()  # release with a non-empty wait-queue
            eio.traceln(f"Now b running: {sem.get_value()}")
            sem.release()  # release with an empty wait-queue
            eio.traceln(f"Finished: {sem.get_value()}")

    run(main)
    assert trace.lines() == ["Initial config: 1", "A running: 0", "Now b running: 0", "Finished: 1"]


# -- lib_eio/tests/sync.md, with fibers --


async def put(t: eio.Stream[str], v: str) -> None:
    try:
        await t.add(v)
        eio.traceln(f"Sent {v}")
    except eio.Cancelled:
        eio.traceln(f"Send of {v} was cancelled")
    except eio.Stream.Closed as ex:
        eio.traceln(f"Error adding {v}: {ex}")


async def take(t: eio.Stream[str], label: str) -> None:
    try:
        eio.traceln(f"{label}: Took {await t.take()}")
    except eio.Cancelled:
        eio.traceln(f"{label}: Take cancelled")
    except eio.Stream.Closed:
        eio.traceln(f"{label}: Stream was closed")


class Scheduler:
    """Like Eio's ``Fake_sched``: start an operation in its own cancellable fiber, say if it waits."""

    def __init__(self, sw: eio.Switch) -> None:
        self._sw = sw

    async def start(
        self, label: str, op: Callable[[eio.Stream[str], str], Awaitable[None]], t: eio.Stream[str], v: str
    ) -> eio.cancel.CancelContext:
        box: list[eio.cancel.CancelContext] = []
        done = False

        async def body() -> None:
            nonlocal done
            with eio.cancel.sub() as cc:
                box.append(cc)
                await op(t, v)
            done = True

        eio.fiber.fork(self._sw, body)
        if not done:
            eio.traceln(label)
        return box[0]


def test_rendezvous_pairs_producers_and_consumers(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[str](0)
        async with eio.Switch.run() as sw:
            s = Scheduler(sw)
            await s.start("cons1: Waiting for producer", take, t, "cons1")
            await s.start("Waiting for a consumer for A", put, t, "A")  # wakes cons1
            await eio.fiber.yield_()
            await s.start("Waiting for a consumer for B", put, t, "B")
            await s.start("Waiting for a consumer for C", put, t, "C")
            eio.traceln(f"stream: {t!r}")
            await s.start("cons2: Waiting for producer", take, t, "cons2")  # reads B, wakes its producer
            await eio.fiber.yield_()
            await s.start("cons3: Waiting for producer", take, t, "cons3")

    run(main)
    assert trace.lines() == [
        "cons1: Waiting for producer",
        "Sent A",
        "cons1: Took A",
        "Waiting for a consumer for B",
        "Waiting for a consumer for C",
        "stream: <Stream 0/0 items>",
        "cons2: Took B",
        "Sent B",
        "cons3: Took C",
        "Sent C",
    ]


def test_cancelling_a_consumer(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[str](0)
        async with eio.Switch.run() as sw:
            s = Scheduler(sw)
            request = await s.start("cons1: Waiting for producer", take, t, "cons1")
            request.cancel(Failure("test cancellation"))
            await eio.fiber.yield_()
            # The balance is restored: a producer now has to wait.
            await s.start("Waiting for a consumer for A", put, t, "A")
            await s.start("cons2: Waiting for producer", take, t, "cons2")

    run(main)
    assert trace.lines() == [
        "cons1: Waiting for producer",
        "cons1: Take cancelled",
        "Waiting for a consumer for A",
        "cons2: Took A",
        "Sent A",
    ]


def test_cancelling_a_producer(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[str](0)
        async with eio.Switch.run() as sw:
            s = Scheduler(sw)
            a = await s.start("Waiting for a consumer for A", put, t, "A")
            await s.start("Waiting for a consumer for B", put, t, "B")
            a.cancel(Failure("test cancellation"))
            await eio.fiber.yield_()
            # The next consumer sees the second value:
            await s.start("cons4: Waiting for producer", take, t, "cons4")
            eio.traceln(f"nonblocking: {t.take_nonblocking()}")

    run(main)
    assert trace.lines() == [
        "Waiting for a consumer for A",
        "Waiting for a consumer for B",
        "Send of A was cancelled",
        "cons4: Took B",
        "nonblocking: None",
        "Sent B",
    ]


def test_closing_cancels_waiting_producers(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[str](0)
        async with eio.Switch.run() as sw:
            s = Scheduler(sw)
            await s.start("Waiting for a consumer for A", put, t, "A")
            t.close()
            await eio.fiber.yield_()
            await s.start("Waiting for a consumer for B", put, t, "B")

    run(main)
    assert trace.lines() == [
        "Waiting for a consumer for A",
        "Error adding A: Stream closed",
        "Error adding B: Stream closed",
    ]


def test_closing_cancels_waiting_consumers(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Stream[str](0)
        async with eio.Switch.run() as sw:
            s = Scheduler(sw)
            await s.start("A: Waiting for producer", take, t, "A")
            t.close()
            await eio.fiber.yield_()
            await s.start("B: Waiting for producer", take, t, "B")
            eio.traceln(f"take_nonblocking: {t.take_nonblocking()}")

    run(main)
    assert trace.lines() == [
        "A: Waiting for producer",
        "A: Stream was closed",
        "B: Stream was closed",
        "take_nonblocking: None",
    ]
