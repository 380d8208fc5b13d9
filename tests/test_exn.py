"""Conformance: how the errors of concurrent fibers are combined (the core of Eio's tests/exn.md).

Eio's ``Exn.combine``, in Python: one error is raised as itself; several
are one ``ExceptionGroup("Multiple exceptions", ...)`` (a
``BaseExceptionGroup`` if one of them is not an `Exception`), in the order
they happened; the same exception object is reported once; a `Cancelled` is
dropped when there is a real error (it is only a consequence of it). A group
raised by a nested switch stays one error of the outer group (a tree, as
Eio's ``Multiple_io`` keeps its context).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import eio
import pytest
from conftest import Runner, Trace
from eio.lowlevel import Fiber, suspend


class Failure(Exception):
    """Eio's ``Failure``."""


class Fatal(BaseException):
    """An error that is not an `Exception`."""


def raises(run: Runner, fn: Callable[[], Awaitable[Any]]) -> BaseException:
    with pytest.raises(BaseException) as info:
        run(fn)
    return info.value


def after_yield(ex: BaseException, protected: bool = True) -> Callable[[], Awaitable[None]]:
    """A fiber that yields (protected: even when cancelled) and then raises ``ex``."""

    async def f() -> None:
        if protected:
            with eio.cancel.protect():
                await eio.fiber.yield_()
        else:
            await eio.fiber.yield_()
        raise ex

    return f


def at_once(ex: BaseException) -> Callable[[], Awaitable[None]]:
    async def f() -> None:
        raise ex

    return f


def test_combining_regular_exceptions(run: Runner) -> None:
    a, b = Failure("a"), Failure("b")

    async def main() -> None:
        await eio.fiber.both(after_yield(a), after_yield(b))

    ex = raises(run, main)
    assert type(ex) is ExceptionGroup
    assert ex.message == "Multiple exceptions"
    assert list(ex.exceptions) == [a, b]


def test_errors_are_kept_in_the_order_they_happened(run: Runner) -> None:
    first, second, third = Failure("first"), Failure("second"), Failure("third")

    async def late() -> None:
        with eio.cancel.protect():
            await eio.fiber.yield_()
            await eio.fiber.yield_()
        raise third

    async def main() -> None:
        # Forked first, fails last.
        await eio.fiber.all([late, after_yield(second), at_once(first)])

    ex = raises(run, main)
    assert type(ex) is ExceptionGroup
    assert list(ex.exceptions) == [first, second, third]


def test_one_error_is_raised_as_itself(run: Runner) -> None:
    a = Failure("a")

    async def main() -> None:
        await eio.fiber.both(after_yield(a), after_yield(eio.Cancelled(Failure("x")), protected=False))

    assert raises(run, main) is a


def test_cancelled_is_dropped_when_there_is_a_real_error(run: Runner) -> None:
    real = Failure("real")

    async def main() -> None:
        # The Cancelled happens first, the real error second: only the real one is reported.
        await eio.fiber.both(after_yield(eio.Cancelled(Failure("x"))), after_yield(real))

    assert raises(run, main) is real


def test_cancelled_after_a_real_error_is_dropped(run: Runner) -> None:
    real = Failure("real")

    async def main() -> None:
        await eio.fiber.both(at_once(real), after_yield(eio.Cancelled(Failure("x"))))

    assert raises(run, main) is real


def test_only_cancelled_is_reported_as_cancelled(run: Runner) -> None:
    cancelled = eio.Cancelled(Failure("why"))

    async def main() -> None:
        async with eio.Switch.run() as sw:
            sw.fail(cancelled)

    ex = raises(run, main)
    assert ex is cancelled
    assert isinstance(ex, eio.Cancelled)
    assert str(ex) == "Cancelled: Failure('why')"
    assert type(ex.reason) is Failure


def test_the_same_exception_is_reported_once(run: Runner) -> None:
    a = Failure("a")

    async def main() -> None:
        async with eio.Switch.run() as sw:
            sw.fail(a)
            sw.fail(a)
            raise a

    assert raises(run, main) is a


def test_a_base_exception_makes_a_base_exception_group(run: Runner) -> None:
    a, fatal = Failure("a"), Fatal("fatal")

    async def main() -> None:
        await eio.fiber.both(after_yield(a), after_yield(fatal))

    ex = raises(run, main)
    assert type(ex) is BaseExceptionGroup
    assert ex.message == "Multiple exceptions"
    assert list(ex.exceptions) == [a, fatal]


