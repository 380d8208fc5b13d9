"""`eio.Pool`, after Eio's tests/pool.md."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence

import eio
import pytest
from conftest import Runner, Trace

import eio_mock


def dispose(x: int) -> None:
    eio.traceln(f"disposing {x}")


def make_pool(
    n: int,
    items: Sequence[eio.Promise[int]],
    validate: Callable[[int], bool] | None = None,
    dispose: Callable[[int], object] | None = None,
) -> eio.Pool[int]:
    """A pool whose i-th allocation traces and then waits for ``items[i]``."""
    i = 0

    async def alloc() -> int:
        nonlocal i
        eio.traceln(f"Creating item {i}")
        p = items[i]
        i += 1
        return await p

    return eio.Pool(n, alloc, validate=validate, dispose=dispose)


def user(pool: eio.Pool[int], name: str, done: bool = True, never_block: bool = False) -> Callable[[], Awaitable[None]]:
    """Use a resource, yield once while holding it, then trace ``done`` (if asked)."""

    async def fn() -> None:
        async with pool.use(never_block=never_block) as x:
            eio.traceln(f"{name}: using item {x}")
            await eio.fiber.yield_()
            if done:
                eio.traceln(f"{name} done")

    return fn


def test_simple_reuse(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = make_pool(1, [eio.Promise[int].create_resolved(0)])
        for _ in range(2):
            async with t.use() as x:
                eio.traceln(f"Using item {x}")

    run(main)
    assert trace.lines() == ["Creating item 0", "Using item 0", "Using item 0"]


def test_capacity_one_second_user_waits(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        p, r = eio.Promise[int].create()
        t = make_pool(1, [p])

        async def resolve() -> None:
            r.resolve(0)

        await eio.fiber.all([user(t, "A"), user(t, "B"), resolve])

    run(main)
    assert trace.lines() == ["Creating item 0", "A: using item 0", "A done", "B: using item 0", "B done"]


def test_capacity_two_users_run_in_parallel(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        p0, r0 = eio.Promise[int].create()
        p1, r1 = eio.Promise[int].create()
        t = make_pool(2, [p0, p1])

        async def resolve() -> None:
            r0.resolve(0)
            r1.resolve(1)

        await eio.fiber.all([user(t, "A"), user(t, "B"), resolve])

    run(main)
    assert trace.lines() == [
        "Creating item 0",
        "A: using item 0",
        "Creating item 1",
        "B: using item 1",
        "A done",
        "B done",
    ]


def test_never_block_uses_a_fresh_resource_at_capacity(run: Runner, trace: Trace) -> None:
    # Creating a slot always suspends the user, even when it gets the new slot
    # itself: that is why A ends up with item 1.
    async def main() -> None:
        p0, r0 = eio.Promise[int].create()
        p1, r1 = eio.Promise[int].create()
        t = make_pool(1, [p0, p1], dispose=dispose)

        async def resolve() -> None:
            r0.resolve(0)
            r1.resolve(1)

        await eio.fiber.all(
            [
                user(t, "A", never_block=True),
                user(t, "B", never_block=True),
                user(t, "C"),
                user(t, "D"),
                resolve,
            ]
        )

    run(main)
    assert trace.lines() == [
        "Creating item 0",
        "Creating item 1",
        "A: using item 1",
        "B: using item 0",
        "A done",
        "B done",
        "disposing 0",
        "C: using item 1",
        "C done",
        "D: using item 1",
        "D done",
    ]


def test_cancelled_users_stop_waiting(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        p, _r = eio.Promise[int].create()
        t = make_pool(1, [p])

        async def never() -> None:
            async with t.use():
                raise AssertionError("never reached")

        async def fail() -> None:
            raise RuntimeError("Simulated error")

        # The first waits for the creation, the second for the item to come back.
        await eio.fiber.all([never, never, fail])

    with pytest.raises(RuntimeError, match="^Simulated error$"):
        run(main)
    assert trace.lines() == ["Creating item 0"]


def test_an_error_in_the_block_still_returns_the_resource(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = make_pool(1, [eio.Promise[int].create_resolved(0)])
        try:
            async with t.use() as x:
                eio.traceln(f"Using item {x}")
                raise RuntimeError("Simulated error")
        except RuntimeError as ex:
            eio.traceln(f"Failed: {ex}")
        async with t.use() as x:
            eio.traceln(f"Using item {x}")

    run(main)
    assert trace.lines() == ["Creating item 0", "Using item 0", "Failed: Simulated error", "Using item 0"]


def test_a_failed_creation_wakes_the_next_user(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        p, r = eio.Promise[int].create()
        t = make_pool(1, [p, eio.Promise[int].create_resolved(1)])
        async with eio.Switch.run() as sw:

            async def use_a() -> None:
                async with t.use() as i:
                    eio.traceln(f"A: using item {i}")

            a = eio.fiber.fork_promise(sw, use_a)

            async def use_b() -> None:
                async with t.use() as i:
                    eio.traceln(f"B: using item {i}")

            async def fail_creation() -> None:
                r.resolve_error(RuntimeError("Simulated creation failure"))

            await eio.fiber.both(use_b, fail_creation)
            await a

    with pytest.raises(RuntimeError, match="^Simulated creation failure$"):
        run(main)
    assert trace.lines() == ["Creating item 0", "Creating item 1", "B: using item 1"]


def test_validation_before_reuse(run: Runner, trace: Trace) -> None:
    def validate(x: int) -> bool:
        ok = x % 2 == 0
        eio.traceln(f"validate {x} => {str(ok).lower()}")
        return ok

    async def main() -> None:
        t = make_pool(2, [eio.Promise[int].create_resolved(i) for i in range(3)], validate=validate, dispose=dispose)
        await eio.fiber.all([user(t, name, done=False) for name in "ABCD"])

    run(main)
    assert trace.lines() == [
        "Creating item 0",
        "A: using item 0",
        "Creating item 1",
        "B: using item 1",
        "validate 0 => true",
        "C: using item 0",
        "validate 1 => false",
        "disposing 1",
        "Creating item 2",
        "D: using item 2",
    ]


def test_a_failing_dispose_is_reported_and_the_resource_recreated(run: Runner, trace: Trace) -> None:
    def validate(x: int) -> bool:
        ok = x % 2 == 1
        eio.traceln(f"validate {x} => {str(ok).lower()}")
        return ok

    def bad_dispose(x: int) -> None:
        raise RuntimeError(f"Simulated error disposing {x}")

    async def main() -> None:
        t = make_pool(1, [eio.Promise[int].create_resolved(i) for i in range(3)], validate=validate, dispose=bad_dispose)
        try:
            await eio.fiber.both(user(t, "A", done=False), user(t, "B", done=False))
        except RuntimeError as ex:
            eio.traceln(f"Failed: {ex}")
        await eio.fiber.both(user(t, "C", done=False), user(t, "D", done=False))

    run(main)
    assert trace.lines() == [
        "Creating item 0",
        "A: using item 0",
        "validate 0 => false",
        "Failed: Simulated error disposing 0",
        "Creating item 1",
        "C: using item 1",
        "validate 1 => true",
        "D: using item 1",
    ]


def test_async_validate_and_dispose(run: Runner, trace: Trace) -> None:
    async def validate(x: int) -> bool:
        await eio.fiber.yield_()
        return x > 0

    async def adispose(x: int) -> None:
        await eio.fiber.yield_()
        eio.traceln(f"disposed {x}")

    async def main() -> None:
        t = eio.Pool(1, make_alloc(), validate=validate, dispose=adispose)
        for _ in range(3):
            async with t.use() as x:
                eio.traceln(f"using {x}")

    def make_alloc() -> Callable[[], Awaitable[int]]:
        n = 0

        async def alloc() -> int:
            nonlocal n
            n += 1
            return n - 1

        return alloc

    run(main)
    assert trace.lines() == ["using 0", "disposed 0", "using 1", "using 1"]


def test_none_is_a_valid_resource(run: Runner) -> None:
    calls = 0

    async def alloc() -> None:
        nonlocal calls
        calls += 1

    async def main() -> None:
        t = eio.Pool(1, alloc)
        for _ in range(2):
            async with t.use() as x:
                assert x is None

    run(main)
    assert calls == 1


def test_misuse_is_reported(run: Runner) -> None:
    async def alloc() -> int:
        return 0

    with pytest.raises(ValueError, match=r"^Pool: the maximum number of resources must be positive \(got 0\)$"):
        eio.Pool(0, alloc)

    async def main() -> None:
        t = eio.Pool(1, alloc)
        scope = t.use()
        async with scope:
            pass
        with pytest.raises(RuntimeError, match=r"^a Pool.use\(\) scope can only be entered once$"):
            async with scope:
                pass

    run(main)


def test_a_pool_shared_by_thread_domains(run: Runner) -> None:
    in_use = 0
    max_in_use = 0
    uses = 0

    async def alloc() -> object:
        return object()

    async def main() -> int:
        pool = eio.Pool(2, alloc)
        dm = eio_mock.domain_manager.threads()

        async def domain() -> None:
            async def one_use() -> None:
                nonlocal in_use, max_in_use, uses
                async with pool.use():
                    with lock:
                        in_use += 1
                        max_in_use = max(max_in_use, in_use)
                        uses += 1
                    await eio.fiber.yield_()
                    with lock:
                        in_use -= 1

            await eio.fiber.all([one_use] * 50)

        await eio.fiber.all([lambda: eio.domain_manager.run(dm, domain)] * 3)
        return pool._slots  # pyright: ignore[reportPrivateUsage] - checking no more than n were made

    lock = threading.Lock()
    assert run(main) == 2
    assert uses == 150
    assert 1 <= max_in_use <= 2
