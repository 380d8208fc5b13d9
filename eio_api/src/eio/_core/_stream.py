"""Streams: bounded FIFO queues between fibers (Eio's ``Stream``, with ``Sync``'s close).

A stream of capacity 0 is a rendezvous: an ``add`` completes only when a
taker takes the item. Streams are thread-safe: fibers on other domains (or
plain threads running a loop) may add and take; every change of state is
made under one `threading.Lock`, and a waiter on another loop is woken
through that loop's inbox.

A waiting reader is queued as its fiber; a waiting writer as ``(fiber, item)``.
Whoever removes an entry from its queue (under the lock) owns the wake-up: a
taker or adder that pops it, or the waiter's cancel function that removes it.
So a cancelled writer's item is never added, and nothing is delivered twice.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar, cast

from ._cancel import ON, CancelFn, Cancelled
from ._fiber import Fiber
from ._loop import current_fiber
from ._traps import wait

T = TypeVar("T")

_get_ident = threading.get_ident

_CLOSED_MESSAGE = "Stream closed"


class StreamClosed(RuntimeError):
    """The stream was closed: raised by ``add``, and by ``take`` once no items are left."""

    def __init__(self, message: str = _CLOSED_MESSAGE) -> None:
        super().__init__(message)


class Stream(Generic[T]):
    """A bounded queue of items of type ``T``: ``s = eio.Stream[int](capacity)``.

    Taking from an empty stream waits until an item is added; adding to a
    full stream waits until there is space. Capacity 0 makes every ``add``
    wait for a taker (a rendezvous); capacity 1 is a mailbox. Waiting readers
    and writers are served in the order they arrived.

    Taking from a non-empty stream, or adding to one with space (or with a
    waiting reader), never suspends the fiber and so never checks for
    cancellation. `close` stops further adds; waiting and later takes raise
    `Stream.Closed` once the remaining items have been taken.
    """

    __slots__ = ("_lock", "_capacity", "_items", "_readers", "_writers", "_closed")

    Closed = StreamClosed

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"a stream's capacity can't be negative (got {capacity})")
        self._lock = threading.Lock()
        self._capacity = capacity
        self._items: deque[T] = deque()
        # Readers wait only while there are no items; writers only while the
        # stream is full (always, at capacity 0).
        self._readers: deque[Fiber] = deque()
        self._writers: deque[tuple[Fiber, T]] = deque()
        self._closed = False

    def __repr__(self) -> str:
        closed = ", closed" if self._closed else ""
        return f"<Stream {len(self._items)}/{self._capacity} items{closed}>"

    def __len__(self) -> int:
        """The number of items in the stream now (always 0 at capacity 0)."""
        return len(self._items)

    def is_empty(self) -> bool:
        """Whether the stream holds no items now."""
        return not self._items

    def is_closed(self) -> bool:
        """Whether `close` has been called."""
        return self._closed

    async def add(self, item: T) -> None:
        """Add ``item`` at the end of the stream, waiting for space (or, at capacity 0, for a taker).

        Raises `Stream.Closed` if the stream is (or becomes, while waiting)
        closed; the item is then not added. If the fiber is cancelled while
        waiting, the item is not added either.
        """
        lock = self._lock
        lock.acquire()
        try:
            if self._closed:
                raise StreamClosed()
            readers = self._readers
            if readers:
                reader = readers.popleft()
            else:
                items = self._items
                if len(items) < self._capacity:
                    items.append(item)
                    return
                reader = None
                fiber = current_fiber()
                cc = fiber.cc
                if cc.state != ON:
                    error = cc.get_error()
                    assert error is not None
                    fiber.wake_error(error)
                else:
                    entry = (fiber, item)
                    self._writers.append(entry)
                    fiber.cancel_fn = self._cancel_writer(entry)
        finally:
            lock.release()
        if reader is not None:
            # Fiber.wake_threadsafe, inlined for the common same-loop case.
            loop = reader.loop
            if loop.thread_id == _get_ident():
                reader.cancel_fn = None
                reader.value = item
                loop.run_queue.append(reader)
            else:
                reader.wake_threadsafe(item)
            return
        await wait()

    async def take(self) -> T:
        """Remove and return the first item, waiting until there is one.

        On a full stream, the first waiting writer's item joins the queue
        before that writer is woken. Raises `Stream.Closed` once the stream is
        closed and empty.
        """
        # A hand-written acquire/release: about half the cost of `with` here.
        lock = self._lock
        lock.acquire()
        try:
            items = self._items
            writers = self._writers
            if items:
                value = items.popleft()
                if not writers:
                    return value
                writer, moved = writers.popleft()
                items.append(moved)
            elif writers:
                writer, value = writers.popleft()
            else:
                if self._closed:
                    raise StreamClosed()
                fiber = current_fiber()
                cc = fiber.cc
                if cc.state != ON:
                    error = cc.get_error()
                    assert error is not None
                    fiber.wake_error(error)
                else:
                    self._readers.append(fiber)
                    fiber.cancel_fn = self._cancel_reader(fiber)
                writer = None
                value = None
        finally:
            lock.release()
        if writer is None:
            return cast(T, await wait())
        loop = writer.loop
        if loop.thread_id == _get_ident():
            writer.cancel_fn = None
            loop.run_queue.append(writer)
        else:
            writer.wake_threadsafe(None)
        return cast(T, value)

    def take_nonblocking(self) -> T | None:
        """The first item if one is available now (or a writer is waiting at capacity 0), else None.

        Never waits and never raises for a closed stream. None is ambiguous
        when None itself can be an item: use ``is_empty()`` first, or a
        stream of non-None values. With other threads adding, None may be out
        of date by the time it is returned.
        """
        writer: Fiber
        with self._lock:
            items = self._items
            if items:
                value = items.popleft()
                if not self._writers:
                    return value
                writer, moved = self._writers.popleft()
                items.append(moved)
            elif self._writers:
                writer, value = self._writers.popleft()
            else:
                return None
        writer.wake_threadsafe(None)
        return value

    def close(self) -> None:
        """Stop the stream from accepting items.

        Waiting writers raise `Stream.Closed` (their items are not added), as
        does every later ``add``. Items already in the stream can still be
        taken; after that, waiting and later ``take`` calls raise
        `Stream.Closed`. Closing a closed stream does nothing. Safe from any thread.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            readers = list(self._readers)
            self._readers.clear()
            writers = [fiber for fiber, _ in self._writers]
            self._writers.clear()
        for fiber in writers:
            fiber.wake_error_threadsafe(StreamClosed())
        for fiber in readers:
            fiber.wake_error_threadsafe(StreamClosed())

    # Cancel functions run on the waiter's own loop thread. Removing the entry
    # under the lock decides the race with a waker on another thread: if it
    # is gone, the waker has it and its wake-up is on the way.

    def _cancel_reader(self, fiber: Fiber) -> CancelFn:
        lock = self._lock
        readers = self._readers

        def cancel(error: Cancelled) -> None:
            with lock:
                try:
                    readers.remove(fiber)
                except ValueError:
                    return
            fiber.wake_error(error)

        return cancel

    def _cancel_writer(self, entry: tuple[Fiber, T]) -> CancelFn:
        lock = self._lock
        writers = self._writers

        def cancel(error: Cancelled) -> None:
            # Tuples compare their fibers first (by identity), so no user
            # __eq__ runs here: a fiber waits on at most one entry at a time.
            with lock:
                try:
                    writers.remove(entry)
                except ValueError:
                    return
            entry[0].wake_error(error)

        return cancel

