"""Tests of the kernel-ABI ring layer (eio_backend_uring._ring and its parts), against the real kernel."""

from __future__ import annotations

import errno
import gc
import os
import select
import signal
import socket
import stat
import sys
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

if sys.platform != "linux":
    pytest.skip("io_uring is Linux-only", allow_module_level=True)
assert sys.platform == "linux"  # tells pyright's per-platform pass the rest is Linux-only

from eio_backend_uring._abi import AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, IORING_TIMEOUT_ABS, RESOLVE_BENEATH, Completion
from eio_backend_uring._codecs import Statx, encode_sockaddr
from eio_backend_uring._pin import Pinned
from eio_backend_uring._probe import unavailable_reason
from ring_ops import FullRing as Ring
from ring_ops import MsgHdr, SockAddrBuf, decode_sockaddr

from eio_backend_uring import _abi as _ring

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


class WeakableBuffer(bytearray):
    """A bytearray that can be weakly referenced, to watch when the ring lets go of it."""


@pytest.fixture
def ring() -> Iterator[Ring]:
    with Ring(64) as r:
        yield r
        # Every test must leave nothing behind in flight.
        assert r.in_flight == 0


def wait_for(ring: Ring, *user_data: int, timeout: float = 5.0) -> dict[int, Completion]:
    """Submit and reap until the given operations have completed; return their completions."""
    wanted = set(user_data)
    got: dict[int, Completion] = {}
    deadline = time.monotonic() + timeout
    while wanted - got.keys():
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {sorted(wanted - got.keys())}"
        ring.submit_and_wait(1, left)
        for completion in ring.completions():
            assert completion[0] not in got, "a completion was delivered twice"
            got[completion[0]] = completion
    return got


def result(ring: Ring, user_data: int) -> int:
    """Submit, wait for one operation and return its res."""
    return wait_for(ring, user_data)[user_data][1]


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


# ----------------------------------------------------------------- basics


def test_unavailable_reason_is_none_here() -> None:
    assert unavailable_reason() is None


def test_probe_lists_required_ops(ring: Ring) -> None:
    assert _ring.REQUIRED_OPS <= ring.probe()


def test_nop_round_trip_preserves_user_data(ring: Ring) -> None:
    for user_data in (0, 1, 0xDEADBEEF, 2**63, 2**64 - 2):
        ring.prep_nop(user_data)
        assert ring.queued == 1
        assert ring.submit_and_wait(1) == 1
        assert ring.has_completions()
        assert ring.completions() == [(user_data, 0, 0)]
        assert not ring.has_completions()
        assert ring.completions() == []


def test_300_nops_through_a_64_entry_ring() -> None:
    with Ring(64) as ring:
        assert ring.sq_entries == 64
        for round_ in range(3):  # several rounds so both rings wrap many times
            base = round_ * 1000
            for i in range(300):  # the SQ fills up and is flushed automatically
                ring.prep_nop(base + i)
            seen: list[int] = []
            while len(seen) < 300:
                ring.submit_and_wait(1, 2.0)
                if round_ == 1:
                    ring.reap(lambda user_data, res, flags: seen.append(user_data))
                else:
                    seen += [user_data for user_data, _res, _flags in ring.completions()]
            assert sorted(seen) == [base + i for i in range(300)]
            assert ring.in_flight == 0


def test_uneven_batches_wrap_the_completion_ring(ring: Ring) -> None:
    expected: list[int] = []
    got: list[int] = []
    user_data = 0
    for batch in (5, 50, 3, 60, 1, 64, 2, 33, 64, 7):
        for _ in range(batch):
            ring.prep_nop(user_data)
            expected.append(user_data)
            user_data += 1
        ring.submit_and_wait(batch)
        got += [completion[0] for completion in ring.completions()]
    assert got == expected


