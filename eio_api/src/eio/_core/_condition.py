"""Condition variables (Eio's ``Eio.Condition``), safe to broadcast from anywhere.

``broadcast`` may run on another OS thread, or in a Python signal handler,
which runs on the main thread between two bytecodes, perhaps in the middle
of a condition operation of that same thread. So the broadcast path takes no
lock: it only uses operations that CPython performs atomically (``popleft``
on a deque, ``pop`` on a list), and every wake-up has exactly one owner.

Waiters are entries of a deque. Removing an entry decides who wakes its
fiber: ``broadcast`` removes entries with ``popleft``; a cancelled or
finished waiter removes its own with ``remove`` (which fails if a broadcast
got there first, and then that broadcast wakes it). An entry is the fiber
itself for a plain wait. `loop_no_mutex` registers before running ``update``,
so its entry is a `_LoopEntry`: the broadcast and the fiber, when it is
ready to sleep, each pop one token from it, and the second one to arrive
does the wake-up.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ._cancel import ON, CancelFn, Cancelled
from ._fiber import Fiber
from ._loop import current_fiber
from ._mutex import Mutex
from ._scopes import protect
from ._traps import coroutine_of, wait

T = TypeVar("T")

_get_ident = threading.get_ident

_FIRST = "first"


class _LoopEntry(list[object]):
    """A `loop_no_mutex` registration: ``[fiber, _FIRST]``; two parties each pop once."""

    __slots__ = ()


def _wake(fiber: Fiber) -> None:
    # From a fiber of the waiter's own loop, queue it directly (the woken
    # fiber goes to the run-queue tail, the broadcaster keeps running).
    # Otherwise (another thread, or a signal handler that interrupted the
    # loop while it was idle or between fibers) go through the inbox and
    # notify the loop, which may be blocked waiting.
    loop = fiber.loop
    if _get_ident() == loop.thread_id and loop.current is not None:
        fiber.wake(None)
    else:
        fiber.value = None
        loop.inbox.append(fiber)
        loop.notify()


class Condition:
    """A condition variable: fibers wait until another fiber (or thread) calls `broadcast`.

    Use it in a loop that re-checks the condition: holding a `Mutex` that
    protects the state (`await_`); or without a mutex, with `loop_no_mutex`
    (which registers before each check, so it misses no broadcast) or, within
    one domain only, `await_no_mutex`.
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: deque[object] = deque()

    def __repr__(self) -> str:
        return f"<Condition, {len(self._waiters)} waiting>"

    def broadcast(self) -> None:
        """Wake every fiber waiting now (each goes to the back of its run queue).

        Never blocks and takes no lock: safe from another OS thread and from a
        signal handler. If nobody is waiting, nothing happens.
        """
        waiters = self._waiters
        popleft = waiters.popleft
        # Only the entries present now: ones registered while we run were
        # registered after the broadcast started.
        for _ in range(len(waiters)):
            try:
                entry = popleft()
            except IndexError:
                return  # removed concurrently by their own cancellation
            if type(entry) is _LoopEntry:
                entry = entry.pop()
                if entry is _FIRST:
                    continue  # the fiber isn't asleep yet; it will see the broadcast
            assert isinstance(entry, Fiber)
            _wake(entry)

    def _remove(self, entry: object) -> bool:
        # Deque entries compare by identity (fibers, or lists whose first
        # element is a distinct fiber), so remove finds exactly this entry.
        try:
            self._waiters.remove(entry)
        except ValueError:
            return False  # a broadcast has it
        return True

    def _cancel_fn(self, fiber: Fiber, entry: object) -> CancelFn:
        def cancel(error: Cancelled) -> None:
            if self._remove(entry):
                fiber.wake_error(error)
            # else a broadcast removed it and its wake-up is on the way

        return cancel

    async def await_no_mutex(self) -> None:
        """Wait for the next `broadcast`.

        Safe only if the condition was tested in this domain without switching
        fibers since, so no broadcast can have been missed in between.
        """
        fiber = current_fiber()
        cc = fiber.cc
        if cc.state != ON:
            error = cc.get_error()
            assert error is not None
            fiber.wake_error(error)
        else:
            # cancel_fn first: a broadcast from a signal handler may wake us
            # (clearing it) as soon as we are queued.
            fiber.cancel_fn = self._cancel_fn(fiber, fiber)
            self._waiters.append(fiber)
        await wait()

    async def await_(self, mutex: Mutex) -> None:
        """Unlock ``mutex``, wait for the next `broadcast`, then lock ``mutex`` again.

        Hold ``mutex`` when calling this. The fiber is registered before the
        mutex is unlocked, so a change made under the mutex afterwards is
        never missed. The mutex is locked again (uncancellably) before this
        returns or raises, even when the wait is cancelled.
        """
        fiber = current_fiber()
        cc = fiber.cc
        if cc.state != ON:
            error = cc.get_error()
            assert error is not None
            mutex.unlock()
            fiber.wake_error(error)
        else:
            fiber.cancel_fn = self._cancel_fn(fiber, fiber)
            self._waiters.append(fiber)
            try:
                mutex.unlock()
            except BaseException:
                fiber.cancel_fn = None
                if not self._remove(fiber):
                    # A broadcast already queued us: wait for that wake-up
                    # rather than leave it to resume a fiber that moved on.
                    await wait()
                raise
        try:
            await wait()
        except GeneratorExit:
            raise  # the loop is abandoning this fiber: no more waiting
        except BaseException:
            with protect():
                await mutex.lock()
            raise
        with protect():
            await mutex.lock()

    async def loop_no_mutex(self, update: Callable[[], Awaitable[T | None]]) -> T:
        """Run ``await update()`` until it returns something other than None, and return that.

        After each None, wait for a `broadcast` before running ``update``
        again. The fiber registers before each ``update`` starts, so a
        broadcast made while ``update`` runs makes it run again at once
        (after a trip to the back of the run queue) instead of being lost.
        """
        fiber = current_fiber()
        waiters = self._waiters
        while True:
            entry = _LoopEntry((fiber, _FIRST))
            waiters.append(entry)
            try:
                result = await coroutine_of(update, (), "eio.Condition.loop_no_mutex")
            except BaseException:
                self._remove(entry)
                raise
            if result is not None:
                self._remove(entry)
                return result
            cc = fiber.cc
            if cc.state != ON:
                self._remove(entry)
                error = cc.get_error()
                assert error is not None
                fiber.wake_error(error)
            else:
                fiber.cancel_fn = self._cancel_fn(fiber, entry)
                if entry.pop() is not _FIRST:
                    fiber.wake(None)  # a broadcast came while update ran
                # else we arrived first: the broadcast that pops the fiber wakes us
            await wait()
