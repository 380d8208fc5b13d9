"""Queueing a fiber to be woken by a sync primitive, with the one cancel function they all need.

Mutex, Semaphore, RwLock and Stream keep their waiters in a deque guarded by
a lock, and may be woken from any thread. Cancelling a waiter and waking it
race; removing the entry under the lock decides the race: if the entry is
gone, a waker took it and its wake-up is on the way, so the operation
completed and the fiber goes on as if it had never been cancelled (the
cancellation is seen at its next wait). This is what makes their
cancellation atomic.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TypeVar

from ._cancel import ON, Cancelled
from ._fiber import Fiber

E = TypeVar("E")

_NOBODY: Sequence[Fiber] = ()


def enqueue_waiter(
    fiber: Fiber,
    queue: deque[E],
    entry: E,
    lock: threading.Lock | threading.RLock,
    regrant: Callable[[], Sequence[Fiber]] | None = None,
) -> None:
    """Queue ``fiber`` as ``entry`` (the caller holds ``lock``), or fail it at once if it is cancelled.

    The fiber then waits with `wait()` (after the caller released the lock);
    a waker removes the entry and wakes it. If it is cancelled first, its
    entry is removed and it gets the `Cancelled` error; ``regrant``, called
    under the lock after such a removal, returns fibers the departure lets
    through (a writer leaving a RwLock may unblock readers), woken with None.
    """
    cc = fiber.cc
    if cc.state != ON:
        error = cc.get_error()
        assert error is not None
        fiber.wake_error(error)
        return
    queue.append(entry)

    def cancel(error: Cancelled) -> None:
        # Runs on the waiter's own loop thread.
        with lock:
            try:
                queue.remove(entry)
            except ValueError:
                return  # a waker has it: its wake-up is on the way
            woken = regrant() if regrant is not None else _NOBODY
        fiber.wake_error(error)
        for other in woken:
            other.wake_threadsafe(None)

    fiber.cancel_fn = cancel