def test_reused_user_data_in_flight_is_refused(ring: Ring) -> None:
    ring.prep_nop(5)
    with pytest.raises(ValueError, match="already in flight"):
        ring.prep_nop(5)
    with pytest.raises(ValueError, match="distinct"):
        ring.prep_async_cancel(6, 6)
    assert result(ring, 5) == 0
    ring.prep_nop(5)  # fine once the first one completed
    assert result(ring, 5) == 0


def test_timed_wait_times_out_without_error(ring: Ring) -> None:
    start = time.monotonic()
    assert ring.submit_and_wait(1, 0.05) == 0
    elapsed = time.monotonic() - start
    assert 0.04 <= elapsed < 2
    assert ring.completions() == []
    assert ring.submit_and_wait(1, 0) == 0  # a zero timeout polls


def test_signal_interrupts_a_wait_without_error(ring: Ring) -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        start = time.monotonic()
        assert ring.submit_and_wait(1, 5.0) == 0
        assert time.monotonic() - start < 4
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == [signal.SIGALRM]


def test_no_syscall_needed_when_idle(ring: Ring) -> None:
    assert ring.submit_and_wait() == 0
    assert not ring.has_completions()


# ------------------------------------------------------------------ files


def test_read_and_write_a_file_at_offsets(ring: Ring, tmp_path: Path) -> None:
    path = tmp_path / "data"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        ring.prep_write(1, fd, b"hello", 0)
        ring.prep_write(2, fd, bytearray(b"world"), 100)
        done = wait_for(ring, 1, 2)
        assert done[1][1] == 5 and done[2][1] == 5
        assert os.pread(fd, 5, 0) == b"hello"
        assert os.pread(fd, 5, 100) == b"world"
        assert os.fstat(fd).st_size == 105

        buf = bytearray(5)
        ring.prep_read(3, fd, buf, 100)
        assert result(ring, 3) == 5
        assert buf == b"world"

        # A part of a buffer, a read-only view of bytes, and a pooled (pinned) buffer.
        ring.prep_write(4, fd, memoryview(b"..abcdef..")[2:8], 50)
        assert result(ring, 4) == 6
        pinned = Pinned(bytearray(16))
        ring.prep_read(5, fd, pinned, 50, start=4, length=6)
        assert result(ring, 5) == 6
        assert pinned.obj == bytearray(4) + b"abcdef" + bytearray(6)
        ring.prep_read(6, fd, pinned, 0, length=5)
        assert result(ring, 6) == 5
        assert bytes(memoryview(pinned.obj)[:5]) == b"hello"

        # offset -1: the file position, which advances.
        os.lseek(fd, 0, os.SEEK_SET)
        first, second = bytearray(3), bytearray(2)
        ring.prep_read(7, fd, first)
        assert result(ring, 7) == 3
        ring.prep_read(8, fd, second)
        assert result(ring, 8) == 2
        assert first + second == b"hello"
        assert os.lseek(fd, 0, os.SEEK_CUR) == 5

        # Reading past the end gives 0.
        ring.prep_read(9, fd, bytearray(10), 1000)
        assert result(ring, 9) == 0
    finally:
        os.close(fd)


