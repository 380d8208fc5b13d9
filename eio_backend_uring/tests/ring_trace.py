"""A scripted run of every `RingCore` method, printing what each returned or raised.

`test_accel.py` runs this script twice, with the compiled accelerator and with
``EIO_PURE_PYTHON=1``, and requires the two outputs to be identical line for
line (and to contain what the kernel must have done). It covers the fast
paths and the uncommon ones: spans, pinning errors, reused user_data, a full
SQ, the CQ wrapping, a raising callback (the backlog), timed waits, cancels,
the scheduler's fiber wake-up, and a closed ring.
"""

from __future__ import annotations

import errno
import os
import select
import struct
import sys
from typing import cast

if sys.platform != "linux":
    raise ImportError("io_uring is Linux-only")

from eio_backend_uring._accel_choice import ACCELERATED
from eio_backend_uring._pin import Pinned
from ring_ops import FullRing


def show(label: str, value: object) -> None:
    print(f"{label}: {value!r}")


def attempt(label: str, fn: object, *args: object, **kwargs: object) -> None:
    """Call ``fn``; print its result, or the error.

    struct.error and a call with missing arguments are compared by type only:
    their messages name the struct field or the function in each its own way.
    """
    assert callable(fn)
    try:
        show(label, fn(*args, **kwargs))
    except struct.error:
        print(f"{label}: raised struct.error")
    except TypeError as e:
        print(f"{label}: raised TypeError" + ("" if "argument" in str(e) and "()" in str(e) else f": {e}"))
    except Exception as e:  # noqa: BLE001 - the error is what is compared
        print(f"{label}: raised {type(e).__name__}: {e}")


def settle(ring: FullRing, *user_data: int) -> list[tuple[int, int, int]]:
    """Submit and wait until the given operations completed; their completions, sorted."""
    wanted = set(user_data)
    got: list[tuple[int, int, int]] = []
    for _ in range(100):
        if not wanted:
            break
        ring.submit_and_wait(1, 1.0)
        for c in ring.completions():
            wanted.discard(c[0])
            got.append(c)
    return sorted(got)


class FakeFiber:
    """What `wake_fibers` touches on a fiber."""

    __slots__ = ("cancel_fn", "name", "value")

    def __init__(self, name: str) -> None:
        self.name = name
        self.cancel_fn: object = "armed"
        self.value: object = None


