"""Cross-thread safety of promises, streams, mutexes, semaphores and conditions.

Another OS thread (a plain thread, or one running its own eio loop: a
domain) resolves, adds, unlocks, releases or broadcasts, and the fiber
waiting on this loop must wake. The stress tests check that with several
threads at once every item is delivered exactly once and nothing hangs.

Everything is bounded so that a lost wake-up fails instead of hanging:
`run_bounded` runs the loop on a daemon thread and gives up after a time
limit; helper threads are daemons too, and the loop is told to wait for them
through ``pending_external`` (as a backend does for work on other threads).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import eio
import pytest
from conftest import Runner

import eio_mock

T = TypeVar("T")

TIME_LIMIT = 60.0


def run_bounded(fn: Callable[[], Awaitable[T]], limit: float = TIME_LIMIT) -> T:
    """Run ``fn`` on a mock loop in a daemon thread; fail if it isn't done within ``limit`` seconds."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(eio_mock.backend.run(fn))
        except BaseException as ex:  # noqa: BLE001 - re-raised by the test thread
            errors.append(ex)

    loop_thread = threading.Thread(target=target, name="eio-loop", daemon=True)
    loop_thread.start()
    loop_thread.join(limit)
    assert not loop_thread.is_alive(), f"the eio loop did not finish within {limit} s (a lost wake-up?)"
    if errors:
        raise errors[0]
    return result[0]


