"""The hot half of a ring, in pure Python: filling SQEs, entering the kernel, reaping CQEs.

`Ring` (in ``_ring``) sets a ring up, maps it and closes it; everything done
once per operation lives here, in `RingCore`, its base class. The compiled
accelerator (``_accel``, C) implements the same class with the same
attributes, methods and errors; ``_ring`` takes it when it was built and
``EIO_PURE_PYTHON`` is not set, and this one otherwise. This file is the
reference: the accelerator must behave exactly as it does (the ring's tests
run on both).

Attributes set up by `Ring` before `_attach`: the ring's fd and sizes, the
shared memory as typed memoryviews (``_sq_u32``/``_cq_u32`` u32 words,
``_cq_bytes`` and ``_sqes`` bytes) with the word indices of each counter, our
private copies of the SQ tail and CQ head, the SQ limit (kernel head + size),
``_inflight`` (user_data -> the objects its SQE points into) and ``_backlog``
(completions taken from the CQ but not yet delivered).
"""

from __future__ import annotations

import ctypes
import errno
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer
    from eio.lowlevel import Fiber

if sys.platform != "linux":
    raise ImportError(f"eio_backend_uring._ring_core is Linux-only (platform is {sys.platform})")

from ._abi import (
    CQE,
    GETEVENTS_ARG,
    IORING_ASYNC_CANCEL_ANY,
    IORING_ASYNC_CANCEL_FD,
    IORING_CQE_F_MORE,
    IORING_ENTER_EXT_ARG,
    IORING_ENTER_GETEVENTS,
    IORING_FEAT_EXT_ARG,
    IORING_OP_ASYNC_CANCEL,
    IORING_OP_POLL_ADD,
    IORING_OP_READ,
    IORING_OP_RECV,
    IORING_OP_WRITE,
    IORING_POLL_ADD_MULTI,
    IORING_RECVSEND_POLL_FIRST,
    M32,
    MAX_RW,
    NR_IO_URING_ENTER,
    SQ_NEEDS_ENTER,
    TIMESPEC,
    Completion,
    pack_sqe,
)
from ._pin import BYTES_DATA_OFFSET, MEMORYVIEW_BUF_OFFSET, Pinned, pin_readable, pin_writable, span
from ._syscalls import ARGSZ_EXT, ARGSZ_NONE, sys_enter, syscall_error

_void_at = ctypes.c_void_p.from_address