def main() -> None:
    print(f"accelerated: {ACCELERATED}")
    r, w = os.pipe()
    devnull = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    try:
        with FullRing(8) as ring:
            show("sizes", (ring.sq_entries, ring.cq_entries, ring.queued, ring.in_flight))
            attempt("submit with nothing queued", ring.submit_and_wait)
            attempt("completions when idle", ring.completions)
            attempt("has_completions when idle", ring.has_completions)

            # Spans, on both directions.
            ring.prep_write(1, w, b"hello, world", start=7)
            show("queued after a write", (ring.queued, ring.in_flight))
            show("write", settle(ring, 1))
            buf = bytearray(12)
            ring.prep_read(2, r, buf, start=2, length=3)
            show("read with a span", (settle(ring, 2), bytes(buf)))
            ring.prep_read(3, r, memoryview(buf)[8:])
            show("read into a view", (settle(ring, 3), bytes(buf)))

            # Errors: nothing queued, nothing pinned by a refused call.
            attempt("read into bytes", ring.prep_read, 4, r, b"read-only")
            attempt("span past the start", ring.prep_read, 4, r, bytearray(4), start=9)
            attempt("span past the end", ring.prep_write, 4, w, b"x", length=5)
            attempt("negative start", ring.prep_recv, 4, r, bytearray(4), start=-1)
            attempt("fd out of range", ring.prep_write, 4, 2**40, b"x")
            attempt("negative user_data", ring.prep_poll_add, -1, r, select.POLLIN)
            attempt("user_data not an int", ring.prep_poll_add, "x", r, select.POLLIN)
            attempt("events out of range", ring.prep_poll_add, 4, r, 2**33)
            attempt("offset out of range", ring.prep_read, 4, r, bytearray(2), 2**64)
            attempt("cancel of itself", ring.prep_async_cancel, 4, 4)
            attempt("recv_into, three arguments", ring.prep_recv_into, 4, r, bytearray(2))
            show("after the refusals", (ring.queued, ring.in_flight))

            # A poll in flight pins its user_data; a resize of a buffer in flight is refused.
            ring.prep_poll_add(5, r, select.POLLIN)
            attempt("poll with a user_data in flight", ring.prep_poll_add, 5, r, select.POLLIN)
            pending = bytearray(8)
            ring.prep_read(6, r, pending)
            attempt("resize a buffer in flight", pending.extend, b"more")
            ring.submit_and_wait(0)
            attempt("timed wait with nothing ready", ring.submit_and_wait, 1, 0.02)
            attempt("timed wait of NaN seconds", ring.submit_and_wait, 1, float("nan"))
            attempt("timed wait of 1e19 seconds", ring.submit_and_wait, 1, 1e19)
            attempt("completions still none", ring.completions)
            ring.prep_async_cancel(7, 5)
            ring.prep_async_cancel(8, 6)
            got = settle(ring, 5, 6, 7, 8)
            show("cancelled", [(ud, -res if res < 0 else res) for ud, res, _ in got])
            show("ECANCELED", errno.ECANCELED)
            attempt("resize once complete", pending.extend, b"more")

            # More SQEs than the SQ holds: the ring flushes it; then the CQ wraps.
            for i in range(20):
                ring.prep_write(100 + i, devnull, b"0123456789"[: i % 10 + 1])
            show("20 writes", settle(ring, *range(100, 120)))
            for i in range(30):
                ring.prep_nop(200 + i)
                if i % 3 == 2:
                    ring.submit_and_wait(0)
            show("30 nops", [ud for ud, _, _ in settle(ring, *range(200, 230))])

            # Pinned buffers and other buffer types.
            pinned = Pinned(b"pinned!")
            ring.prep_write(9, w, pinned)
            ring.prep_write(10, w, memoryview(b"view-ro"))
            ring.prep_write(11, w, bytearray(b"bytearray"))
            show("writes of other buffers", settle(ring, 9, 10, 11))
            out = bytearray(64)
            ring.prep_read(12, r, Pinned(out))
            show("read into a Pinned", (settle(ring, 12), bytes(out[:23])))

            # A raising callback: what it did not see comes first next time.
            for i in range(4):
                ring.prep_nop(300 + i)
            ring.submit_and_wait(4, 1.0)
            seen: list[int] = []

            def callback(user_data: int, res: int, flags: int) -> None:
                seen.append(user_data)
                if user_data == 301:
                    raise RuntimeError("callback failed")

            attempt("reap with a failing callback", ring.reap, callback)
            show("seen", seen)
            attempt("has_completions after", ring.has_completions)
            ring.prep_nop(304)
            attempt("poll_nowait", ring.poll_nowait, callback)
            show("seen after poll_nowait", seen)
            ring.requeue([(400, 0, 0)])
            attempt("completions after a requeue", ring.completions)

            # The scheduler's wake-up: fibers by user_data, scheduler reads below first_op.
            a, b = FakeFiber("a"), FakeFiber("b")
            ops: dict[int, FakeFiber] = {500: a, 501: b}
            fds = {500: r}
            woken: list[str] = []

            def wake(fiber: object) -> None:
                woken.append(cast(FakeFiber, fiber).name)

            ring.prep_nop(500)
            ring.prep_nop(501)
            ring.prep_nop(3)  # below first_op: to re-arm
            ring.prep_nop(502)  # nobody's: dropped
            attempt("submit_and_wake", ring.submit_and_wake, ops, fds, wake, 16)
            ring.submit_and_wait(3, 1.0)
            attempt("wake_fibers", ring.wake_fibers, ops, fds, wake, 16)
            show("woken", (woken, a.cancel_fn, a.value, b.cancel_fn, b.value, ops, fds))
            attempt("wake_fibers, nothing ready", ring.wake_fibers, ops, fds, woken.append, 16)
            c = FakeFiber("c")
            ring.prep_nop(600)
            ring.prep_nop(601)
            ring.submit_and_wait(2, 1.0)

            def refuse(fiber: FakeFiber) -> None:
                raise RuntimeError(f"cannot wake {fiber.name}")

            attempt("wake_fibers, ready raises", ring.wake_fibers, {600: c}, {}, refuse, 16)
            attempt("then the rest", ring.completions)

            # Re-entrant: code run by `ready` reaps again; it sees none of the completions being delivered.
            d, e = FakeFiber("d"), FakeFiber("e")
            ring.prep_nop(610)
            ring.prep_nop(611)
            ring.submit_and_wait(2, 1.0)
            inner: list[object] = []

            def reentrant(fiber: FakeFiber) -> None:
                woken.append(fiber.name)
                inner.append(ring.completions())
                inner.append(ring.wake_fibers({}, {}, wake, 16))

            attempt("wake_fibers, ready reaps again", ring.wake_fibers, {610: d, 611: e}, {}, reentrant, 16)
            show("woken, and what the inner reaps got", (woken[-2:], inner))
            show("in flight at the end", (ring.queued, ring.in_flight))

        # More completions at once than a small batch: 100 fibers woken by one call.
        with FullRing(64) as big:
            many = {1000 + i: FakeFiber(str(i)) for i in range(100)}
            for user_data in many:
                big.prep_nop(user_data)
            big.submit_and_wait(100, 2.0)
            order: list[str] = []

            def record(fiber: object) -> None:
                order.append(cast(FakeFiber, fiber).name)

            attempt("wake 100", big.wake_fibers, many, {}, record, 16)
            show("woken in order", order == [str(i) for i in range(100)])
            for user_data in range(2000, 2100):
                big.prep_nop(user_data)
            big.submit_and_wait(100, 2.0)
            fails = {2000 + i: FakeFiber(str(i)) for i in range(100)}

            def fail_at_70(fiber: FakeFiber) -> None:
                if fiber.name == "70":
                    raise RuntimeError("no room for 70")

            attempt("wake 100, the 71st raises", big.wake_fibers, fails, {}, fail_at_70, 16)
            left = big.completions()
            show("then in the backlog", (len(left), left[0], left[-1], len(fails)))
        attempt("prep on a closed ring", ring.prep_poll_add, 700, r, select.POLLIN)
        attempt("submit on a closed ring", ring.submit_and_wait)
    finally:
        os.close(r)
        os.close(w)
        os.close(devnull)


if __name__ == "__main__":
    main()