def test_a_nested_group_stays_one_error(run: Runner) -> None:
    a, b, c = Failure("a"), Failure("b"), Failure("c")

    async def inner() -> None:
        await eio.fiber.both(after_yield(a), after_yield(b))

    async def main() -> None:
        async with eio.Switch.run() as sw:

            async def late_c() -> None:
                with eio.cancel.protect():
                    for _ in range(3):
                        await eio.fiber.yield_()
                raise c

            eio.fiber.fork(sw, late_c)
            await inner()

    ex = raises(run, main)
    assert type(ex) is ExceptionGroup
    assert len(ex.exceptions) == 2
    nested, last = ex.exceptions
    assert type(nested) is ExceptionGroup
    assert list(nested.exceptions) == [a, b]
    assert last is c


def test_errors_of_cancel_functions_are_reported_too(run: Runner, trace: Trace) -> None:
    real = Failure("real")
    broken = Failure("cancel function failed")

    async def waiter() -> None:
        def register(fiber: Fiber) -> None:
            def cancel(error: eio.Cancelled) -> None:
                fiber.wake_error(error)
                raise broken

            fiber.cancel_fn = cancel

        try:
            await suspend(register)
        except eio.Cancelled as ex:
            eio.traceln(f"waiter got {ex}")
            raise

    async def main() -> None:
        async with eio.Switch.run() as sw:
            eio.fiber.fork(sw, waiter)
            sw.fail(real)

    ex = raises(run, main)
    assert type(ex) is ExceptionGroup
    assert list(ex.exceptions) == [real, broken]
    assert trace.lines() == ["waiter got Cancelled: Failure('real')"]


def test_cancelled_is_not_an_exception() -> None:
    assert issubclass(eio.Cancelled, BaseException)
    assert not issubclass(eio.Cancelled, Exception)


def test_a_fiber_sees_cancelled_with_the_reason(run: Runner, trace: Trace) -> None:
    reason = Failure("boom")

    async def waiter() -> None:
        try:
            await eio.fiber.await_cancel()
        except eio.Cancelled as ex:
            eio.traceln(f"reason is the error: {ex.reason is reason}")
            raise

    async def main() -> None:
        await eio.fiber.both(waiter, at_once(reason))

    assert raises(run, main) is reason
    assert trace.lines() == ["reason is the error: True"]


def test_a_failing_cancel_function_of_a_daemon_is_reported(run: Runner, trace: Trace) -> None:
    broken = Failure("daemon's cancel function failed")

    async def daemon() -> None:
        def register(fiber: Fiber) -> None:
            def cancel(error: eio.Cancelled) -> None:
                fiber.wake_error(error)
                raise broken

            fiber.cancel_fn = cancel

        try:
            await suspend(register)
        except eio.Cancelled:
            eio.traceln("daemon cancelled")
            raise

    async def main() -> None:
        async with eio.Switch.run() as sw:
            eio.fiber.fork_daemon(sw, daemon)
            await eio.fiber.yield_()
            eio.traceln("main done")

    assert raises(run, main) is broken
    assert trace.lines() == ["main done", "daemon cancelled"]


def test_an_io_error_and_a_regular_exception_make_a_regular_group(run: Runner) -> None:
    # Eio's second case: the combination is a plain "Multiple exceptions", not an
    # IO error; the IO error inside keeps its context, and ``except* eio.Io``
    # still finds it (and only it).
    a = Failure("a")
    not_found = eio.fs.NotFound("Simulated_failure")
    not_found.add_note("opening file 'foo'")

    async def main() -> None:
        await eio.fiber.both(after_yield(a), after_yield(not_found))

    ex = raises(run, main)
    assert type(ex) is ExceptionGroup
    assert ex.message == "Multiple exceptions"
    assert list(ex.exceptions) == [a, not_found]
    assert not isinstance(ex, eio.Io)
    assert not_found.__notes__ == ["opening file 'foo'"]
    io, rest = ex.split(eio.Io)
    assert io is not None and list(io.exceptions) == [not_found]
    assert rest is not None and list(rest.exceptions) == [a]
