"""Conformance: `eio.Mutex` (Eio's tests/mutex.md), plus misuse.

Each test reproduces one case of Eio's file with the same trace, in the same
order. Eio's ``Failure "x"`` is the local `Failure`; its ``Sys_error`` for a
double unlock is a `RuntimeError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import eio
import pytest
from conftest import Runner, Trace


class Failure(Exception):
    """Eio's ``Failure``."""


async def lock(t: eio.Mutex) -> None:
    eio.traceln("Locking")
    await t.lock()
    eio.traceln("Locked")


def unlock(t: eio.Mutex) -> None:
    eio.traceln("Unlocking")
    t.unlock()
    eio.traceln("Unlocked")


def raises(run: Runner, main: Callable[[], Awaitable[object]]) -> BaseException:
    """Run ``main``, which must fail; return what it raised."""
    with pytest.raises(BaseException) as info:
        run(main)
    return info.value


def assert_poisoned_by(ex: BaseException, cls: type[BaseException], message: str) -> BaseException:
    assert type(ex) is eio.Mutex.Poisoned
    assert isinstance(ex, eio.Mutex.Poisoned)
    assert type(ex.error) is cls
    assert str(ex.error) == message
    assert ex.__cause__ is ex.error
    return ex.error


def test_simple_case(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()
        await lock(t)
        unlock(t)
        await lock(t)
        unlock(t)

    run(main)
    assert trace.lines() == ["Locking", "Locked", "Unlocking", "Unlocked"] * 2


def test_concurrent_access(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()

        async def fn() -> None:
            await lock(t)
            await eio.fiber.yield_()
            unlock(t)

        await eio.fiber.all([fn] * 4)

    run(main)
    assert trace.lines() == [
        "Locking",
        "Locked",
        "Locking",
        "Locking",
        "Locking",
        "Unlocking",
        "Unlocked",
        "Locked",
        "Unlocking",
        "Unlocked",
        "Locked",
        "Unlocking",
        "Unlocked",
        "Locked",
        "Unlocking",
        "Unlocked",
    ]


def test_double_unlock_raises_and_poisons(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()
        await t.lock()
        t.unlock()
        try:
            t.unlock()
        except RuntimeError as ex:
            eio.traceln(f"Caught: {ex}")
        eio.traceln("Trying to use lock after error...")
        await t.lock()

    ex = raises(run, main)
    assert trace.lines() == ["Caught: eio.Mutex.unlock: already unlocked!", "Trying to use lock after error..."]
    assert_poisoned_by(ex, RuntimeError, "eio.Mutex.unlock: already unlocked!")


# -- read-write access --


def test_use_rw_only_one_critical_section_at_once(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()

        async def fn() -> None:
            async with t.use_rw(protect=True):
                eio.traceln("Entered critical section")
                await eio.fiber.yield_()
                eio.traceln("Leaving critical section")

        await eio.fiber.both(fn, fn)

    run(main)
    assert trace.lines() == [
        "Entered critical section",
        "Leaving critical section",
        "Entered critical section",
        "Leaving critical section",
    ]


def test_failed_critical_section_poisons(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()
        try:
            async with t.use_rw(protect=True):
                raise Failure("Simulated error")
        except Failure:
            eio.traceln("Trying to use the failed lock again fails:")
            await t.lock()

    ex = raises(run, main)
    assert trace.lines() == ["Trying to use the failed lock again fails:"]
    assert_poisoned_by(ex, Failure, "Simulated error")


# -- protection --


def test_protect_prevents_cancellation_during_critical_section(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()

        async def critical() -> None:
            async with t.use_rw(protect=True):
                await eio.fiber.yield_()
                eio.traceln("Restored invariant")
            eio.fiber.check()
            eio.traceln("Error: not cancelled!")

        async def fail() -> None:
            eio.traceln("Cancelling...")
            raise Failure("Simulated error")

        await eio.fiber.both(critical, fail)

    ex = raises(run, main)
    assert trace.lines() == ["Cancelling...", "Restored invariant"]
    assert type(ex) is Failure and str(ex) == "Simulated error"


def test_unprotected_interruption_poisons(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()

        async def critical() -> None:
            async with t.use_rw(protect=False):
                await eio.fiber.yield_()
                eio.traceln("Restored invariant")

        async def fail() -> None:
            eio.traceln("Cancelling...")
            raise Failure("Simulated error")

        try:
            await eio.fiber.both(critical, fail)
        except Exception:
            eio.traceln("Trying to reuse the failed mutex...")
            async with t.use_ro():
                raise AssertionError("not reached")

    ex = raises(run, main)
    assert trace.lines() == ["Cancelling...", "Trying to reuse the failed mutex..."]
    assert type(ex) is eio.Mutex.Poisoned
    cancelled = ex.error
    assert type(cancelled) is eio.Cancelled
    assert type(cancelled.reason) is Failure and str(cancelled.reason) == "Simulated error"


def test_protection_does_not_cover_waiting_for_the_lock(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()
        await t.lock()

        async def locker() -> None:
            async with t.use_rw(protect=True):
                raise AssertionError("not reached")

        async def fail() -> None:
            eio.traceln("Cancelling...")
            raise Failure("Simulated error")

        try:
            await eio.fiber.both(locker, fail)
        except Failure:
            t.unlock()
            async with t.use_ro():
                eio.traceln("Can reuse the mutex")

    run(main)
    assert trace.lines() == ["Cancelling...", "Can reuse the mutex"]


def test_poisoning_wakes_waiters(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()

        async def poisoner() -> None:
            try:
                async with t.use_rw(protect=False):
                    await eio.fiber.yield_()
                    eio.traceln("Poisoning mutex")
                    raise Failure("Simulated error")
            except Failure:
                pass

        async def waiter() -> None:
            eio.traceln("Waiting for lock...")
            async with t.use_ro():
                raise AssertionError("not reached")

        await eio.fiber.both(poisoner, waiter)

    ex = raises(run, main)
    assert trace.lines() == ["Waiting for lock...", "Poisoning mutex"]
    assert_poisoned_by(ex, Failure, "Simulated error")


# -- read-only access --


def test_use_ro_error_just_unlocks(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()
        try:
            async with t.use_ro():
                raise Failure("Simulated error")
        except Failure as ex:
            eio.traceln(f"Caught: {ex}")
            eio.traceln("Trying to use the lock again is OK:")
            await t.lock()

    run(main)
    assert trace.lines() == ["Caught: Simulated error", "Trying to use the lock again is OK:"]


# -- try_lock --


def test_try_lock(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()

        async def fn() -> None:
            if t.try_lock():
                eio.traceln("Entered critical section")
                await eio.fiber.yield_()
                eio.traceln("Leaving critical section")
                t.unlock()
            else:
                eio.traceln("Failed to get lock")

        await eio.fiber.both(fn, fn)
        async with t.use_ro():
            eio.traceln("Lock still works")

    run(main)
    assert trace.lines() == [
        "Entered critical section",
        "Failed to get lock",
        "Leaving critical section",
        "Lock still works",
    ]


# -- beyond Eio's file --


def test_unlock_hands_lock_to_first_waiter(run: Runner, trace: Trace) -> None:
    """The lock goes straight to the first waiter: a later try_lock fails, FIFO order is kept."""

    async def main() -> None:
        t = eio.Mutex()
        await t.lock()
        async with eio.Switch.run() as sw:

            async def waiter(name: str) -> None:
                await t.lock()
                eio.traceln(f"{name} got the lock")
                t.unlock()

            eio.fiber.fork(sw, waiter, "a")
            eio.fiber.fork(sw, waiter, "b")
            t.unlock()
            eio.traceln(f"try_lock after unlock: {t.try_lock()}")

    run(main)
    assert trace.lines() == ["try_lock after unlock: False", "a got the lock", "b got the lock"]


def test_cancelled_waiter_leaves_the_queue(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()
        await t.lock()
        async with eio.Switch.run() as sw:

            async def waiter(name: str) -> None:
                try:
                    await t.lock()
                except eio.Cancelled:
                    eio.traceln(f"{name} cancelled")
                    return
                eio.traceln(f"{name} got the lock")
                t.unlock()

            contexts: list[eio.cancel.CancelContext] = []

            async def cancellable(name: str) -> None:
                with eio.cancel.sub() as cc:
                    contexts.append(cc)
                    await waiter(name)

            eio.fiber.fork(sw, cancellable, "a")
            eio.fiber.fork(sw, waiter, "b")
            contexts[0].cancel(Failure("stop"))
            t.unlock()
            eio.traceln(f"locked after unlock: {not t.try_lock()}")

    run(main)
    assert trace.lines() == ["locked after unlock: True", "a cancelled", "b got the lock"]


def test_lock_free_mutex_does_not_switch_or_check_cancellation(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = eio.Mutex()
        with eio.cancel.sub() as cc:
            cc.cancel(Failure("stop"))
            await t.lock()  # free: no suspension, so no cancellation check
            eio.traceln(repr(t))
            t.unlock()
            await t.lock()
            with pytest.raises(eio.Cancelled):
                await t.lock()  # held: waiting checks cancellation first
            eio.traceln(repr(t))
            t.unlock()
        eio.traceln(repr(t))

    run(main)
    assert trace.lines() == ["<Mutex locked>", "<Mutex locked>", "<Mutex unlocked>"]


def test_poisoned_mutex_refuses_everything(run: Runner) -> None:
    async def main() -> None:
        t = eio.Mutex()
        with pytest.raises(Failure):
            async with t.use_rw():
                raise Failure("bad")
        assert repr(t) == "<Mutex poisoned>"
        for op in (t.try_lock, t.unlock):
            with pytest.raises(eio.Mutex.Poisoned) as info:
                op()
            assert_poisoned_by(info.value, Failure, "bad")
        assert repr(info.value) == "MutexPoisoned(Failure('bad'))"

    run(main)


def test_exported_names() -> None:
    assert eio.Mutex.Poisoned is eio.MutexPoisoned
    assert issubclass(eio.MutexPoisoned, RuntimeError)
