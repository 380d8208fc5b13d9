"""The kernel-ABI layer of the io_uring backend: one ring, standard library only.

A :class:`Ring` owns an io_uring instance: the file descriptor returned by
``io_uring_setup(2)``, the shared submission queue (SQ) and completion queue (CQ)
mapped with :mod:`mmap`, and the array of submission queue entries (SQEs).
It knows nothing about fibers or scheduling; the backend's scheduler builds on it
(`RingCore.wake_fibers` hands completions to fibers the scheduler registered).

This module sets a ring up, queues the rarer operations and closes it; the
per-operation methods (the hot ``prep_*``, ``submit_and_wait``, reaping) are
inherited from `RingCore`: the pure-Python reference in ``_ring_core``, or
its compiled twin in ``_accel`` when that was built (``_accel_choice``
picks one at import). The design points below are those of the reference;
the compiled one orders its accesses to the shared counters with atomics.

How it is used::

    with Ring(256) as ring:
        ring.prep_read(7, fd, buf, offset=0)     # fills one SQE, returns nothing
        ring.prep_write(8, other_fd, data)
        ring.submit_and_wait(1)                  # one io_uring_enter for the batch
        for user_data, res, flags in ring.completions():
            ...                                  # res is the result or -errno

Design points, each explained where it is implemented:

* Every ``prep_*`` method writes all 64 bytes of one SQE straight into the
  shared mapping with a precompiled :class:`struct.Struct`; nothing reaches the
  kernel until :meth:`Ring.submit_and_wait`, which enters once for the whole
  batch. When the SQ is full a ``prep_*`` call flushes it first.
* Buffer lifetime: the ring keeps a strong reference to every object whose
  address went into an SQE (buffers, socket addresses, ``open_how``, paths,
  timespecs, iovec arrays, statx buffers), keyed by ``user_data``, and drops it
  only when *that operation's own* completion is reaped. The kernel can never
  write into memory Python has freed, even if the caller forgets the object.
  Consequently ``user_data`` must be unique among operations in flight; the
  ring checks this and raises :class:`ValueError` on reuse.
* Taking the address of a buffer ("pinning") costs about 500 ns for a
  ``bytearray`` or writable ``memoryview`` (``ctypes.c_char.from_buffer``) and
  about 1 us for a read-only ``memoryview``; ``bytes`` are cheap (~70 ns).
  Callers on hot paths should pool buffers and pin them once with
  :class:`Pinned`, which every buffer-taking method accepts.
* Failed operations come back as a negative ``res`` (``-errno``), untouched.
  Failed system calls raise :class:`OSError` naming the call.

Limits: the shared-memory protocol here relies on x86-64's ordering of plain
loads and stores (the stdlib cannot issue memory barriers), so
:func:`unavailable_reason` refuses other machines. A ring is used from one
thread at a time and must not be used in a forked child.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final, Self

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, StrOrBytesPath, WriteableBuffer

if sys.platform != "linux":
    raise ImportError(f"eio_backend_uring._ring is Linux-only (platform is {sys.platform})")

from ._abi import (
    ALLOWED_SETUP_FLAGS,
    CLOSE_GRACE_SECONDS,
    CLOSE_USER_DATA,
    CQE_SIZE,
    IO_URING_OP_SUPPORTED,
    IORING_CQE_F_MORE,
    IORING_FEAT_EXT_ARG,
    IORING_FEAT_SINGLE_MMAP,
    IORING_FSYNC_DATASYNC,
    IORING_OP_ASYNC_CANCEL,
    IORING_OP_CONNECT,
    IORING_OP_FSYNC,
    IORING_OP_MKDIRAT,
    IORING_OP_OPENAT2,
    IORING_OP_READV,
    IORING_OP_RENAMEAT,
    IORING_OP_STATX,
    IORING_OP_SYMLINKAT,
    IORING_OP_UNLINKAT,
    IORING_OP_WRITEV,
    IORING_REGISTER_PROBE,
    IORING_SETUP_CQSIZE,
    IORING_SETUP_DEFER_TASKRUN,
    IORING_SETUP_TASKRUN_FLAG,
    IOVEC,
    M32,
    NR_IO_URING_REGISTER,
    NR_IO_URING_SETUP,
    OPEN_HOW,
    PARAMS,
    PROBE_HEADER,
    PROBE_OP,
    PROBE_OPS,
    SQE_SIZE,
    SQE_USER_DATA,
    STATX_BASIC_STATS,
    U32,
    Completion,
    pack_sqe,
)
from ._accel_choice import RingCore
from ._codecs import Statx
from ._pin import (
    Pinned,
    bytes_address,
    path_bytes,
    pin_readable,
    pin_writable,
)
from ._probe import unavailable_reason
from ._syscalls import sys_register, sys_setup, syscall_error

__all__ = ["FD_RESULT", "Ring", "unavailable_reason"]  # unavailable_reason: its former home


# Marks in-flight operations whose successful result is a new file descriptor,
# so close() can close descriptors whose completion nobody will ever see.
FD_RESULT: Final = object()

# Objects pinned by operations that were still in flight when their ring was
# closed and did not complete within the grace period: kept alive forever, a
# small leak being far better than the kernel writing into freed memory.
_ABANDONED: list[object] = []

_void_at = ctypes.c_void_p.from_address


class Ring(RingCore):
    """One io_uring instance: SQ, CQ and SQE array mapped into this process.

    ``prep_*`` methods each fill one SQE and return nothing; the first
    argument of each is the ``user_data`` (0 <= user_data < 2**64 - 1, unique
    among operations in flight) that comes back in the completion.
    :meth:`submit_and_wait` hands every queued SQE to the kernel in one
    ``io_uring_enter``; :meth:`completions` / :meth:`reap` read completions
    straight from shared memory. See the module docstring for buffer lifetime.
    """

    __slots__ = ("__weakref__", "_cq_entries", "_maps")

    def __init__(self, entries: int = 256, flags: int = 0, *, cq_entries: int | None = None) -> None:
        """Set up a ring with ``entries`` SQEs (rounded up to a power of two by the kernel).

        ``flags`` are ``IORING_SETUP_*`` bits; only those that keep the
        standard protocol are accepted (CLAMP, SUBMIT_ALL, COOP_TASKRUN,
        TASKRUN_FLAG, SINGLE_ISSUER, DEFER_TASKRUN). ``cq_entries`` sizes the
        CQ (default: twice the SQ). Raises OSError naming ``io_uring_setup``
        when the kernel refuses (see :func:`unavailable_reason` for why it might).
        """
        self._fd = -1  # first, so close()/__del__ work on a half-built ring
        self._maps: list[mmap.mmap] = []
        self._inflight: dict[int, object] = {}
        self._backlog: list[Completion] = []
        if flags & ~ALLOWED_SETUP_FLAGS:
            raise ValueError(f"unsupported io_uring setup flags: {flags & ~ALLOWED_SETUP_FLAGS:#x}")
        if entries < 1:
            raise ValueError("entries must be positive")

        # The params struct must be zeroed: the kernel rejects non-zero reserved
        # fields (EINVAL) and reads sq_thread_*/wq_fd for some flags.
        params = ctypes.create_string_buffer(PARAMS.size)
        if cq_entries is not None:
            flags |= IORING_SETUP_CQSIZE
            U32.pack_into(params, 4, cq_entries)
        U32.pack_into(params, 8, flags)
        fd = sys_setup(NR_IO_URING_SETUP, entries, ctypes.addressof(params))
        if fd < 0:
            raise syscall_error("io_uring_setup", ctypes.get_errno())
        self._fd = fd  # the kernel creates it O_CLOEXEC
        try:
            self._map(PARAMS.unpack_from(params), flags)
        except BaseException:
            self._release()
            raise

    def _map(self, params: tuple[int, ...], flags: int) -> None:
        """mmap the rings and SQE array described by the returned params."""
        sq_entries, cq_entries, _flags, _cpu, _idle, features = params[:6]
        (sq_head, sq_tail, sq_mask_at, _sq_entries_at, sq_flags, _dropped, sq_array) = params[10:17]
        (cq_head, cq_tail, cq_mask_at, _cq_entries_at, _overflow, cqes) = params[19:25]
        self._features: int = features
        self._sq_entries: int = sq_entries
        self._cq_entries: int = cq_entries
        # A DEFER_TASKRUN ring posts completions only inside io_uring_enter(GETEVENTS). With
        # TASKRUN_FLAG the kernel says when that is needed (IORING_SQ_TASKRUN in the SQ flags,
        # one of SQ_NEEDS_ENTER); without it every look at the ring must enter.
        self._events_always: bool = bool(flags & IORING_SETUP_DEFER_TASKRUN) and not flags & IORING_SETUP_TASKRUN_FLAG

        sq_size = sq_array + sq_entries * 4
        cq_size = cqes + cq_entries * CQE_SIZE
        fd = self._fd
        if features & IORING_FEAT_SINGLE_MMAP:
            # 5.4+: both rings live in one mapping at the SQ offset.
            sq_map = cq_map = self._mmap(fd, max(sq_size, cq_size), 0)
        else:
            sq_map = self._mmap(fd, sq_size, 0)
            cq_map = self._mmap(fd, cq_size, 0x8000000)  # IORING_OFF_CQ_RING
        sqe_map = self._mmap(fd, sq_entries * SQE_SIZE, 0x10000000)  # IORING_OFF_SQES

        # Typed views: u32 words for heads/tails/flags (one index operation per
        # access), bytes for the SQE array and CQEs (struct packs into them).
        self._sq_u32: memoryview = memoryview(sq_map).cast("I")
        self._cq_u32: memoryview = self._sq_u32 if cq_map is sq_map else memoryview(cq_map).cast("I")
        self._cq_bytes: memoryview = memoryview(cq_map)
        self._sqes: memoryview = memoryview(sqe_map)
        self._sq_head_i: int = sq_head // 4
        self._sq_tail_i: int = sq_tail // 4
        self._sq_flags_i: int = sq_flags // 4
        self._sq_mask: int = self._sq_u32[sq_mask_at // 4]
        self._cq_head_i: int = cq_head // 4
        self._cq_tail_i: int = cq_tail // 4
        self._cq_mask: int = self._cq_u32[cq_mask_at // 4]
        self._cqes_at: int = cqes

        # The SQ ring holds indices into the SQE array. Filling it once with the
        # identity means SQE slot `tail & mask` is always the one published at
        # `tail`, so submissions never touch this array again.
        sq_u32, array_i = self._sq_u32, sq_array // 4
        for i in range(sq_entries):
            sq_u32[array_i + i] = i
        # Our private copies of the counters: we are the only writer of the SQ
        # tail and the CQ head, so there is no need to read them back.
        self._sq_tail: int = sq_u32[self._sq_tail_i]
        # The SQ is full when our tail reaches this value (kernel head + size).
        # Comparing against it costs one attribute read per SQE; keeping a free
        # count instead would cost a read and a write.
        self._sq_limit: int = (self._sq_u32[self._sq_head_i] + sq_entries) & M32
        self._cq_head: int = self._cq_u32[self._cq_head_i]

        self._attach()

    def _mmap(self, fd: int, size: int, offset: int) -> mmap.mmap:
        mapping = mmap.mmap(
            fd,
            size,
            mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),  # prefault: no page faults on first use
            mmap.PROT_READ | mmap.PROT_WRITE,
            offset=offset,
        )
        self._maps.append(mapping)
        madv_dontfork: int | None = getattr(mmap, "MADV_DONTFORK", None)
        if madv_dontfork is not None:
            # A forked child must not inherit the ring's pages: it could not use
            # the ring anyway, and sharing them would let it scribble on ours.
            try:
                mapping.madvise(madv_dontfork)
            except OSError:
                pass
        return mapping

    # ------------------------------------------------------------------ info

    def fileno(self) -> int:
        """The ring's file descriptor (readable in epoll/poll when completions are pending)."""
        return self._fd

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._fd < 0

    @property
    def features(self) -> int:
        """``IORING_FEAT_*`` bits the kernel reported at setup."""
        return self._features

    @property
    def sq_entries(self) -> int:
        """Size of the submission queue."""
        return self._sq_entries

    @property
    def cq_entries(self) -> int:
        """Size of the completion queue."""
        return self._cq_entries

    @property
    def in_flight(self) -> int:
        """Operations prepared whose completion has not been reaped yet (queued ones included)."""
        return len(self._inflight)

    @property
    def queued(self) -> int:
        """SQEs prepared but not yet accepted by the kernel."""
        return (self._sq_tail - self._sq_u32[self._sq_head_i]) & M32

    def probe(self) -> frozenset[int]:
        """The opcodes this kernel supports (``IORING_REGISTER_PROBE``, Linux 5.6+)."""
        buffer = ctypes.create_string_buffer(PROBE_HEADER.size + PROBE_OPS * PROBE_OP.size)
        address = ctypes.addressof(buffer)
        ret = sys_register(NR_IO_URING_REGISTER, self._fd, IORING_REGISTER_PROBE, address, PROBE_OPS)
        if ret < 0:
            raise syscall_error("io_uring_register(IORING_REGISTER_PROBE)", ctypes.get_errno())
        _last_op, ops_len, _resv = PROBE_HEADER.unpack_from(buffer)
        supported: set[int] = set()
        for i in range(min(ops_len, PROBE_OPS)):
            op, _resv1, op_flags, _resv2 = PROBE_OP.unpack_from(buffer, PROBE_HEADER.size + i * PROBE_OP.size)
            if op_flags & IO_URING_OP_SUPPORTED:
                supported.add(op)
        return frozenset(supported)

    # ------------------------------------------------------------ submission

    def _prep_vectored(self, user_data: int, opcode: int, fd: int, pins: list[tuple[int, int, object]], offset: int) -> None:
        """Queue READV/WRITEV over already pinned buffers: build and pin the iovec array."""
        if not pins:
            raise ValueError("at least one buffer is required")
        iovecs = bytearray(IOVEC.size * len(pins))
        for i, (address, nbytes, _anchor) in enumerate(pins):
            IOVEC.pack_into(iovecs, i * IOVEC.size, address, nbytes)
        iov_char = ctypes.c_char.from_buffer(iovecs)
        anchors = (iov_char, *(anchor for _address, _nbytes, anchor in pins))
        self._push(user_data, anchors, opcode, fd, offset, ctypes.addressof(iov_char), len(pins), 0)

    def prep_readv(self, user_data: int, fd: int, bufs: Sequence[WriteableBuffer | Pinned], offset: int = -1) -> None:
        """Queue a READV scattering into ``bufs`` (at most IOV_MAX of them)."""
        self._prep_vectored(user_data, IORING_OP_READV, fd, [pin_writable(buf) for buf in bufs], offset)

    def prep_writev(self, user_data: int, fd: int, bufs: Sequence[ReadableBuffer | Pinned], offset: int = -1) -> None:
        """Queue a WRITEV gathering from ``bufs`` (at most IOV_MAX of them)."""
        self._prep_vectored(user_data, IORING_OP_WRITEV, fd, [pin_readable(buf) for buf in bufs], offset)

    def prep_connect(self, user_data: int, fd: int, address: bytes) -> None:
        """Queue a CONNECT of socket ``fd`` to ``address`` (raw, see :func:`encode_sockaddr`)."""
        address = bytes(address)
        self._push(user_data, address, IORING_OP_CONNECT, fd, len(address), bytes_address(address), 0, 0)

    def prep_openat2(
        self,
        user_data: int,
        dirfd: int,
        path: StrOrBytesPath,
        flags: int,
        mode: int = 0,
        resolve: int = 0,
    ) -> None:
        """Queue an OPENAT2 of ``path`` relative to ``dirfd`` (``AT_FDCWD`` for the cwd).

        ``flags`` are ``os.O_*`` (add ``O_CLOEXEC``); ``mode`` must be 0 unless
        ``O_CREAT``/``O_TMPFILE`` is given (openat2 is strict). ``resolve`` are
        ``RESOLVE_*`` bits: ``RESOLVE_BENEATH`` refuses ``..``, absolute paths and
        symlinks leading out of ``dirfd`` with ``-EXDEV``. ``res`` is the new fd.
        """
        encoded = path_bytes(path)
        how = OPEN_HOW.pack(flags, mode, resolve)
        self._push(
            user_data, (FD_RESULT, (encoded, how)), IORING_OP_OPENAT2, dirfd,
            bytes_address(how), bytes_address(encoded), OPEN_HOW.size, 0,
        )  # fmt: skip

    def prep_statx(
        self,
        user_data: int,
        dirfd: int,
        path: StrOrBytesPath,
        buf: Statx,
        flags: int = 0,
        mask: int = STATX_BASIC_STATS,
    ) -> None:
        """Queue a STATX of ``path`` relative to ``dirfd`` into ``buf``.

        For an open file pass its fd, ``path=""`` and ``flags=AT_EMPTY_PATH``;
        ``AT_SYMLINK_NOFOLLOW`` stats a link itself. ``res`` is 0 or ``-errno``.
        """
        encoded = path_bytes(path)
        self._push(
            user_data, (encoded, buf), IORING_OP_STATX, dirfd,
            buf.address, bytes_address(encoded), mask, flags,
        )  # fmt: skip

    def prep_fsync(self, user_data: int, fd: int, *, datasync: bool = False) -> None:
        """Queue an FSYNC of ``fd`` (``datasync=True`` for fdatasync)."""
        self._push(user_data, None, IORING_OP_FSYNC, fd, 0, 0, 0, IORING_FSYNC_DATASYNC if datasync else 0)

    def prep_unlinkat(self, user_data: int, dirfd: int, path: StrOrBytesPath, flags: int = 0) -> None:
        """Queue an UNLINKAT of ``path`` (``flags=AT_REMOVEDIR`` removes a directory)."""
        encoded = path_bytes(path)
        self._push(user_data, encoded, IORING_OP_UNLINKAT, dirfd, 0, bytes_address(encoded), 0, flags)

    def prep_mkdirat(self, user_data: int, dirfd: int, path: StrOrBytesPath, mode: int = 0o777) -> None:
        """Queue a MKDIRAT of ``path`` with ``mode`` (before the umask)."""
        encoded = path_bytes(path)
        self._push(user_data, encoded, IORING_OP_MKDIRAT, dirfd, 0, bytes_address(encoded), mode, 0)

    def prep_renameat(
        self,
        user_data: int,
        old_dirfd: int,
        old_path: StrOrBytesPath,
        new_dirfd: int,
        new_path: StrOrBytesPath,
        flags: int = 0,
    ) -> None:
        """Queue a RENAMEAT (``flags`` as renameat2: RENAME_NOREPLACE, RENAME_EXCHANGE)."""
        old, new = path_bytes(old_path), path_bytes(new_path)
        self._push(
            user_data, (old, new), IORING_OP_RENAMEAT, old_dirfd,
            bytes_address(new), bytes_address(old), new_dirfd & M32, flags,  # len is u32: AT_FDCWD wraps
        )  # fmt: skip

    def prep_symlinkat(self, user_data: int, target: StrOrBytesPath, new_dirfd: int, link_path: StrOrBytesPath) -> None:
        """Queue a SYMLINKAT creating ``link_path`` (relative to ``new_dirfd``) pointing at ``target``."""
        old, new = path_bytes(target), path_bytes(link_path)
        self._push(
            user_data, (old, new), IORING_OP_SYMLINKAT, new_dirfd,
            bytes_address(new), bytes_address(old), 0, 0,
        )  # fmt: skip

    # --------------------------------------------------------------- closing

    def close(self) -> None:
        """Cancel what is in flight, release the mappings and close the ring fd (idempotent).

        Operations still in flight are cancelled and their completions awaited
        (briefly) and discarded; a descriptor produced meanwhile by an ACCEPT
        or OPENAT2 nobody will see is closed. Objects pinned by operations
        that still did not complete are kept alive forever rather than freed
        under the kernel's feet.
        """
        if self._fd < 0:
            return
        try:
            if self._inflight or self._backlog:
                self._cancel_everything()
        finally:
            self._release()

    def _cancel_everything(self) -> None:
        inflight = self._inflight
        sqes, sq, mask = self._sqes, self._sq_u32, self._sq_mask
        # SQEs not yet handed to the kernel are simply withdrawn (the kernel
        # reads the SQ only inside io_uring_enter).
        head = sq[self._sq_head_i]
        position = head
        while position != self._sq_tail:
            (user_data,) = SQE_USER_DATA.unpack_from(sqes, ((position & mask) << 6) + 32)
            inflight.pop(user_data, None)
            position = (position + 1) & M32
        self._sq_tail = head
        sq[self._sq_tail_i] = head
        self._sq_limit = (head + self._sq_entries) & M32

        def settle(completions: Iterable[Completion]) -> None:
            for user_data, res, flags in completions:
                if user_data == CLOSE_USER_DATA or flags & IORING_CQE_F_MORE:
                    continue
                anchor = inflight.pop(user_data, None)
                if res >= 0 and type(anchor) is tuple and anchor and anchor[0] is FD_RESULT:
                    try:
                        os.close(res)
                    except OSError:
                        pass

        settle(self._backlog)
        self._backlog = []
        settle(self._take_cqes())
        deadline = time.monotonic() + CLOSE_GRACE_SECONDS
        try:
            for target in list(inflight):
                # Per-target cancels work on every kernel (CANCEL_ANY is 5.19+).
                tail = self._sq_tail
                if tail == self._sq_limit:
                    self._make_room()
                pack_sqe(
                    sqes, (tail & mask) << 6,
                    IORING_OP_ASYNC_CANCEL, 0, 0, -1, 0, target, 0, 0, CLOSE_USER_DATA, 0, 0, 0, 0, 0,
                )  # fmt: skip
                self._sq_tail = (tail + 1) & M32
            while inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.submit_and_wait(1, left if self._features & IORING_FEAT_EXT_ARG else None)
                settle(self._take_cqes())
                settle(self._backlog)
                self._backlog = []
        finally:
            if inflight:
                _ABANDONED.extend(inflight.values())
                inflight.clear()

    def _release(self) -> None:
        """Drop the views, unmap, close the fd. Views first: an mmap with exports can't close."""
        self._detach()
        for name in ("_sq_u32", "_cq_u32", "_cq_bytes", "_sqes"):
            view: memoryview | None = getattr(self, name, None)
            if view is not None:
                view.release()
        for mapping in self._maps:
            mapping.close()
        self._maps.clear()
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> Self:
        """Use the ring in a ``with`` block; it is closed on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the ring."""
        self.close()

    def __del__(self) -> None:
        """Warn about (and close) a ring that was never closed, like a file."""
        if getattr(self, "_fd", -1) >= 0:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            self.close()

    def __repr__(self) -> str:
        """Show the fd, sizes and in-flight count."""
        if self._fd < 0:
            return "<Ring closed>"
        return f"<Ring fd={self._fd} sq={self._sq_entries} cq={self._cq_entries} in_flight={len(self._inflight)}>"