def test_readv_writev(ring: Ring, tmp_path: Path) -> None:
    fd = os.open(tmp_path / "v", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        ring.prep_writev(1, fd, [b"abc", bytearray(b"defg"), memoryview(b"hij")], 0)
        assert result(ring, 1) == 10
        parts = [bytearray(4), bytearray(6)]
        ring.prep_readv(2, fd, parts, 0)
        assert result(ring, 2) == 10
        assert parts == [b"abcd", b"efghij"]
    finally:
        os.close(fd)


def test_span_bounds_are_checked(ring: Ring) -> None:
    with pytest.raises(ValueError):
        ring.prep_read(1, 0, bytearray(4), start=5)
    with pytest.raises(ValueError):
        ring.prep_write(1, 0, b"abcd", start=2, length=3)
    with pytest.raises(TypeError):
        ring.prep_read(1, 0, b"read-only")  # bytes pass as a Buffer statically, refused at run time
    with pytest.raises(TypeError):
        ring.prep_read(1, 0, Pinned(b"read-only"))
    assert ring.in_flight == 0


def test_failed_op_returns_negative_errno(ring: Ring) -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    ring.prep_read(1, r, bytearray(10), 0)  # a closed descriptor
    assert result(ring, 1) == -errno.EBADF
    ring.prep_openat2(2, AT_FDCWD, "/nonexistent/eio/path", os.O_RDONLY | os.O_CLOEXEC)
    assert result(ring, 2) == -errno.ENOENT


def test_openat2_resolve_beneath(ring: Ring, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside.txt").write_bytes(b"inside")
    (tmp_path / "outside.txt").write_bytes(b"outside")
    (root / "escape").symlink_to("../outside.txt")
    (root / "absolute").symlink_to(tmp_path / "outside.txt")
    dirfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        flags = os.O_RDONLY | os.O_CLOEXEC
        ring.prep_openat2(1, dirfd, "../outside.txt", flags, resolve=RESOLVE_BENEATH)
        ring.prep_openat2(2, dirfd, str(tmp_path / "outside.txt"), flags, resolve=RESOLVE_BENEATH)
        ring.prep_openat2(3, dirfd, "escape", flags, resolve=RESOLVE_BENEATH)
        ring.prep_openat2(4, dirfd, b"absolute", flags, resolve=RESOLVE_BENEATH)
        ring.prep_openat2(5, dirfd, "inside.txt", flags, resolve=RESOLVE_BENEATH)
        done = wait_for(ring, 1, 2, 3, 4, 5)
        for user_data in (1, 2, 3, 4):
            assert done[user_data][1] == -errno.EXDEV, user_data
        fd = done[5][1]
        assert fd >= 0
        assert os.read(fd, 100) == b"inside"
        assert os.get_inheritable(fd) is False
        ring.prep_close(6, fd)
        assert result(ring, 6) == 0
        with pytest.raises(OSError):
            os.fstat(fd)
        # Without RESOLVE_BENEATH the symlink is followed.
        ring.prep_openat2(7, dirfd, "escape", flags)
        fd = result(ring, 7)
        assert os.read(fd, 100) == b"outside"
        os.close(fd)
        # openat2 is strict about a mode without O_CREAT.
        ring.prep_openat2(8, dirfd, "inside.txt", flags, mode=0o644)
        assert result(ring, 8) == -errno.EINVAL
    finally:
        os.close(dirfd)


def test_path_with_nul_is_refused(ring: Ring) -> None:
    with pytest.raises(ValueError, match="null"):
        ring.prep_openat2(1, AT_FDCWD, "a\0b", os.O_RDONLY)
    assert ring.in_flight == 0


def test_statx_gives_the_size(ring: Ring, tmp_path: Path) -> None:
    path = tmp_path / "sized"
    path.write_bytes(b"x" * 12345)
    info = Statx()
    ring.prep_statx(1, AT_FDCWD, path, info)
    assert result(ring, 1) == 0
    expected = os.stat(path)
    assert info.size == 12345
    assert stat.S_ISREG(info.mode)
    assert info.ino == expected.st_ino
    assert info.mtime_ns == expected.st_mtime_ns
    assert info.nlink == 1
    assert info.uid == expected.st_uid

    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        again = Statx()
        ring.prep_statx(2, fd, "", again, AT_EMPTY_PATH)
        assert result(ring, 2) == 0
        assert again.size == 12345
    finally:
        os.close(fd)
    ring.prep_statx(3, AT_FDCWD, tmp_path / "missing", Statx())
    assert result(ring, 3) == -errno.ENOENT


def test_directory_operations(ring: Ring, tmp_path: Path) -> None:
    dirfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        ring.prep_mkdirat(1, dirfd, "sub", 0o755)
        assert result(ring, 1) == 0
        assert (tmp_path / "sub").is_dir()
        (tmp_path / "file").write_bytes(b"f")
        ring.prep_renameat(2, dirfd, "file", dirfd, "sub/renamed")
        assert result(ring, 2) == 0
        assert (tmp_path / "sub" / "renamed").read_bytes() == b"f"
        ring.prep_symlinkat(3, "sub/renamed", dirfd, "link")
        assert result(ring, 3) == 0
        assert os.readlink(tmp_path / "link") == "sub/renamed"
        ring.prep_linkat(4, dirfd, "sub/renamed", dirfd, "hard")
        assert result(ring, 4) == 0
        assert os.stat(tmp_path / "hard").st_nlink == 2
        ring.prep_unlinkat(5, dirfd, "sub", 0)
        assert result(ring, 5) == -errno.EISDIR
        for user_data, name in ((6, "link"), (7, "hard"), (8, "sub/renamed")):
            ring.prep_unlinkat(user_data, dirfd, name)
            assert result(ring, user_data) == 0
        ring.prep_unlinkat(9, dirfd, "sub", AT_REMOVEDIR)
        assert result(ring, 9) == 0
        assert os.listdir(tmp_path) == []
    finally:
        os.close(dirfd)


def test_fsync_and_splice(ring: Ring, tmp_path: Path) -> None:
    fd = os.open(tmp_path / "s", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    r, w = os.pipe()
    try:
        os.write(w, b"through a pipe")
        ring.prep_splice(1, r, -1, fd, 0, 14)
        assert result(ring, 1) == 14
        ring.prep_fsync(2, fd)
        ring.prep_fsync(3, fd, datasync=True)
        done = wait_for(ring, 2, 3)
        assert done[2][1] == 0 and done[3][1] == 0
        assert os.pread(fd, 100, 0) == b"through a pipe"
    finally:
        for each in (fd, r, w):
            os.close(each)


# ---------------------------------------------------------------- sockets


def test_socketpair_send_recv_exact_bytes(ring: Ring) -> None:
    a, b = socket.socketpair()
    with a, b:
        payload = bytes(range(256)) * 4
        ring.prep_send(1, a.fileno(), payload, socket.MSG_NOSIGNAL)
        assert result(ring, 1) == len(payload)
        buf = bytearray(2048)
        ring.prep_recv(2, b.fileno(), buf)
        assert result(ring, 2) == len(payload)
        assert buf[: len(payload)] == payload

        # A recv that must wait (nothing sent yet), then a partial send from a view.
        small = bytearray(10)
        ring.prep_recv(3, b.fileno(), small, start=2, length=5)
        ring.submit_and_wait(0)
        assert not ring.has_completions()
        ring.prep_send(4, a.fileno(), memoryview(b"--12345--")[2:7])
        done = wait_for(ring, 3, 4)
        assert done[3][1] == 5 and done[4][1] == 5
        assert small == b"\0\0" + b"12345" + b"\0\0\0"

        ring.prep_shutdown(5, a.fileno(), socket.SHUT_WR)
        assert result(ring, 5) == 0
        ring.prep_recv(6, b.fileno(), bytearray(10))
        assert result(ring, 6) == 0  # end of stream


def test_recv_into_a_view_keeps_its_memory_until_completion(ring: Ring) -> None:
    a, b = socket.socketpair()
    with a, b:
        backing = bytearray(12)
        view = memoryview(backing)[3:8]
        ring.prep_recv_into(1, b.fileno(), view, True)  # POLL_FIRST: nothing is there yet
        ring.submit_and_wait(0)
        assert not ring.has_completions()
        view.release()  # the caller lets go of its view: the ring still holds the memory
        with pytest.raises(BufferError):
            backing.extend(b"resizing would move the memory the kernel writes to")
        a.send(b"abcdefgh")
        assert result(ring, 1) == 5
        assert backing == b"\0\0\0abcde\0\0\0\0"
        backing.extend(b"!")  # released with the op's own completion
        with pytest.raises(ValueError, match="already in flight"):
            ring.prep_recv_into(2, b.fileno(), bytearray(4), False)
            ring.prep_recv_into(2, b.fileno(), bytearray(4), False)
        with pytest.raises(TypeError, match="writable"):
            ring.prep_recv_into(3, b.fileno(), memoryview(b"read-only"), False)
        assert result(ring, 2) == 3  # "fgh" was left over
        a.shutdown(socket.SHUT_WR)
        ring.prep_recv_into(4, b.fileno(), bytearray(4), False)
        assert result(ring, 4) == 0  # end of stream


def test_view_addresses_match_ctypes() -> None:
    import ctypes

    from eio_backend_uring._pin import MEMORYVIEW_BUF_OFFSET, pin_writable, writable_view_address

    assert MEMORYVIEW_BUF_OFFSET  # CPython on Linux: the fast path is in use
    backing = bytearray(100)
    for buf in (backing, memoryview(backing), memoryview(backing)[7:42], memoryview(backing).cast("I")[2:5]):
        want = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        fast = writable_view_address(buf)
        assert fast is not None and fast[:2] == (want, memoryview(buf).nbytes)
        assert pin_writable(buf)[:2] == fast[:2]
    assert writable_view_address(memoryview(backing)[::2]) is None  # not contiguous: pin_writable says why
    with pytest.raises(TypeError):
        pin_writable(memoryview(backing)[::2])
    assert writable_view_address(memoryview(b"read-only")) is None
    assert writable_view_address(bytearray()) is None


def test_poll_add(ring: Ring) -> None:
    a, b = socket.socketpair()
    with a, b:
        ring.prep_poll_add(1, b.fileno(), select.POLLIN)
        ring.submit_and_wait(0)
        assert not ring.has_completions()
        a.send(b"x")
        assert result(ring, 1) & select.POLLIN


def test_multishot_poll_stays_in_flight_until_its_last_completion(ring: Ring) -> None:
    a, b = socket.socketpair()
    with a, b:
        ring.prep_poll_add(1, b.fileno(), select.POLLIN, multishot=True)
        ring.submit_and_wait(0)
        a.send(b"x")
        first = wait_for(ring, 1)[1]
        assert first[1] & select.POLLIN and first[2] & _ring.IORING_CQE_F_MORE
        assert ring.in_flight == 1  # more to come: still registered
        ring.prep_poll_remove(2, 1)
        got: list[Completion] = []
        deadline = time.monotonic() + 5
        while ring.in_flight and time.monotonic() < deadline:
            ring.submit_and_wait(1, 1.0)
            got += ring.completions()
        last = [completion for completion in got if completion[0] == 1][-1]
        assert last[1] == -errno.ECANCELED and not last[2] & _ring.IORING_CQE_F_MORE
        assert (2, 0, 0) in got


def test_cancel_pending_recv_keeps_buffer_until_its_own_completion(ring: Ring) -> None:
    a, b = socket.socketpair()
    with a, b:
        buf = WeakableBuffer(64)
        alive = weakref.ref(buf)
        ring.prep_recv(1, b.fileno(), buf)
        with pytest.raises(BufferError):
            buf.extend(b"resizing would move the memory the kernel writes to")
        del buf  # the caller forgets it: the ring must keep it
        ring.submit_and_wait(0)
        gc.collect()
        assert alive() is not None

        # A cancel that finds nothing completes on its own; the buffer stays.
        ring.prep_async_cancel(2, 999)
        assert result(ring, 2) == -errno.ENOENT
        gc.collect()
        assert alive() is not None

        ring.prep_async_cancel(3, 1)
        order: list[tuple[int, int, bool]] = []

        def on_completion(user_data: int, res: int, flags: int) -> None:
            gc.collect()
            order.append((user_data, res, alive() is not None))

        deadline = time.monotonic() + 5
        while len(order) < 2 and time.monotonic() < deadline:
            ring.submit_and_wait(1, 1.0)
            ring.reap(on_completion)
        results = {user_data: res for user_data, res, _alive in order}
        assert results == {1: -errno.ECANCELED, 3: 0}
        for user_data, _res, is_alive in order:
            if user_data == 3 and order[0][0] == 3:
                assert is_alive  # the cancel's completion came first: still pinned
            if user_data == 1:
                assert not is_alive  # released with its own completion
        assert alive() is None


def test_tcp_accept_connect_with_addresses(ring: Ring) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with listener, client:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        peer = SockAddrBuf()
        ring.prep_accept(1, listener.fileno(), peer=peer)
        ring.prep_connect(2, client.fileno(), encode_sockaddr(socket.AF_INET, listener.getsockname()))
        done = wait_for(ring, 1, 2)
        assert done[2][1] == 0
        fd = done[1][1]
        assert fd >= 0
        try:
            assert peer.address() == client.getsockname()
            assert os.get_inheritable(fd) is False
            client.send(b"ping")
            data = bytearray(4)
            ring.prep_recv(3, fd, data)
            assert result(ring, 3) == 4 and data == b"ping"
        finally:
            os.close(fd)


def test_udp_sendmsg_recvmsg_with_addresses(ring: Ring) -> None:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        receiver = socket.socket(family, socket.SOCK_DGRAM)
        sender = socket.socket(family, socket.SOCK_DGRAM)
        with receiver, sender:
            try:
                receiver.bind((host, 0))
            except OSError:  # no IPv6 here
                continue
            sender.bind((host, 0))
            msg = MsgHdr()
            buf = bytearray(100)
            ring.prep_recvmsg(1, receiver.fileno(), buf, msg)
            destination = encode_sockaddr(family, receiver.getsockname())
            ring.prep_sendmsg(2, sender.fileno(), b"datagram", destination)
            done = wait_for(ring, 1, 2)
            assert done[2][1] == 8
            assert done[1][1] == 8
            assert buf[:8] == b"datagram"
            assert msg.address() == sender.getsockname()
            assert msg.flags & socket.MSG_TRUNC == 0

            # A datagram too big for the buffer is truncated and says so.
            small = bytearray(4)
            ring.prep_recvmsg(3, receiver.fileno(), small, msg)
            ring.prep_sendmsg(4, sender.fileno(), b"0123456789", destination)
            done = wait_for(ring, 3, 4)
            assert done[3][1] == 4 and small == b"0123"
            assert msg.flags & socket.MSG_TRUNC


def test_sockaddr_round_trips() -> None:
    for family, address in (
        (socket.AF_INET, ("10.1.2.3", 8080)),
        (socket.AF_INET6, ("fe80::1", 443, 0, 2)),
        (socket.AF_UNIX, "/tmp/some.sock"),
        (socket.AF_UNIX, b"\0abstract"),
    ):
        assert decode_sockaddr(encode_sockaddr(family, address)) == address
    assert decode_sockaddr(encode_sockaddr(socket.AF_INET6, ("::1", 5))) == ("::1", 5, 0, 0)


# --------------------------------------------------------------- timeouts


def test_timeouts(ring: Ring) -> None:
    start = time.monotonic()
    ring.prep_timeout(1, 0.05)
    assert result(ring, 1) == -errno.ETIME
    assert time.monotonic() - start >= 0.04

    ring.prep_timeout(2, time.monotonic() + 0.05, flags=IORING_TIMEOUT_ABS)
    assert result(ring, 2) == -errno.ETIME

    ring.prep_timeout(3, 10, count=1)  # satisfied by one other completion
    ring.prep_nop(4)
    done = wait_for(ring, 3, 4)
    assert done[3][1] == 0

    ring.prep_timeout(5, 10)
    ring.submit_and_wait(0)
    ring.prep_timeout_remove(6, 5)
    done = wait_for(ring, 5, 6)
    assert done[5][1] == -errno.ECANCELED and done[6][1] == 0


# ---------------------------------------------------------- reap, closing


def test_reap_keeps_undelivered_completions_when_the_callback_raises(ring: Ring) -> None:
    for user_data in range(5):
        ring.prep_nop(user_data)
    ring.submit_and_wait(5)
    delivered: list[int] = []

    def failing(user_data: int, res: int, flags: int) -> None:
        delivered.append(user_data)
        if user_data == 1:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ring.reap(failing)
    assert delivered == [0, 1]
    assert ring.has_completions()
    assert [c[0] for c in ring.completions()] == [2, 3, 4]


def test_close_is_idempotent_and_leaks_no_fd() -> None:
    gc.collect()
    before = open_fds()
    ring = Ring(32)
    assert len(open_fds()) > len(before)
    ring.prep_nop(1)
    ring.submit_and_wait(1)
    ring.completions()
    ring.close()
    ring.close()
    assert ring.closed
    with pytest.raises(ValueError):
        ring.submit_and_wait()
    assert open_fds() == before


def test_close_with_operations_in_flight(tmp_path: Path) -> None:
    gc.collect()
    before = open_fds()
    a, b = socket.socketpair()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    with a, b, listener:
        ring = Ring(8)
        buf = WeakableBuffer(32)
        alive = weakref.ref(buf)
        ring.prep_recv(1, b.fileno(), buf)
        ring.prep_accept(2, listener.fileno())
        ring.prep_timeout(3, 60)
        ring.submit_and_wait(0)
        ring.prep_recv(4, a.fileno(), bytearray(8))  # queued, never submitted
        del buf
        ring.close()
        assert ring.in_flight == 0
        gc.collect()
        assert alive() is None  # cancelled, completed, released
    assert open_fds() == before


def test_unclosed_ring_warns() -> None:
    ring = Ring(4)
    with pytest.warns(ResourceWarning):
        del ring
        gc.collect()


def test_setup_flags_are_checked() -> None:
    with pytest.raises(ValueError):
        Ring(8, _ring.IORING_SETUP_SQPOLL)
    with Ring(8, _ring.IORING_SETUP_SINGLE_ISSUER | _ring.IORING_SETUP_DEFER_TASKRUN, cq_entries=64) as ring:
        assert ring.cq_entries == 64
        ring.prep_nop(1)
        assert result(ring, 1) == 0


@pytest.mark.parametrize("taskrun_flag", [False, True], ids=["plain", "taskrun-flag"])
def test_a_deferred_taskrun_ring_delivers_without_a_blocking_wait(taskrun_flag: bool) -> None:
    # Its completions are posted only inside io_uring_enter(GETEVENTS): a non-blocking look must enter
    # when work is pending. With TASKRUN_FLAG the kernel says so in the SQ flags (no entry otherwise).
    flags = _ring.IORING_SETUP_SINGLE_ISSUER | _ring.IORING_SETUP_DEFER_TASKRUN
    if taskrun_flag:
        flags |= _ring.IORING_SETUP_TASKRUN_FLAG
    r, w = os.pipe()
    try:
        with Ring(8, flags) as ring:
            buf = bytearray(4)
            ring.prep_read(1, r, buf)
            assert ring.submit_nowait() == []
            os.write(w, b"ping")
            got: list[Completion] = []
            deadline = time.monotonic() + 5
            while not got and time.monotonic() < deadline:
                got = ring.submit_nowait()
            assert got == [(1, 4, 0)]
            assert buf == b"ping"
    finally:
        os.close(r)
        os.close(w)


def test_renameat_accepts_at_fdcwd(tmp_path: Path) -> None:
    """AT_FDCWD is negative; the SQE field holding the new dirfd is unsigned."""
    import os as _os

    old = _os.path.join(_os.fspath(tmp_path), "a")
    new = _os.path.join(_os.fspath(tmp_path), "b")
    with open(old, "w") as f:
        f.write("x")
    dirfd = _os.open(_os.fspath(tmp_path), _os.O_RDONLY)
    try:
        with Ring(8) as ring:
            ring.prep_renameat(1, dirfd, "a", -100, new)
            ring.submit_and_wait(1)
            ((ud, res, _),) = ring.completions()
    finally:
        _os.close(dirfd)
    assert (ud, res) == (1, 0)
    assert _os.path.exists(new) and not _os.path.exists(old)
