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

`Stream.select` queues one `_SelectEntry` per stream, all sharing one
`_Selector`. Popping such an entry is not enough to own the wake-up: the
popper must also *claim* the selector, which succeeds once only (across all
the streams and the selector's cancel function). An adder whose claim fails
drops the stale entry and serves the next reader, or keeps the item.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar, cast

from ._cancel import ON, Cancelled
from ._fiber import Fiber
from ._loop import current_fiber
from ._traps import wait
from ._waiters import enqueue_waiter

T = TypeVar("T")
R = TypeVar("R")

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
        self._readers: deque[Fiber | _SelectEntry] = deque()
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
            reader: Fiber | _SelectEntry | None = None
            while readers:
                first = readers.popleft()
                # A select waiting on several streams is served by one of them
                # only: one that another stream (or cancellation) claimed first
                # is dropped, and the item goes to the next reader instead.
                if isinstance(first, Fiber) or first.waiter.claim():
                    reader = first
                    break
            if reader is None:
                items = self._items
                if len(items) < self._capacity:
                    items.append(item)
                    return
                fiber = current_fiber()
                enqueue_waiter(fiber, self._writers, (fiber, item), lock)
        finally:
            lock.release()
        if reader is not None:
            if isinstance(reader, _SelectEntry):
                reader.waiter.fiber.wake_threadsafe((reader.index, item))
                return
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
                enqueue_waiter(fiber, self._readers, fiber, lock)
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

    @staticmethod
    async def select(cases: Iterable[tuple[Stream[Any], Callable[[Any], R]]]) -> R:
        """Take one item from whichever of the streams has one first, and return ``fn(item)`` for its ``fn``.

        ``cases`` is a list of ``(stream, fn)`` pairs. If a stream has an item
        now (or, at capacity 0, a waiting writer), the first such stream in
        list order gives it, without suspending. Otherwise the fiber waits on
        all of them, and the first item added to any of them is the one taken:
        the other streams lose nothing. Raises `Stream.Closed` if a stream it
        would take from is closed and empty. If the fiber is cancelled while
        waiting, no item was taken. (``Any``: each pair has its own item type,
        which the type system can't tie to its function across a list.)
        """
        pairs = _check_cases(cases)
        selector: _Selector | None = None
        registered: list[tuple[Stream[Any], _SelectEntry]] = []
        writer: Fiber | None = None
        for index, (stream, fn) in enumerate(pairs):
            lock = stream._lock
            lock.acquire()
            try:
                items = stream._items
                writers = stream._writers
                if not items and not writers and not stream._closed:
                    if selector is None:
                        selector = _Selector(current_fiber())
                    entry = _SelectEntry(selector, index)
                    stream._readers.append(entry)
                    registered.append((stream, entry))
                    continue
                if selector is not None and not selector.claim():
                    break  # an adder on another stream claimed us: its item is on its way
                closed = False
                if items:
                    value = items.popleft()
                    if writers:
                        writer, moved = writers.popleft()
                        items.append(moved)
                elif writers:
                    writer, value = writers.popleft()
                else:
                    value = None
                    closed = True
            finally:
                lock.release()
            _unregister(registered)
            if writer is not None:
                writer.wake_threadsafe(None)
            if closed:
                raise StreamClosed()
            return fn(value)
        assert selector is not None
        fiber = selector.fiber
        try:
            cc = fiber.cc
            if cc.state != ON:
                if selector.claim():
                    error = cc.get_error()
                    assert error is not None
                    raise error
            else:
                fiber.cancel_fn = selector.cancel_fn
            index, value = cast(tuple[int, Any], await wait())
        finally:
            _unregister(registered)
        return pairs[index][1](value)

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
        for reader in readers:
            if isinstance(reader, Fiber):
                reader.wake_error_threadsafe(StreamClosed())
            elif reader.waiter.claim():
                reader.waiter.fiber.wake_error_threadsafe(StreamClosed())


class _Selector:
    """One fiber waiting in `Stream.select`: it may be claimed (by a stream or by cancellation) once only."""

    __slots__ = ("fiber", "_claimed")

    def __init__(self, fiber: Fiber) -> None:
        self.fiber = fiber
        # A lock as an atomic test-and-set flag: a non-blocking acquire
        # succeeds for the first caller only, whatever thread it is on.
        self._claimed = threading.Lock()

    def claim(self) -> bool:
        """Whether the caller is the first to claim the waiter (and so owns its wake-up)."""
        return self._claimed.acquire(False)

    def cancel_fn(self, error: Cancelled) -> None:
        """The waiting fiber's cancel function: nothing happens if a stream has claimed it already."""
        if self.claim():
            self.fiber.wake_error(error)


class _SelectEntry:
    """A `_Selector` queued as a reader of one stream: ``index`` is that stream's place in the select's list."""

    __slots__ = ("waiter", "index")

    def __init__(self, waiter: _Selector, index: int) -> None:
        self.waiter = waiter
        self.index = index


def _check_cases(cases: Iterable[tuple[Stream[Any], Callable[[Any], R]]]) -> list[tuple[Stream[Any], Callable[[Any], R]]]:
    pairs = list(cases)
    if not pairs:
        raise ValueError("Stream.select: cases is empty (it needs at least one (stream, fn) pair)")
    for i, pair in enumerate(pairs):
        ok = isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Stream) and callable(pair[1])  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
        if not ok:
            raise TypeError(f"Stream.select: cases[{i}] must be a (stream, fn) pair, not {pair!r}")
    return pairs


def _unregister(registered: list[tuple[Stream[Any], _SelectEntry]]) -> None:
    """Remove a select's entries from the streams still holding them (the ones that served it popped theirs)."""
    for stream, entry in registered:
        with stream._lock:  # pyright: ignore[reportPrivateUsage] - the stream module's own helper
            try:
                stream._readers.remove(entry)  # pyright: ignore[reportPrivateUsage] - the stream module's own helper
            except ValueError:
                pass
