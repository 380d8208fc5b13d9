"""`eio.RwLock`: readers share, writers are alone, waiters go in FIFO order, cancellation has no effect.

Deterministic traces on every backend, then real threads (domains).
"""

from __future__ import annotations

import threading

import eio
import pytest
from conftest import Runner, Trace
from eio import fiber
from eio.lowlevel import ThreadDomainManager


def domains(backend_name: str) -> ThreadDomainManager:
    """A domain manager whose domains are OS threads running the backend's own loop."""
    if backend_name == "mock":
        import eio_mock

        return eio_mock.domain_manager.threads()
    from eio_backend_uring._run import new_loop

    return ThreadDomainManager(lambda: new_loop()[0])


async def reader(lock: eio.RwLock, name: str, gate: eio.Promise[None]) -> None:
    eio.traceln(f"{name} wants to read")
    async with lock.read():
        eio.traceln(f"{name} reading")
        await gate
    eio.traceln(f"{name} done")


async def writer(lock: eio.RwLock, name: str, gate: eio.Promise[None]) -> None:
    eio.traceln(f"{name} wants to write")
    async with lock.write():
        eio.traceln(f"{name} writing")
        await gate
    eio.traceln(f"{name} done")


def test_readers_share_and_a_waiting_writer_blocks_new_readers(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        lock = eio.RwLock()
        g1, r1 = eio.Promise[None].create()
        g2, r2 = eio.Promise[None].create()
        g3, r3 = eio.Promise[None].create()
        async with eio.Switch.run() as sw:
            fiber.fork(sw, reader, lock, "r1", g1)
            fiber.fork(sw, reader, lock, "r2", g2)
            fiber.fork(sw, writer, lock, "w", g3)
            fiber.fork(sw, reader, lock, "r3", g1)  # behind the writer, though readers hold the lock
            eio.traceln(repr(lock))
            r1.resolve(None)
            await fiber.yield_()
            eio.traceln(repr(lock))
            r2.resolve(None)
            await fiber.yield_()
            eio.traceln(repr(lock))
            r3.resolve(None)  # the writer's gate

    run(main)
    assert trace.lines() == [
        "r1 wants to read",
        "r1 reading",
        "r2 wants to read",
        "r2 reading",
        "w wants to write",
        "r3 wants to read",
        "<RwLock read-locked by 2, 2 waiting>",
        "r1 done",
        "<RwLock read-locked by 1, 2 waiting>",
        "r2 done",
        "<RwLock write-locked, 1 waiting>",
        "w writing",
        "w done",
        "r3 reading",
        "r3 done",
    ]


def test_fifo_among_waiters_and_readers_in_a_row_go_together(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        lock = eio.RwLock()
        gates = [eio.Promise[None].create() for _ in range(5)]
        async with eio.Switch.run() as sw:
            fiber.fork(sw, writer, lock, "w1", gates[0][0])
            fiber.fork(sw, reader, lock, "r1", gates[1][0])
            fiber.fork(sw, reader, lock, "r2", gates[2][0])
            fiber.fork(sw, writer, lock, "w2", gates[3][0])
            fiber.fork(sw, reader, lock, "r3", gates[4][0])
            for _, resolver in gates:
                resolver.resolve(None)
                await fiber.yield_()
                await fiber.yield_()

    run(main)
    assert trace.lines() == [
        "w1 wants to write",
        "w1 writing",
        "r1 wants to read",
        "r2 wants to read",
        "w2 wants to write",
        "r3 wants to read",
        "w1 done",
        "r1 reading",
        "r2 reading",
        "r1 done",
        "r2 done",
        "w2 writing",
        "w2 done",
        "r3 reading",
        "r3 done",
    ]


def test_free_lock_does_not_suspend(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        lock = eio.RwLock()

        async def other() -> None:
            eio.traceln("other fiber runs")

        async with eio.Switch.run() as sw:
            async with lock.read():
                async with lock.read():
                    fiber.fork(sw, other)
                    eio.traceln("two reads held")
            async with lock.write():
                eio.traceln("write held")
            eio.traceln(repr(lock))

    run(main)
    assert trace.lines() == ["other fiber runs", "two reads held", "write held", "<RwLock unlocked>"]


def test_a_grant_wins_over_a_later_cancel(run: Runner, trace: Trace) -> None:
    """A waiter granted the lock and then cancelled before it runs holds the lock: its wait completed."""

    async def main() -> None:
        lock = eio.RwLock()
        g1, r1 = eio.Promise[None].create()
        never, _ = eio.Promise[None].create()
        async with eio.Switch.run() as sw:
            fiber.fork(sw, writer, lock, "w1", g1)
            contexts: list[eio.cancel.CancelContext] = []

            async def second() -> None:
                with eio.cancel.sub() as cc:
                    contexts.append(cc)
                    try:
                        await writer(lock, "w2", never)
                    except eio.Cancelled:
                        eio.traceln(f"w2 cancelled; {lock!r}")

            fiber.fork(sw, second)
            r1.resolve(None)
            await fiber.yield_()  # w1 ends and grants w2, which has not run yet
            contexts[0].cancel(TimeoutError("late"))

    run(main)
    assert trace.lines() == [
        "w1 wants to write",
        "w1 writing",
        "w2 wants to write",
        "w1 done",
        "w2 writing",
        "w2 cancelled; <RwLock unlocked>",
    ]


def test_a_cancelled_reader_leaves_the_queue(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        lock = eio.RwLock()
        g1, r1 = eio.Promise[None].create()
        g2, r2 = eio.Promise[None].create()
        async with eio.Switch.run() as sw:
            fiber.fork(sw, writer, lock, "w1", g1)
            contexts: list[eio.cancel.CancelContext] = []

            async def cancellable_reader() -> None:
                with eio.cancel.sub() as cc:
                    contexts.append(cc)
                    try:
                        await reader(lock, "r1", g2)
                    except eio.Cancelled:
                        eio.traceln("r1 cancelled")

            fiber.fork(sw, cancellable_reader)
            fiber.fork(sw, writer, lock, "w2", g2)
            contexts[0].cancel(TimeoutError("give up"))
            eio.traceln(repr(lock))
            r1.resolve(None)
            await fiber.yield_()
            r2.resolve(None)

    run(main)
    assert trace.lines() == [
        "w1 wants to write",
        "w1 writing",
        "r1 wants to read",
        "w2 wants to write",
        "<RwLock write-locked, 1 waiting>",
        "r1 cancelled",
        "w1 done",
        "w2 writing",
        "w2 done",
    ]


def test_cancelled_waiters_have_no_effect(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        lock = eio.RwLock()
        g_hold, r_hold = eio.Promise[None].create()
        never, _ = eio.Promise[None].create()
        async with eio.Switch.run() as sw:
            fiber.fork(sw, reader, lock, "r1", g_hold)
            contexts: dict[str, eio.cancel.CancelContext] = {}

            async def cancellable(name: str, write: bool) -> None:
                with eio.cancel.sub() as cc:
                    contexts[name] = cc
                    try:
                        await (writer if write else reader)(lock, name, never)
                    except eio.Cancelled:
                        eio.traceln(f"{name} cancelled")

            fiber.fork(sw, cancellable, "w", True)
            fiber.fork(sw, reader, lock, "r2", g_hold)
            eio.traceln(repr(lock))
            contexts["w"].cancel(TimeoutError("give up"))  # r2 was behind it only
            eio.traceln(repr(lock))
            await fiber.yield_()
            r_hold.resolve(None)

    run(main)
    assert trace.lines() == [
        "r1 wants to read",
        "r1 reading",
        "w wants to write",
        "r2 wants to read",
        "<RwLock read-locked by 1, 2 waiting>",
        "<RwLock read-locked by 2>",
        "w cancelled",
        "r2 reading",
        "r1 done",
        "r2 done",
    ]


def test_errors_in_the_block_release_the_lock(run: Runner) -> None:
    async def main() -> str:
        lock = eio.RwLock()
        with pytest.raises(ValueError):
            async with lock.write():
                raise ValueError("boom")
        with pytest.raises(ValueError):
            async with lock.read():
                raise ValueError("boom")
        return repr(lock)

    assert run(main) == "<RwLock unlocked>"


def test_across_domains_writers_exclude_everyone(run: Runner, backend_name: str) -> None:
    """Real threads: 4 domains mix reads and writes; a writer never overlaps anyone, readers do overlap."""
    dm = domains(backend_name)
    state = {"readers": 0, "writers": 0, "max_readers": 0, "bad": 0, "counter": 0}
    guard = threading.Lock()

    async def worker(seed: int) -> None:
        lock = shared
        for i in range(300):
            if (i + seed) % 5 == 0:
                async with lock.write():
                    with guard:
                        state["writers"] += 1
                        if state["writers"] != 1 or state["readers"]:
                            state["bad"] += 1
                    value = state["counter"]
                    await fiber.yield_()
                    state["counter"] = value + 1  # lost if two writers overlapped
                    with guard:
                        state["writers"] -= 1
            else:
                async with lock.read():
                    with guard:
                        state["readers"] += 1
                        state["max_readers"] = max(state["max_readers"], state["readers"])
                        if state["writers"]:
                            state["bad"] += 1
                    await fiber.yield_()
                    with guard:
                        state["readers"] -= 1

    shared = eio.RwLock()

    async def main() -> None:
        await fiber.all([lambda s=s: dm.run(lambda: worker(s)) for s in range(4)])

    run(main)
    assert state["bad"] == 0
    assert state["counter"] == 4 * 60
    assert repr(shared) == "<RwLock unlocked>"
