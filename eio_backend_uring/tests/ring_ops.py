"""The ring operations only the tests use, and their codecs, as `FullRing` (a `Ring` subclass).

The backend queues few kinds of operations; the ring layer's own tests
exercise many more (NOP, SEND, SENDMSG, RECVMSG, ACCEPT, SHUTDOWN, CLOSE,
TIMEOUT, POLL_REMOVE, SPLICE, LINKAT), which live here, out of the product.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
from typing import TYPE_CHECKING, Final

if sys.platform != "linux":
    raise ImportError("io_uring is Linux-only")

from eio_backend_uring._abi import (
    IORING_OP_ACCEPT,
    IORING_OP_CLOSE,
    IORING_OP_LINKAT,
    IORING_OP_POLL_REMOVE,
    IORING_OP_RECVMSG,
    IORING_OP_SEND,
    IORING_OP_SENDMSG,
    IORING_OP_SHUTDOWN,
    IORING_OP_SPLICE,
    IORING_OP_TIMEOUT,
    IORING_OP_TIMEOUT_REMOVE,
    IORING_RECVSEND_POLL_FIRST,
    IOVEC,
    M32,
    MAX_RW,
    MSGHDR,
    SOCKADDR_STORAGE,
    TIMESPEC,
    U32,
    U64,
    pack_sqe,
)
from eio_backend_uring._codecs import FAMILY, FLOWINFO, IN6_TAIL, PORT, SockAddress
from eio_backend_uring._pin import BYTES_DATA_OFFSET, Pinned, bytes_address, path_bytes, pin_readable, pin_writable, span
from eio_backend_uring._ring import FD_RESULT, Ring

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, StrOrBytesPath, WriteableBuffer


def decode_sockaddr(raw: bytes) -> SockAddress:
    """Decode a kernel ``struct sockaddr_*`` the way the ``socket`` module reports it.

    ``AF_INET`` -> ``(host, port)``; ``AF_INET6`` -> ``(host, port, flowinfo,
    scope_id)``; ``AF_UNIX`` -> ``str`` path, ``bytes`` for an abstract name,
    ``""`` for an unnamed socket; anything else -> the raw bytes.
    """
    if len(raw) < 2:
        return raw
    family: int = FAMILY.unpack_from(raw)[0]
    if family == socket.AF_INET and len(raw) >= 8:
        port: int = PORT.unpack_from(raw, 2)[0]
        return socket.inet_ntop(family, raw[4:8]), port
    if family == socket.AF_INET6 and len(raw) >= 28:
        port6: int = PORT.unpack_from(raw, 2)[0]
        flowinfo: int = FLOWINFO.unpack_from(raw, 4)[0]
        scope_id: int = IN6_TAIL.unpack_from(raw, 24)[0]
        return socket.inet_ntop(family, raw[8:24]), port6, flowinfo, scope_id
    if family == socket.AF_UNIX:
        path = raw[2:]
        if path.startswith(b"\0"):
            return path
        return os.fsdecode(path.split(b"\0", 1)[0])
    return raw


class SockAddrBuf:
    """Room for a peer address that ACCEPT fills in; pinned once, reusable.

    Pass it to :meth:`Ring.prep_accept`; after that op's completion,
    :meth:`address` decodes what the kernel wrote. One op at a time.
    """

    __slots__ = ("_anchor", "_base", "_mem")

    def __init__(self) -> None:
        """Allocate a ``sockaddr_storage`` plus its ``socklen_t`` length word."""
        self._mem = bytearray(SOCKADDR_STORAGE + 8)
        self._anchor = ctypes.c_char.from_buffer(self._mem)
        self._base = ctypes.addressof(self._anchor)

    def arm(self) -> tuple[int, int]:
        """Reset the length word; return ``(sockaddr address, socklen_t address)``.

        Low level: :meth:`Ring.prep_accept` calls this.
        """
        U32.pack_into(self._mem, SOCKADDR_STORAGE, SOCKADDR_STORAGE)
        return self._base, self._base + SOCKADDR_STORAGE

    def raw(self) -> bytes:
        """The address bytes the kernel wrote (bounded by the buffer)."""
        (length,) = U32.unpack_from(self._mem, SOCKADDR_STORAGE)
        return bytes(self._mem[: min(length, SOCKADDR_STORAGE)])

    def address(self) -> SockAddress:
        """The address, decoded like the ``socket`` module (:func:`decode_sockaddr`)."""
        return decode_sockaddr(self.raw())


class MsgHdr:
    """A ``struct msghdr`` with one iovec and room for an address; pinned once, reusable.

    Used by :meth:`Ring.prep_sendmsg` (the destination address goes in it) and
    :meth:`Ring.prep_recvmsg` (the kernel writes the source address and
    ``msg_flags`` back into it; read them with :meth:`address` and
    :attr:`flags` after the completion). One op at a time per ``MsgHdr``.
    """

    __slots__ = ("_anchor", "_base", "_mem")

    # Layout of _mem: msghdr at 0, iovec at 56, sockaddr_storage at 72.
    _IOV_AT: Final = 56
    _NAME_AT: Final = 72

    def __init__(self) -> None:
        """Allocate and pin the header, iovec and address storage (one bytearray)."""
        self._mem = bytearray(self._NAME_AT + SOCKADDR_STORAGE)
        self._anchor = ctypes.c_char.from_buffer(self._mem)
        self._base = ctypes.addressof(self._anchor)

    def fill(self, data_address: int, data_nbytes: int, name: bytes | None, *, receive: bool) -> int:
        """Point the header at one data buffer and return the header's address.

        Low level: :meth:`Ring.prep_sendmsg` / :meth:`Ring.prep_recvmsg` call
        this. ``name`` is the destination for a send (None: connected socket);
        for a receive the whole address storage is offered to the kernel.
        """
        mem, base = self._mem, self._base
        IOVEC.pack_into(mem, self._IOV_AT, data_address, data_nbytes)
        if receive:
            name_address, name_len = base + self._NAME_AT, SOCKADDR_STORAGE
        elif name is None:
            name_address, name_len = 0, 0  # connected socket: no destination
        else:
            if len(name) > SOCKADDR_STORAGE:
                raise ValueError("socket address too long")
            mem[self._NAME_AT : self._NAME_AT + len(name)] = name
            name_address, name_len = base + self._NAME_AT, len(name)
        MSGHDR.pack_into(mem, 0, name_address, name_len, base + self._IOV_AT, 1, 0, 0, 0)
        return base

    def raw_address(self) -> bytes:
        """The source address bytes RECVMSG wrote (``msg_namelen`` of them)."""
        (name_address, name_len) = MSGHDR.unpack_from(self._mem, 0)[:2]
        if not name_address:
            return b""
        return bytes(self._mem[self._NAME_AT : self._NAME_AT + min(name_len, SOCKADDR_STORAGE)])

    def address(self) -> SockAddress:
        """The source address of the last RECVMSG, decoded (:func:`decode_sockaddr`)."""
        return decode_sockaddr(self.raw_address())

    @property
    def flags(self) -> int:
        """``msg_flags`` as RECVMSG left them (e.g. ``MSG_TRUNC``)."""
        flags: int = MSGHDR.unpack_from(self._mem, 0)[6]
        return flags


class FullRing(Ring):
    """A `Ring` with every operation the ring layer supports, for its tests."""

    def prep_nop(self, user_data: int) -> None:
        """Queue a NOP: completes with ``res == 0``. Useful to wake or to measure."""
        inflight = self._inflight
        if user_data in inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        tail = self._sq_tail
        if tail == self._sq_limit:
            self._make_room()
        pack_sqe(self._sqes, (tail & self._sq_mask) << 6, 0, 0, 0, -1, 0, 0, 0, 0, user_data, 0, 0, 0, 0, 0)
        self._sq_tail = (tail + 1) & M32
        inflight[user_data] = None

    def prep_send(
        self,
        user_data: int,
        fd: int,
        buf: ReadableBuffer | Pinned,
        flags: int = 0,
        *,
        start: int = 0,
        length: int = -1,
        poll_first: bool = False,
    ) -> None:
        """Queue a SEND of ``buf`` on socket ``fd``; ``flags`` are ``MSG_*`` (MSG_NOSIGNAL is wise).

        ``res`` is the byte count (possibly short) or ``-errno``.
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
            IORING_OP_SEND, 0, IORING_RECVSEND_POLL_FIRST if poll_first else 0, fd, 0, address, nbytes, flags,
            user_data, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._sq_tail = (tail + 1) & M32
        inflight[user_data] = anchor

    def prep_sendmsg(
        self,
        user_data: int,
        fd: int,
        buf: ReadableBuffer | Pinned,
        address: bytes | None = None,
        flags: int = 0,
        *,
        msg: MsgHdr | None = None,
        poll_first: bool = False,
    ) -> None:
        """Queue a SENDMSG of ``buf`` to ``address`` (raw, see :func:`encode_sockaddr`).

        ``address=None`` sends on a connected socket. ``msg`` lets a caller
        reuse a :class:`MsgHdr` (one op at a time); by default a fresh one is used.
        """
        data_address, nbytes, data_anchor = pin_readable(buf)
        header = msg if msg is not None else MsgHdr()
        if user_data in self._inflight:  # before touching a MsgHdr that may be in use
            raise ValueError(f"user_data {user_data} is already in flight")
        header_address = header.fill(data_address, min(nbytes, MAX_RW), address, receive=False)
        self._push(
            user_data, (header, data_anchor), IORING_OP_SENDMSG, fd, 0, header_address, 1, flags,
            IORING_RECVSEND_POLL_FIRST if poll_first else 0,
        )  # fmt: skip

    def prep_recvmsg(
        self,
        user_data: int,
        fd: int,
        buf: WriteableBuffer | Pinned,
        msg: MsgHdr,
        flags: int = 0,
        *,
        poll_first: bool = False,
    ) -> None:
        """Queue a RECVMSG into ``buf``; the source address and flags land in ``msg``.

        After the completion, ``msg.address()`` is the sender and ``msg.flags``
        the ``msg_flags`` (``MSG_TRUNC`` when a datagram did not fit).
        """
        data_address, nbytes, data_anchor = pin_writable(buf)
        if user_data in self._inflight:
            raise ValueError(f"user_data {user_data} is already in flight")
        header_address = msg.fill(data_address, min(nbytes, MAX_RW), None, receive=True)
        self._push(
            user_data, (msg, data_anchor), IORING_OP_RECVMSG, fd, 0, header_address, 1, flags,
            IORING_RECVSEND_POLL_FIRST if poll_first else 0,
        )  # fmt: skip

    def prep_accept(
        self, user_data: int, fd: int, flags: int = socket.SOCK_CLOEXEC, *, peer: SockAddrBuf | None = None
    ) -> None:
        """Queue an ACCEPT on listening socket ``fd``; ``res`` is the new socket's fd.

        ``flags`` are ``SOCK_CLOEXEC``/``SOCK_NONBLOCK`` (default close-on-exec).
        Give ``peer`` to have the peer's address written into it.
        """
        if peer is None:
            address, length_address, anchor = 0, 0, None
        else:
            if user_data in self._inflight:
                raise ValueError(f"user_data {user_data} is already in flight")
            address, length_address = peer.arm()
            anchor = peer
        self._push(user_data, (FD_RESULT, anchor), IORING_OP_ACCEPT, fd, length_address, address, 0, flags)

    def prep_shutdown(self, user_data: int, fd: int, how: int) -> None:
        """Queue a SHUTDOWN of socket ``fd`` (``socket.SHUT_RD``/``SHUT_WR``/``SHUT_RDWR``)."""
        self._push(user_data, None, IORING_OP_SHUTDOWN, fd, 0, 0, how, 0)

    def prep_close(self, user_data: int, fd: int) -> None:
        """Queue a CLOSE of file descriptor ``fd``.

        Named ``prep_close`` like the other ops; :meth:`close` closes the ring.
        """
        self._push(user_data, None, IORING_OP_CLOSE, fd, 0, 0, 0, 0)

    def prep_timeout(self, user_data: int, seconds: float, *, count: int = 0, flags: int = 0) -> None:
        """Queue a TIMEOUT firing after ``seconds`` (CLOCK_MONOTONIC).

        Completes with ``-ETIME`` when it fires, 0 if ``count`` other
        completions arrived first (``count=0``: a pure timer), ``-ECANCELED``
        when cancelled. ``flags``: ``IORING_TIMEOUT_ABS`` makes ``seconds`` an
        absolute ``time.monotonic()`` value; ``IORING_TIMEOUT_BOOTTIME`` /
        ``IORING_TIMEOUT_REALTIME`` pick another clock.
        """
        if seconds < 0:
            seconds = 0.0
        whole = int(seconds)
        timespec = TIMESPEC.pack(whole, int((seconds - whole) * 1e9))
        self._push(user_data, timespec, IORING_OP_TIMEOUT, -1, count, bytes_address(timespec), 1, flags)

    def prep_timeout_remove(self, user_data: int, target: int) -> None:
        """Queue a TIMEOUT_REMOVE of the timeout whose user_data is ``target``.

        Its own ``res``: 0, ``-ENOENT`` (not found) or ``-EALREADY`` (firing).
        """
        self._push(user_data, None, IORING_OP_TIMEOUT_REMOVE, -1, 0, target, 0, 0)

    def prep_poll_remove(self, user_data: int, target: int) -> None:
        """Queue a POLL_REMOVE of the poll whose user_data is ``target``."""
        self._push(user_data, None, IORING_OP_POLL_REMOVE, -1, 0, target, 0, 0)

    def prep_splice(
        self, user_data: int, fd_in: int, off_in: int, fd_out: int, off_out: int, nbytes: int, flags: int = 0
    ) -> None:
        """Queue a SPLICE of ``nbytes`` from ``fd_in`` to ``fd_out`` (one must be a pipe).

        Offsets of -1 mean "no offset" (required for the pipe side).
        """
        self._push(
            user_data, None, IORING_OP_SPLICE, fd_out, off_out, off_in & U64, min(nbytes, MAX_RW), flags,
            0, fd_in,
        )  # fmt: skip

    def prep_linkat(
        self,
        user_data: int,
        old_dirfd: int,
        old_path: StrOrBytesPath,
        new_dirfd: int,
        new_path: StrOrBytesPath,
        flags: int = 0,
    ) -> None:
        """Queue a LINKAT (hard link; ``flags=AT_SYMLINK_FOLLOW`` follows a symlink source)."""
        old, new = path_bytes(old_path), path_bytes(new_path)
        self._push(
            user_data, (old, new), IORING_OP_LINKAT, old_dirfd,
            bytes_address(new), bytes_address(old), new_dirfd & M32, flags,  # len is u32: AT_FDCWD wraps
        )  # fmt: skip