class Helpers:
    """Daemon helper threads that the current loop waits for; their errors are collected."""

    def __init__(self) -> None:
        self.loop = eio.lowlevel.current_loop()
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def _done(self) -> None:
        self.loop.pending_external -= 1

    def start(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` on a new daemon thread."""
        loop = self.loop
        loop.pending_external += 1

        def target() -> None:
            try:
                fn()
            except BaseException as ex:  # noqa: BLE001 - reported by join
                self.errors.append(ex)
            finally:
                loop.call_soon_threadsafe(self._done)

        t = threading.Thread(target=target, daemon=True)
        self.threads.append(t)
        t.start()

    def join(self) -> None:
        """Wait for the threads (bounded) and re-raise the first error one of them had."""
        for t in self.threads:
            t.join(TIME_LIMIT)
            assert not t.is_alive(), "a helper thread did not finish"
        if self.errors:
            raise self.errors[0]


def in_domain(fn: Callable[[], Awaitable[object]]) -> Callable[[], object]:
    """A thread body that runs ``fn`` on its own mock eio loop."""
    return lambda: eio_mock.backend.run(fn)


# -- one wake-up from another thread, on the backend under test ------------------


def test_promise_resolved_from_plain_thread(run: Runner) -> None:
    """The loop waits while a non-daemon thread is alive, and that thread's resolve wakes it."""

    async def main() -> int:
        p, r = eio.Promise[int].create()

        def resolver() -> None:
            time.sleep(0.01)
            r.resolve(42)

        t = threading.Thread(target=resolver)
        t.start()
        x = await p
        t.join()
        return x

    assert run(main) == 42


def test_semaphore_released_from_plain_thread(run: Runner) -> None:
    async def main() -> int:
        sem = eio.Semaphore(0)

        def releaser() -> None:
            time.sleep(0.01)
            sem.release()

        t = threading.Thread(target=releaser)
        t.start()
        await sem.acquire()
        t.join()
        return sem.get_value()

    assert run(main) == 0


def test_condition_broadcast_from_plain_thread(run: Runner) -> None:
    async def main() -> str:
        cond = eio.Condition()
        state: list[str] = []

        def setter() -> None:
            time.sleep(0.01)
            state.append("set")
            cond.broadcast()

        async def check() -> str | None:
            return state[0] if state else None

        t = threading.Thread(target=setter)
        t.start()
        x = await cond.loop_no_mutex(check)
        t.join()
        return x

    assert run(main) == "set"


# -- domains: fibers on another loop take part ------------------------------------


def test_stream_between_domains() -> None:
    """A rendezvous between two loops: each side waits for the other in turn."""

    async def main() -> list[int]:
        s = eio.Stream[int](0)
        helpers = Helpers()

        async def producer() -> None:
            for i in range(5):
                await s.add(i)

        helpers.start(in_domain(producer))
        got = [await s.take() for _ in range(5)]
        helpers.join()
        return got

    assert run_bounded(main) == [0, 1, 2, 3, 4]


def test_stream_add_from_main_wakes_taker_in_domain() -> None:
    async def main() -> list[int]:
        s = eio.Stream[int](1)
        back = eio.Stream[int](1)
        helpers = Helpers()

        async def echo() -> None:
            for _ in range(3):
                await back.add(await s.take() * 10)

        helpers.start(in_domain(echo))
        got: list[int] = []
        for i in range(3):
            await s.add(i)
            got.append(await back.take())
        helpers.join()
        return got

    assert run_bounded(main) == [0, 10, 20]


def test_mutex_unlocked_from_another_domain() -> None:
    async def main() -> list[str]:
        m = eio.Mutex()
        log: list[str] = []
        helpers = Helpers()
        await m.lock()

        async def other() -> None:
            await m.lock()  # woken by the main loop's unlock
            log.append("domain has the lock")
            time.sleep(0.01)
            m.unlock()  # wakes the main loop's waiter

        helpers.start(in_domain(other))
        time.sleep(0.01)
        m.unlock()
        await m.lock()
        log.append("main has the lock again")
        m.unlock()
        helpers.join()
        return log

    assert run_bounded(main) == ["domain has the lock", "main has the lock again"]


def test_promise_resolved_from_another_domain_wakes_all_waiters() -> None:
    async def main() -> list[str]:
        p, r = eio.Promise[str].create()
        helpers = Helpers()
        got: list[str] = []
        async with eio.Switch.run() as sw:

            async def waiter() -> None:
                got.append(await p)

            for _ in range(3):
                eio.fiber.fork(sw, waiter)

            async def resolve() -> None:
                r.resolve("hi")

            helpers.start(in_domain(resolve))
        helpers.join()
        return got

    assert run_bounded(main) == ["hi", "hi", "hi"]


# -- stress --------------------------------------------------------------------


THREADS = 4
ITEMS = 2000


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads every microsecond instead of every 5 ms, so races get a chance to show."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def test_stress_threads_feed_stream_and_resolve_promises() -> None:
    """4 domains x 2,000 items through one small stream, and 8,000 promises resolved from threads."""

    async def main() -> None:
        s = eio.Stream[tuple[int, int]](4)
        promises = [[eio.Promise[int].create() for _ in range(ITEMS)] for _ in range(THREADS)]
        helpers = Helpers()

        def feeder(tid: int) -> Callable[[], object]:
            async def body() -> None:
                resolvers = promises[tid]
                for i in range(ITEMS):
                    await s.add((tid, i))
                    resolvers[i][1].resolve(tid * ITEMS + i)

            return in_domain(body)

        received: Counter[tuple[int, int]] = Counter()
        resolved: list[int] = []

        async with eio.Switch.run() as sw:

            async def consumer() -> None:
                # One consumer's takes are sequential, so it must see each
                # producer's items in the order that producer added them.
                last_seen = [-1] * THREADS
                for _ in range(THREADS * ITEMS // 2):
                    tid, i = await s.take()
                    received[(tid, i)] += 1
                    assert i > last_seen[tid]
                    last_seen[tid] = i

            async def await_promises() -> None:
                for tid in range(THREADS):
                    for p, _ in promises[tid]:
                        resolved.append(await p)

            eio.fiber.fork(sw, consumer)
            eio.fiber.fork(sw, consumer)
            eio.fiber.fork(sw, await_promises)
            for tid in range(THREADS):
                helpers.start(feeder(tid))
        helpers.join()
        assert len(received) == THREADS * ITEMS
        assert set(received.values()) == {1}
        assert resolved == list(range(THREADS * ITEMS))
        assert s.is_empty() and s.take_nonblocking() is None

    run_bounded(main)


def test_stress_plain_threads_add_to_rendezvous_via_domains_and_close() -> None:
    """Writers on other loops block on a capacity-0 stream until taken; closing stops the rest."""

    async def main() -> None:
        s = eio.Stream[int](0)
        helpers = Helpers()
        outcomes: list[str] = []
        lock = threading.Lock()

        def writer(tid: int) -> Callable[[], object]:
            async def body() -> None:
                sent = 0
                try:
                    for i in range(ITEMS):
                        await s.add(tid * ITEMS + i)
                        sent += 1
                except eio.Stream.Closed:
                    pass
                with lock:
                    outcomes.append(f"{tid}:{sent}")

            return in_domain(body)

        for tid in range(THREADS):
            helpers.start(writer(tid))
        taken = [await s.take() for _ in range(ITEMS)]
        s.close()
        helpers.join()
        assert len(set(taken)) == ITEMS
        sent_total = sum(int(o.split(":")[1]) for o in outcomes)
        assert sent_total == ITEMS  # every add that returned was taken exactly once
        assert len(outcomes) == THREADS

    run_bounded(main)


def test_stress_mutex_and_semaphore_across_domains() -> None:
    """A read-yield-write counter under a mutex stays exact; a semaphore never over-admits."""

    async def main() -> None:
        m = eio.Mutex()
        sem = eio.Semaphore(2)
        counter = 0
        inside = 0
        max_inside = 0
        stats_lock = threading.Lock()
        helpers = Helpers()
        rounds = 300

        async def worker() -> None:
            nonlocal counter, inside, max_inside
            for _ in range(rounds):
                async with m.use_rw():
                    seen = counter
                    await eio.fiber.yield_()
                    counter = seen + 1
                async with sem:
                    with stats_lock:
                        inside += 1
                        max_inside = max(max_inside, inside)
                    await eio.fiber.yield_()
                    with stats_lock:
                        inside -= 1

        async def domain() -> None:
            await eio.fiber.both(worker, worker)

        for _ in range(THREADS):
            helpers.start(in_domain(domain))
        await eio.fiber.both(worker, worker)
        helpers.join()
        assert counter == (THREADS + 1) * 2 * rounds
        assert max_inside <= 2
        assert sem.get_value() == 2
        assert m.try_lock()

    run_bounded(main)


def test_stress_condition_broadcast_from_threads() -> None:
    """Threads bump a counter and broadcast; waiters on several loops all see the final value."""

    async def main() -> None:
        cond = eio.Condition()
        count = 0
        count_lock = threading.Lock()
        target = THREADS * ITEMS
        helpers = Helpers()

        def bumper() -> None:
            nonlocal count
            for _ in range(ITEMS):
                with count_lock:
                    count += 1
                cond.broadcast()

        async def check() -> int | None:
            return count if count == target else None

        async def domain_waiter() -> None:
            assert await cond.loop_no_mutex(check) == target

        for _ in range(2):
            helpers.start(in_domain(domain_waiter))
        for _ in range(THREADS):
            helpers.start(bumper)
        results = await eio.fiber.pair(lambda: cond.loop_no_mutex(check), lambda: cond.loop_no_mutex(check))
        helpers.join()
        assert results == (target, target)

    run_bounded(main)


def test_stress_cancelling_waiters_while_other_domains_wake_them() -> None:
    """A taker or acquirer cancelled just as another domain wakes it: no item or unit is lost or doubled."""

    async def main() -> None:
        s = eio.Stream[int](0)
        sem = eio.Semaphore(0)
        helpers = Helpers()
        got: list[int] = []
        acquired = 0

        async def producer() -> None:
            for i in range(ITEMS):
                await s.add(i)
                sem.release()

        async def taker() -> None:
            try:
                got.append(await s.take())
            except eio.Cancelled:
                pass

        async def acquirer() -> None:
            nonlocal acquired
            try:
                await sem.acquire()
                acquired += 1
            except eio.Cancelled:
                pass

        async def attempt(op: Callable[[], Awaitable[None]]) -> None:
            # Start op, let other fibers (and threads) run a little, then cancel it if still waiting.
            box: list[eio.cancel.CancelContext] = []

            async def body() -> None:
                with eio.cancel.sub() as cc:
                    box.append(cc)
                    await op()

            async with eio.Switch.run() as sw:
                eio.fiber.fork(sw, body)
                await eio.fiber.yield_()
                if box[0].is_on():
                    box[0].cancel(Exception("give up"))

        helpers.start(in_domain(producer))
        while len(got) < ITEMS:
            await attempt(taker)
            await attempt(acquirer)
        while acquired + sem.get_value() < ITEMS:
            await attempt(acquirer)
        helpers.join()
        assert got == list(range(ITEMS))
        assert acquired + sem.get_value() == ITEMS

    run_bounded(main)