class RingCore:
    """The per-operation work of a `Ring` (see the module docstring); not used on its own."""

    __slots__ = (
        "_backlog",
        "_cq_bytes",
        "_cq_head",
        "_cq_head_i",
        "_cq_mask",
        "_cq_tail_i",
        "_cq_u32",
        "_cqes_at",
        "_events_always",
        "_fd",
        "_features",
        "_inflight",
        "_sq_entries",
        "_sq_flags_i",
        "_sq_head_i",
        "_sq_limit",
        "_sq_mask",
        "_sq_tail",
        "_sq_tail_i",
        "_sq_u32",
        "_sqes",
        "_wait_arg",
    )

    _fd: int
    _features: int
    _sq_entries: int
    _events_always: bool
    _sq_tail: int
    _sq_limit: int
    _sq_mask: int
    _sq_head_i: int
    _sq_tail_i: int
    _sq_flags_i: int
    _cq_head: int
    _cq_mask: int
    _cq_head_i: int
    _cq_tail_i: int
    _cqes_at: int
    _sq_u32: memoryview
    _cq_u32: memoryview
    _cq_bytes: memoryview
    _sqes: memoryview
    _inflight: dict[int, object]
    _backlog: list[Completion]

    def _attach(self) -> None:
        """The shared memory is mapped and every attribute above is set: get ready to run."""
        # io_uring_getevents_arg and the timespec it points to, allocated once;
        # timed waits only rewrite the timespec.
        self._wait_arg = ctypes.create_string_buffer(GETEVENTS_ARG.size + TIMESPEC.size)
        GETEVENTS_ARG.pack_into(self._wait_arg, 0, 0, 0, 0, ctypes.addressof(self._wait_arg) + GETEVENTS_ARG.size)

    def _detach(self) -> None:
        """The shared memory is about to be unmapped (the views are released next)."""
        # A full SQ from now on: the next prep_* enters `submit_and_wait`, which says the ring is closed.
        tail = getattr(self, "_sq_tail", None)
        if tail is not None:
            self._sq_limit = tail

    def _make_room(self) -> None:
        """The SQ is full: hand it to the kernel so that slots free up."""
        for _attempt in range(64):
            self.submit_and_wait(0)
            if self._sq_tail != self._sq_limit:
                return
        raise syscall_error("io_uring_enter (submission queue full, kernel accepts nothing)", errno.EBUSY)

    def _push(
        self,
        user_data: int,
        anchor: object,
        opcode: int,
        fd: int,
        off: int,
        addr: int,
        length: int,
        op_flags: int,
        ioprio: int = 0,
        splice_fd_in: int = 0,
        addr3: int = 0,
    ) -> None:
        """Fill the next SQE (all 64 bytes) and record what it pins.

        Hot ``prep_*`` methods inline this body instead of calling it: a
        Python call with this many arguments costs ~100 ns, a third of an op.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        pack_sqe(
            self._sqes,
            (tail & self._sq_mask) << 6,
            opcode, 0, ioprio, fd, off, addr, length, op_flags, user_data, 0, 0, splice_fd_in, addr3, 0,
        )  # fmt: skip
        # Only now, with the SQE fully written (pack_into raised nothing), commit it.
        self._sq_tail = (tail + 1) & M32
        inflight[user_data] = anchor

    def prep_read(
        self,
        user_data: int,
        fd: int,
        buf: WriteableBuffer | Pinned,
        offset: int = -1,
        *,
        start: int = 0,
        length: int = -1,
    ) -> None:
        """Queue a READ into ``buf`` (or its ``[start, start+length)`` part) from ``fd``.

        ``offset`` is the file offset; -1 reads at (and advances) the file
        position. ``res`` is the byte count (0 at end of file) or ``-errno``.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        view = memoryview(buf) if (type(buf) is memoryview or type(buf) is bytearray) and MEMORYVIEW_BUF_OFFSET else None
        if view is not None and not view.readonly and view.c_contiguous and view.nbytes:
            # Fast path for the common case, `writable_view_address` inlined
            # (~150 ns instead of ~450 ns for ctypes' from_buffer).
            address, nbytes, anchor = _void_at(id(view) + MEMORYVIEW_BUF_OFFSET).value or 0, view.nbytes, view
        else:
            address, nbytes, anchor = pin_writable(buf)
        if start or length >= 0:
            address, nbytes = span(address, nbytes, start, length)
        if nbytes > MAX_RW:
            nbytes = MAX_RW
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_READ, 0, 0, fd, offset, address, nbytes, 0, user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & M32
        inflight[user_data] = anchor

    def prep_write(
        self,
        user_data: int,
        fd: int,
        buf: ReadableBuffer | Pinned,
        offset: int = -1,
        *,
        start: int = 0,
        length: int = -1,
    ) -> None:
        """Queue a WRITE of ``buf`` (or its ``[start, start+length)`` part) to ``fd``.

        ``offset`` is the file offset; -1 writes at (and advances) the file
        position. ``res`` is the byte count (possibly short) or ``-errno``.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        if type(buf) is bytes and BYTES_DATA_OFFSET:
            # Fast path: see bytes_data_offset (~70 ns instead of ~450 ns).
            address, nbytes, anchor = id(buf) + BYTES_DATA_OFFSET, len(buf), buf
        else:
            address, nbytes, anchor = pin_readable(buf)
        if start or length >= 0:
            address, nbytes = span(address, nbytes, start, length)
        if nbytes > MAX_RW:
            nbytes = MAX_RW
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_WRITE, 0, 0, fd, offset, address, nbytes, 0, user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & M32
        inflight[user_data] = anchor

    def prep_recv(
        self,
        user_data: int,
        fd: int,
        buf: WriteableBuffer | Pinned,
        flags: int = 0,
        *,
        start: int = 0,
        length: int = -1,
        poll_first: bool = False,
    ) -> None:
        """Queue a RECV on socket ``fd`` into ``buf``; ``flags`` are ``MSG_*``.

        ``poll_first`` (Linux 5.19+) skips the initial receive attempt: use it
        when the caller has just seen EAGAIN itself. ``res`` is the byte count
        (0 at end of stream) or ``-errno``.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        view = memoryview(buf) if (type(buf) is memoryview or type(buf) is bytearray) and MEMORYVIEW_BUF_OFFSET else None
        if view is not None and not view.readonly and view.c_contiguous and view.nbytes:
            # Fast path for the common case, `writable_view_address` inlined
            # (~150 ns instead of ~450 ns for ctypes' from_buffer).
            address, nbytes, anchor = _void_at(id(view) + MEMORYVIEW_BUF_OFFSET).value or 0, view.nbytes, view
        else:
            address, nbytes, anchor = pin_writable(buf)
        if start or length >= 0:
            address, nbytes = span(address, nbytes, start, length)
        if nbytes > MAX_RW:
            nbytes = MAX_RW
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_RECV, 0, IORING_RECVSEND_POLL_FIRST if poll_first else 0, fd, 0, address, nbytes, flags,
            user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & M32
        inflight[user_data] = anchor

    def prep_recv_into(self, user_data: int, fd: int, buf: WriteableBuffer | Pinned, poll_first: bool, /) -> None:
        """`prep_recv` of the whole of ``buf`` with no ``MSG_*`` flags: the receive of a stream socket's read.

        The same SQE and the same checks, with positional arguments only and
        no ``start``/``length`` to apply: it runs once per read that waits.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        view = memoryview(buf) if (type(buf) is memoryview or type(buf) is bytearray) and MEMORYVIEW_BUF_OFFSET else None
        if view is not None and not view.readonly and view.c_contiguous and view.nbytes:
            address, nbytes, anchor = _void_at(id(view) + MEMORYVIEW_BUF_OFFSET).value or 0, view.nbytes, view
        else:
            address, nbytes, anchor = pin_writable(buf)
        if nbytes > MAX_RW:
            nbytes = MAX_RW
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_RECV, 0, IORING_RECVSEND_POLL_FIRST if poll_first else 0, fd, 0, address, nbytes, 0,
            user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & M32
        inflight[user_data] = anchor

    def prep_async_cancel(self, user_data: int, target: int, *, flags: int = 0, fd: int = -1) -> None:
        """Queue an ASYNC_CANCEL of the operation whose user_data is ``target``.

        The cancel's own completion (``user_data``) reports 0, ``-ENOENT`` or
        ``-EALREADY``; the target still delivers its own completion (typically
        ``-ECANCELED``, possibly a normal result if it won the race), and its
        buffers stay pinned until then. ``flags`` are
        ``IORING_ASYNC_CANCEL_*`` (``_FD`` matches on ``fd`` instead, 5.19+).
        """
        if user_data == target and not flags & (IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ANY):
            raise ValueError("a cancel needs a user_data of its own, distinct from its target's")
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_ASYNC_CANCEL, 0, 0, fd, 0, target, 0, flags, user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & M32
        inflight[user_data] = None

    def prep_poll_add(self, user_data: int, fd: int, events: int, *, multishot: bool = False) -> None:
        """Queue a POLL_ADD waiting for ``events`` (``select.POLLIN`` ...) on ``fd``.

        ``res`` is the ready event mask. With ``multishot`` (5.13+) it keeps
        reporting, each completion flagged ``IORING_CQE_F_MORE`` until the last.
        """
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        # poll32_events sits in op_flags; on little-endian it overlays the old
        # 16-bit poll_events, so this works with or without FEAT_POLL_32BITS.
        pack_sqe(
            self._sqes, (tail & self._sq_mask) << 6,
            IORING_OP_POLL_ADD, 0, 0, fd, 0, 0, IORING_POLL_ADD_MULTI if multishot else 0, events,
            user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & M32
        inflight[user_data] = None

    # -------------------------------------------------------------- entering

    def submit_and_wait(self, wait_nr: int = 0, timeout: float | None = None) -> int:
        """Submit every queued SQE with one ``io_uring_enter``; optionally wait.

        ``wait_nr``: return only once that many completions are ready to reap
        (0: never block). ``timeout`` (seconds, used only when ``wait_nr > 0``)
        bounds the wait; running out is not an error. Also returns early,
        without error, when a signal interrupts the wait (EINTR): callers loop,
        and Python runs the signal handler meanwhile. Without queued SQEs and
        without waiting this costs no system call.

        Returns how many SQEs the kernel accepted (those it rejects still
        produce a completion with ``-errno``). Raises OSError for a failure of
        the call itself.
        """
        fd = self._fd
        if fd < 0:
            raise ValueError("the ring is closed")
        sq = self._sq_u32
        tail = self._sq_tail
        # Publish the SQEs written so far. On x86-64 plain stores are not
        # reordered, so the kernel sees the SQE bytes before it sees the tail.
        sq[self._sq_tail_i] = tail
        to_submit = (tail - sq[self._sq_head_i]) & M32
        if wait_nr > 0 or self._events_always or sq[self._sq_flags_i] & SQ_NEEDS_ENTER:
            # GETEVENTS also makes the kernel flush overflowed completions and
            # run deferred task work (DEFER_TASKRUN rings complete only then).
            enter_flags = IORING_ENTER_GETEVENTS
        elif to_submit:
            enter_flags = 0
        else:
            return 0  # nothing to submit, nothing to wait for: skip the system call
        if wait_nr < 0 or self._backlog or (timeout is not None and timeout <= 0):
            # Never block: completions are already waiting in the backlog, or
            # the caller asked for a poll (a zero kernel timeout would still
            # arm a timer and sleep on it, tens of microseconds under load).
            wait_nr = 0
        while True:
            if wait_nr > 0 and timeout is not None:
                if not self._features & IORING_FEAT_EXT_ARG:
                    raise syscall_error("io_uring_enter (timed wait without IORING_FEAT_EXT_ARG)", errno.ENOTSUP)
                whole = int(timeout)  # > 0 here, see above
                TIMESPEC.pack_into(self._wait_arg, GETEVENTS_ARG.size, whole, int((timeout - whole) * 1e9))
                ret: int = sys_enter(
                    NR_IO_URING_ENTER, fd, to_submit, wait_nr, enter_flags | IORING_ENTER_EXT_ARG,
                    self._wait_arg, ARGSZ_EXT,
                )  # fmt: skip
            else:
                ret = sys_enter(NR_IO_URING_ENTER, fd, to_submit, wait_nr, enter_flags, None, ARGSZ_NONE)
            # Without SQPOLL the kernel consumes SQEs only inside this call, so
            # the free space is exact now (and stays so until the next enter).
            self._sq_limit = (sq[self._sq_head_i] + self._sq_entries) & M32
            if ret >= 0:
                return ret
            err = ctypes.get_errno()
            if err == errno.ETIME or err == errno.EINTR:
                return 0
            if err == errno.EBUSY:
                # The CQ is full and overflowed completions are waiting: make
                # room by moving completions into our backlog, then retry,
                # fetching events so the kernel flushes its overflow list.
                if not self._drain_to_backlog():
                    time.sleep(0.001)  # nothing to move: let the kernel catch up
                enter_flags |= IORING_ENTER_GETEVENTS
                wait_nr = 0  # what we drained is there to reap: don't block on more
                to_submit = (tail - sq[self._sq_head_i]) & M32
                continue
            raise syscall_error("io_uring_enter", err)

    # --------------------------------------------------------------- reaping

    def poll_nowait(self, callback: Callable[[int, int, int], object]) -> None:
        """Submit what is queued (if anything) and reap what is ready, never blocking.

        The scheduler calls this once per pass over its ready fibers; with
        nothing queued and nothing completed it makes no system call and
        costs a few shared-memory reads, so it is written out in full.
        """
        sq = self._sq_u32
        tail = self._sq_tail
        if (tail - sq[self._sq_head_i]) & M32 or sq[self._sq_flags_i] & SQ_NEEDS_ENTER or self._events_always:
            self.submit_and_wait(0)
        if self._cq_u32[self._cq_tail_i] != self._cq_head or self._backlog:
            self.reap(callback)

    def submit_nowait(self) -> list[Completion]:
        """Submit what is queued, never blocking, and reap: :meth:`poll_nowait` returning the completions.

        With nothing queued and nothing completed it makes no system call and
        returns an empty list after a few shared-memory reads.
        """
        sq = self._sq_u32
        if (self._sq_tail - sq[self._sq_head_i]) & M32 or sq[self._sq_flags_i] & SQ_NEEDS_ENTER or self._events_always:
            self.submit_and_wait(0)
        if self._cq_u32[self._cq_tail_i] != self._cq_head or self._backlog:
            return self.completions()
        return []

    def requeue(self, completions: list[Completion]) -> None:
        """Put back completions taken with :meth:`completions` but not handled: they come first next time."""
        self._backlog[:0] = completions

    def has_completions(self) -> bool:
        """Whether :meth:`completions` would return something; reads shared memory only."""
        return self._cq_u32[self._cq_tail_i] != self._cq_head or bool(self._backlog)

    def _take_cqes(self) -> list[Completion]:
        """Copy every ready CQE out of shared memory and release their slots."""
        cq = self._cq_u32
        head = self._cq_head
        # Masked to 32 bits: head and tail are free-running u32 counters.
        ready = (cq[self._cq_tail_i] - head) & M32
        if not ready:
            return []
        mask = self._cq_mask
        first = head & mask
        base = self._cqes_at
        cqes = self._cq_bytes
        if ready <= 2:
            # unpack_from beats building a slice and an iterator for a couple.
            out = [CQE.unpack_from(cqes, base + (first << 4))]
            if ready == 2:
                out.append(CQE.unpack_from(cqes, base + (((head + 1) & mask) << 4)))
        else:
            end = first + ready
            if end <= mask + 1:
                out = list(CQE.iter_unpack(cqes[base + (first << 4) : base + (end << 4)]))
            else:  # the batch wraps around the end of the ring
                out = list(CQE.iter_unpack(cqes[base + (first << 4) : base + ((mask + 1) << 4)]))
                out += CQE.iter_unpack(cqes[base : base + ((end - mask - 1) << 4)])
        # Release the slots only after copying them out (x86-64 keeps the order).
        self._cq_head = head = (head + ready) & M32
        cq[self._cq_head_i] = head
        return out

    def _drain_to_backlog(self) -> int:
        """Move ready CQEs to the backlog (used when the CQ must be emptied mid-submit)."""
        taken = self._take_cqes()
        self._backlog += taken
        return len(taken)

    def completions(self) -> list[Completion]:
        """Reap every ready completion: a list of ``(user_data, res, flags)``, oldest first.

        Reads shared memory only (no system call). ``res < 0`` is ``-errno`` of
        a failed op. Objects pinned by an op are released here, with the
        op's own completion (not with a cancel's, nor with a multishot op's
        intermediate ones flagged ``IORING_CQE_F_MORE``).
        """
        if self._cq_u32[self._cq_tail_i] == self._cq_head and not self._backlog:
            return []  # the common idle case, without the calls below
        out = self._take_cqes()
        if self._backlog:
            out = self._backlog + out
            self._backlog = []
        pop = self._inflight.pop
        for user_data, _res, flags in out:
            if not flags & IORING_CQE_F_MORE:
                pop(user_data, None)
        return out

    def reap(self, callback: Callable[[int, int, int], object]) -> int:
        """Call ``callback(user_data, res, flags)`` for every ready completion; return the count.

        If the callback raises, the completions not yet delivered are kept
        and come first next time. The callback may prepare new operations.
        """
        if self._cq_u32[self._cq_tail_i] == self._cq_head and not self._backlog:
            return 0
        out = self._take_cqes()
        if self._backlog:
            out = self._backlog + out
            self._backlog = []
        pop = self._inflight.pop
        delivered = 0
        try:
            for user_data, res, flags in out:
                delivered += 1
                if not flags & IORING_CQE_F_MORE:
                    pop(user_data, None)
                callback(user_data, res, flags)
        except BaseException:
            self._backlog[:0] = out[delivered:]
            raise
        return delivered

    def wake_fibers(
        self,
        ops: dict[int, Fiber],
        fds: dict[int, int],
        ready: Callable[[Fiber], object],
        first_op: int,
    ) -> list[int] | None:
        """Reap every ready completion and wake the fiber each one belongs to; the scheduler's dispatch.

        For each completion, in order: the fiber registered in ``ops`` under
        its user_data is removed from ``ops`` (and the user_data from
        ``fds``), gets ``cancel_fn = None`` and ``value = res``, and is passed
        to ``ready``. A completion with no fiber whose user_data is below
        ``first_op`` is one of the scheduler's own reads: its user_data is
        returned (in a list, None when there is none) for the caller to queue
        again. Others (a cancel's own completion) are dropped. If waking
        raises, the completions not yet delivered come first next time.
        """
        if self._cq_u32[self._cq_tail_i] == self._cq_head and not self._backlog:
            return None
        completions = self.completions()
        ops_pop = ops.pop
        rearm: list[int] | None = None
        delivered = 0
        try:
            for user_data, res, _flags in completions:
                delivered += 1
                fiber = ops_pop(user_data, None)
                if fiber is not None:
                    if fds:
                        # Done waiting on its descriptor: a close from now on doesn't concern it.
                        fds.pop(user_data, None)
                    fiber.cancel_fn = None
                    fiber.value = res
                    ready(fiber)
                elif user_data < first_op:
                    if rearm is None:
                        rearm = [user_data]
                    else:
                        rearm.append(user_data)
        except BaseException:
            self.requeue(completions[delivered:])
            raise
        return rearm

    def submit_and_wake(
        self,
        ops: dict[int, Fiber],
        fds: dict[int, int],
        ready: Callable[[Fiber], object],
        first_op: int,
    ) -> list[int] | None:
        """Submit what is queued without blocking, then `wake_fibers`: the scheduler's look at the ring between fibers.

        With nothing queued and nothing completed it makes no system call and
        returns None after a few shared-memory reads.
        """
        sq = self._sq_u32
        if (self._sq_tail - sq[self._sq_head_i]) & M32 or sq[self._sq_flags_i] & SQ_NEEDS_ENTER or self._events_always:
            self.submit_and_wait(0)
        if self._cq_u32[self._cq_tail_i] != self._cq_head or self._backlog:
            return self.wake_fibers(ops, fds, ready, first_op)
        return None
