"""Conformance: Eio's tests/domains.md, with ``env.domain_mgr`` of a real backend.

Each test runs ``eio_main.run`` on every OS backend, whose domain manager
starts an OS thread with its own loop (a new ring, a new selector...) per domain. The traces are exact:
where two domains run at once, the test orders them with a promise or a lock.
"""

from __future__ import annotations

import contextvars
import threading

import eio
import pytest
from conftest import Trace

import eio_main

_backend = ""


@pytest.fixture(autouse=True)
def _on_each_backend(os_backend: str) -> None:
    """Run every test of this module once per OS backend (as ``_backend``)."""
    global _backend
    _backend = os_backend


class SimulatedError(Exception):
    """The failure the tests inject."""


def test_spawning_a_second_domain(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def hello() -> str:
            return "Hello from new domain"

        response = await eio.domain_manager.run(env.domain_mgr, hello)
        eio.traceln(f"Got {response!r} from spawned domain")

    eio_main.run(main, backend=_backend)
    assert trace.lines() == ["Got 'Hello from new domain' from spawned domain"]


def test_the_domain_runs_on_another_thread_with_its_own_loop() -> None:
    async def main(env: eio.Stdenv) -> tuple[int, int, bool]:
        here = threading.get_ident()
        my_loop = eio.lowlevel.current_loop()

        async def where() -> tuple[int, bool]:
            loop = eio.lowlevel.current_loop()
            return threading.get_ident(), loop is not my_loop and loop.backend_id == _backend

        there, own_loop = await env.domain_mgr.run(where)
        return here, there, own_loop

    here, there, own_loop = eio_main.run(main, backend=_backend)
    assert here != there
    assert own_loop


def test_the_domain_raises_an_exception() -> None:
    async def main(env: eio.Stdenv) -> None:
        async def fail() -> None:
            raise SimulatedError("Exception from new domain")

        await env.domain_mgr.run(fail)

    with pytest.raises(SimulatedError, match="^Exception from new domain$"):
        eio_main.run(main, backend=_backend)


def test_other_fibers_run_while_waiting(trace: Trace) -> None:
    """The new domain blocks on an OS lock that only a fiber of the calling domain releases."""

    async def main(env: eio.Stdenv) -> None:
        lock = threading.Lock()
        lock.acquire()

        async def spawn() -> None:
            eio.traceln("Spawning new domain...")

            async def in_domain() -> str:
                with lock:
                    pass
                return "Hello from new domain"

            response = await env.domain_mgr.run(in_domain)
            eio.traceln(f"Got {response!r} from spawned domain")

        async def other() -> None:
            eio.traceln("Other fibers can still run")
            lock.release()

        await eio.fiber.both(spawn, other)

    eio_main.run(main, backend=_backend)
    assert trace.lines() == [
        "Spawning new domain...",
        "Other fibers can still run",
        "Got 'Hello from new domain' from spawned domain",
    ]


def test_cancelling_another_domain(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async def spawning() -> None:
            async def in_domain() -> None:
                try:
                    await eio.fiber.await_cancel()
                except eio.Cancelled as ex:
                    eio.traceln(f"Spawned domain got {ex}")
                    raise

            try:
                await env.domain_mgr.run(in_domain)
            except eio.Cancelled as ex:
                eio.traceln(f"Spawning fiber got {ex}")
                raise

        async def fail() -> None:
            raise SimulatedError("Simulated error")

        await eio.fiber.both(spawning, fail)

    with pytest.raises(SimulatedError, match="^Simulated error$"):
        eio_main.run(main, backend=_backend)
    assert trace.lines() == [
        "Spawned domain got Cancelled: SimulatedError('Simulated error')",
        "Spawning fiber got Cancelled: SimulatedError('Simulated error')",
    ]


def test_no_domain_is_started_when_already_cancelled(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:
            sw.fail(SimulatedError("Simulated error"))

            async def spawned() -> None:
                eio.traceln("Domain spawned - shouldn't happen!")

            await env.domain_mgr.run(spawned)

    with pytest.raises(SimulatedError, match="^Simulated error$"):
        eio_main.run(main, backend=_backend)
    assert trace.lines() == []


def test_a_cancellation_context_cant_be_used_from_another_domain() -> None:
    async def main(env: eio.Stdenv) -> None:
        p, r = eio.Promise[eio.cancel.CancelContext].create()

        async def in_domain() -> None:
            with eio.cancel.sub() as cc:
                r.resolve(cc)
                await eio.fiber.await_cancel()

        async def spawn() -> None:
            await env.domain_mgr.run(in_domain)

        async def cancel_it() -> None:
            cc = await p
            cc.cancel(SimulatedError("Exit"))

        await eio.fiber.both(spawn, cancel_it)

    with pytest.raises(RuntimeError, match="^Cancellation context accessed from wrong domain!$"):
        eio_main.run(main, backend=_backend)


def test_a_switch_cant_be_failed_from_another_domain() -> None:
    async def main(env: eio.Stdenv) -> None:
        p, r = eio.Promise[eio.Switch].create()

        async def in_domain() -> None:
            async with eio.Switch.run() as sw:
                r.resolve(sw)
                await eio.fiber.await_cancel()

        async def spawn() -> None:
            await env.domain_mgr.run(in_domain)

        async def fail_it() -> None:
            sw = await p
            sw.fail(SimulatedError("Exit"))

        await eio.fiber.both(spawn, fail_it)

    with pytest.raises(RuntimeError, match="^Switch accessed from wrong domain!$"):
        eio_main.run(main, backend=_backend)


def test_a_fiber_cant_be_forked_into_another_domains_switch(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        p, r = eio.Promise[eio.Switch].create()

        async def in_domain() -> None:
            async with eio.Switch.run() as sw:
                r.resolve(sw)
                await eio.fiber.await_cancel()

        async def spawn() -> None:
            await env.domain_mgr.run(in_domain)

        async def fork_into_it() -> None:
            sw = await p

            async def child() -> None:
                eio.traceln("forked - shouldn't happen!")

            eio.fiber.fork(sw, child)

        await eio.fiber.both(spawn, fork_into_it)

    with pytest.raises(RuntimeError, match="^Switch accessed from wrong domain!$"):
        eio_main.run(main, backend=_backend)
    assert trace.lines() == []


def test_registering_a_release_handler_across_domains(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:

            async def in_domain() -> None:
                sw.on_release(lambda: eio.traceln("Handler called"))
                eio.traceln("Handler registered in new domain")

            await env.domain_mgr.run(in_domain)
            eio.traceln("Sub-domain finished; ending switch")

    eio_main.run(main, backend=_backend)
    assert trace.lines() == [
        "Handler registered in new domain",
        "Sub-domain finished; ending switch",
        "Handler called",
    ]


def test_removing_a_release_handler_across_domains(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        p, r = eio.Promise[eio.ReleaseHook].create()

        async def in_domain() -> None:
            async with eio.Switch.run() as sw:
                r.resolve(sw.on_release(lambda: eio.traceln("BUG")))
                await eio.fiber.await_cancel()

        async def spawn() -> None:
            await env.domain_mgr.run(in_domain)

        async def remove_it() -> None:
            hook = await p
            eio.traceln(f"Cancelled: {hook.remove()}")
            raise SimulatedError("Exit")

        await eio.fiber.both(spawn, remove_it)

    with pytest.raises(SimulatedError, match="^Exit$"):
        eio_main.run(main, backend=_backend)
    assert trace.lines() == ["Cancelled: True"]


KEY = contextvars.ContextVar[int]("key")


def test_fiber_local_bindings_are_not_propagated_to_other_domains(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        KEY.set(123)

        async def show() -> None:
            eio.traceln(f"Key => {KEY.get('<unset>')}")

        await env.domain_mgr.run(show)
        eio.traceln(f"Here, key => {KEY.get('<unset>')}")

    eio_main.run(main, backend=_backend)
    assert trace.lines() == ["Key => <unset>", "Here, key => 123"]


# -- values shared between domains ----------------------------------------------------------


def test_a_promise_resolved_in_another_domain_wakes_the_caller(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> str:
        p, r = eio.Promise[str].create()

        async def in_domain() -> None:
            r.resolve("from the domain")

        async def waiter() -> None:
            eio.traceln(f"waiter got {await p!r}")

        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, waiter)
            await env.domain_mgr.run(in_domain)
        return await p

    assert eio_main.run(main, backend=_backend) == "from the domain"
    assert trace.lines() == ["waiter got 'from the domain'"]


def test_a_stream_carries_items_between_domains_in_order() -> None:
    async def main(env: eio.Stdenv) -> list[int]:
        stream = eio.Stream[int | None](0)

        async def producer() -> None:
            for i in range(100):
                await stream.add(i)
            await stream.add(None)

        got: list[int] = []

        async def consumer() -> None:
            while (item := await stream.take()) is not None:
                got.append(item)

        await eio.fiber.both(lambda: env.domain_mgr.run(producer), consumer)
        return got

    assert eio_main.run(main, backend=_backend) == list(range(100))


def test_a_mutex_is_shared_between_domains() -> None:
    """Each domain increments a counter under the mutex, switching fibers while holding it."""

    async def main(env: eio.Stdenv) -> int:
        mutex = eio.Mutex()
        counter = [0]

        async def work() -> None:
            for _ in range(200):
                async with mutex.use_rw():
                    value = counter[0]
                    await eio.fiber.yield_()  # another domain would see the stale value without the lock
                    counter[0] = value + 1

        await eio.fiber.all([lambda: env.domain_mgr.run(work) for _ in range(3)] + [work])
        return counter[0]

    assert eio_main.run(main, backend=_backend) == 800


def test_a_fork_seq_is_consumed_from_another_domain(trace: Trace) -> None:
    async def main(env: eio.Stdenv) -> None:
        async with eio.Switch.run() as sw:

            async def producer(put: eio.fiber.Put[int]) -> None:
                for i in range(1, 501):  # many hand-overs between the two threads
                    await put(i * 10)

            seq = eio.fiber.fork_seq(sw, producer)

            async def consume() -> list[int]:
                return [x async for x in seq]

            got = await eio.domain_manager.run(env.domain_mgr, consume)
            eio.traceln(f"consumed in another domain: {got[:3]} ... {got[-1]}, {len(got)} items")
            assert got == [i * 10 for i in range(1, 501)]

    eio_main.run(main, backend=_backend)
    assert trace.lines() == ["consumed in another domain: [10, 20, 30] ... 5000, 500 items"]
