"""Bad arguments get clear errors and change nothing.

Every public function of eio.Path, eio.flow, eio.net, eio.file and
eio.process checks its arguments before doing anything: a `TypeError` or
`ValueError` whose message names the function and the argument, and no file
created, no socket opened, no name looked up, no child started. The network
and flow checks run on every backend against mocks that trace every call
(so "nothing was done" is an empty trace); the path checks run against a real
temporary directory on the io_uring backend.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path as StdPath
from typing import Any

import eio
import eio.net
import pytest
from conftest import BACKENDS, Runner, Trace
from eio.net import LOOPBACK_V4, Tcp, Udp, Unix

import eio_mock


class Sneaky(str):
    """A str whose comparisons always say yes."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __contains__(self, item: object) -> bool:
        return False


class LyingInt(int):
    """An int whose comparisons always say yes."""

    def __lt__(self, other: object) -> bool:
        return False

    def __le__(self, other: object) -> bool:
        return True

    def __gt__(self, other: object) -> bool:
        return False

    def __ge__(self, other: object) -> bool:
        return True


# -- eio.Path (io_uring, a real directory) ----------------------------------------------

has_uring = any(name == "uring" for name, _ in BACKENDS)
uring_only = pytest.mark.skipif(not has_uring, reason="io_uring is unavailable")


@pytest.fixture
def sandbox(tmp_path: StdPath, monkeypatch: pytest.MonkeyPatch) -> Iterator[StdPath]:
    monkeypatch.chdir(tmp_path)
    fds = sorted(os.listdir("/proc/self/fd"))
    yield tmp_path
    assert sorted(os.listdir("/proc/self/fd")) == fds


def run_in_cwd(fn: Callable[[eio.Path], Awaitable[None]]) -> None:
    from eio_backend_uring._fs import cwd_dir
    from eio_backend_uring._run import run_plain

    run_plain(lambda: fn(eio.Path(cwd_dir())))


BAD_PERMS: list[tuple[object, type[Exception], str]] = [
    (-1, ValueError, "-1"),
    (1 << 70, ValueError, str(1 << 70)),
    (0o10000, ValueError, str(0o10000)),
    ("644", TypeError, "'644'"),
    (6.0, TypeError, "6.0"),
    (True, TypeError, "True"),
    (None, TypeError, "None"),
    (LyingInt(-5), ValueError, "-5"),
]


@uring_only
@pytest.mark.parametrize(("perm", "error", "shown"), BAD_PERMS)
def test_a_bad_perm_is_refused_before_anything_is_created(
    sandbox: StdPath, perm: object, error: type[Exception], shown: str
) -> None:
    async def main(cwd: eio.Path) -> None:
        calls: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("save", lambda: (cwd / "f").save(b"data", perm=perm)),  # pyright: ignore[reportArgumentType] - the error tested
            ("mkdir", lambda: (cwd / "d").mkdir(perm=perm)),  # pyright: ignore[reportArgumentType] - the error tested
            ("mkdirs", lambda: (cwd / "a" / "b").mkdirs(perm=perm)),  # pyright: ignore[reportArgumentType] - the error tested
        ]
        for name, call in calls:
            with pytest.raises(error, match=rf"^eio.Path.{name}: perm must be an int in 0..0o7777, got {shown}$"):
                await call()
        with pytest.raises(error, match=rf"^eio.Path.open_out: perm must be an int in 0..0o7777, got {shown}$"):
            (cwd / "f").open_out(perm=perm)  # pyright: ignore[reportArgumentType] - the error tested

    run_in_cwd(main)
    assert os.listdir(sandbox) == []


@uring_only
def test_saving_bad_data_creates_no_file_and_a_retry_works(sandbox: StdPath) -> None:
    async def main(cwd: eio.Path) -> None:
        with pytest.raises(TypeError, match=r"^eio.Path.save: data must be a str or a bytes-like object, got int$"):
            await (cwd / "f").save(123)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.Path.save: data must be a str or a bytes-like object, got list$"):
            await (cwd / "f").save([b"a"])  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(UnicodeEncodeError):
            await (cwd / "f").save("\ud800")  # a lone surrogate can't be encoded: found before opening
        assert os.listdir(sandbox) == []
        await (cwd / "f").save("retry")  # create="exclusive": no leftover file in the way
        await (cwd / "g").save(memoryview(b"view"))
        await (cwd / "h").save(Sneaky("sneaky"))

    run_in_cwd(main)
    assert {n: (sandbox / n).read_bytes() for n in sorted(os.listdir(sandbox))} == {
        "f": b"retry",
        "g": b"view",
        "h": b"sneaky",
    }


@uring_only
def test_bad_create_append_and_flags_are_refused(sandbox: StdPath) -> None:
    async def main(cwd: eio.Path) -> None:
        f = cwd / "f"
        with pytest.raises(ValueError, match=r"^eio.Path.save: create must be one of .*, not 'always'$"):
            await f.save(b"x", create="always")  # pyright: ignore[reportArgumentType] - the error tested
        # A str that claims to equal every mode is not taken for one.
        with pytest.raises(ValueError, match=r"^eio.Path.save: create must be one of .*, not 'truncate-me'$"):
            await f.save(b"x", create=Sneaky("truncate-me"))  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(ValueError, match=r"^eio.Path.open_out: create must be one of .*, not None$"):
            f.open_out(create=None)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.Path.save: append must be True or False, got 'yes'$"):
            await f.save(b"x", append="yes")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.Path.open_out: append must be True or False, got 1$"):
            f.open_out(append=1)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.Path.mkdirs: exists_ok must be True or False, got None$"):
            await (cwd / "d").mkdirs(exists_ok=None)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.Path.stat: follow must be True or False, got 'no'$"):
            await f.stat(follow="no")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.Path.unlink: missing_ok must be True or False, got 0$"):
            await f.unlink(missing_ok=0)  # pyright: ignore[reportArgumentType] - the error tested
        # A Sneaky mode that really is a mode's text is taken as that mode.
        await f.save(b"ok", create=Sneaky("exclusive"))  # pyright: ignore[reportArgumentType] - a str subclass

    run_in_cwd(main)
    assert os.listdir(sandbox) == ["f"] and (sandbox / "f").read_bytes() == b"ok"


@uring_only
def test_rename_wants_a_path(sandbox: StdPath) -> None:
    (sandbox / "f").write_text("data")

    async def main(cwd: eio.Path) -> None:
        with pytest.raises(
            TypeError, match=r"^eio.Path.rename: dst must be an eio.Path \(such as env.cwd / 'new'\), got str$"
        ):
            await (cwd / "f").rename("g")  # pyright: ignore[reportArgumentType] - the error tested
        await (cwd / "f").rename(cwd / "g")

    run_in_cwd(main)
    assert os.listdir(sandbox) == ["g"]


@uring_only
def test_path_of_none_is_not_the_directory(sandbox: StdPath) -> None:
    async def main(cwd: eio.Path) -> None:
        with pytest.raises(TypeError, match=r"^eio.Path: path must be a str or os.PathLike\[str\], got NoneType$"):
            eio.Path(cwd.dir, None)  # pyright: ignore[reportArgumentType] - the error tested
        assert str(eio.Path(cwd.dir)) == "<cwd>"

    run_in_cwd(main)


# -- eio.flow (every backend) -------------------------------------------------------------


def test_copy_string_takes_only_text_or_bytes(run: Runner) -> None:
    async def main() -> None:
        out = bytearray()
        sink = eio.flow.buffer_sink(out)
        with pytest.raises(TypeError, match=r"^eio.flow.copy_string: data must be a str or a bytes-like object, got int$"):
            await eio.flow.copy_string(123, sink)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.flow.string_source: data must be a str or a bytes-like object, got list$"):
            eio.flow.string_source([1, 2])  # pyright: ignore[reportArgumentType] - the error tested
        assert out == b""
        await eio.flow.copy_string(Sneaky("text "), sink)
        await eio.flow.copy_string(bytearray(b"bytes "), sink)
        await eio.flow.copy_string(memoryview(b"view"), sink)
        assert out == b"text bytes view"

    run(main)


def test_write_and_read_name_bad_buffers(run: Runner) -> None:
    async def main() -> None:
        out = bytearray()
        sink = eio.flow.buffer_sink(out)
        with pytest.raises(
            TypeError, match=r"^eio.flow.write: bufs must be a list of buffers \(such as \[data\]\), got bytes$"
        ):
            await eio.flow.write(sink, b"abc")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.flow.write: each buffer must be a bytes-like object, got str$"):
            await eio.flow.write(sink, [b"ok", "text"])  # pyright: ignore[reportArgumentType] - the error tested
        assert out == b""
        src = eio.flow.string_source(b"data")
        with pytest.raises(TypeError, match=r"^single_read: the buffer must be a writable bytes-like object, got int$"):
            await eio.flow.single_read(src, 5)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^read_exact: the buffer is read-only$"):
            await eio.flow.read_exact(src, memoryview(b"1234"))
        assert await eio.flow.read_all(src) == b"data"  # nothing was consumed

    run(main)


class RecordingShutdown:
    def __init__(self) -> None:
        self.calls: list[object] = []

    async def shutdown(self, how: eio.flow.ShutdownCommand, /) -> None:
        self.calls.append(how)


def test_shutdown_takes_only_a_real_command(run: Runner) -> None:
    flow = RecordingShutdown()

    async def main() -> None:
        with pytest.raises(ValueError, match=r"^shutdown: 'both' is not one of 'receive', 'send', 'all'$"):
            await eio.flow.shutdown(flow, Sneaky("both"))  # pyright: ignore[reportArgumentType] - the error tested
        await eio.flow.shutdown(flow, Sneaky("send"))  # pyright: ignore[reportArgumentType] - a str subclass

    run(main)
    assert flow.calls == ["send"] and type(flow.calls[0]) is str


# -- eio.net (every backend: the mock network traces every call) ----------------------


def test_lookups_check_host_and_service_first(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        long_host = "a" * 300
        with pytest.raises(eio.net.AddressLookupFailed) as info:
            await eio.net.getaddrinfo(net, long_host, "80")
        assert f"eio.net.getaddrinfo: {long_host!r} is not a valid host name" in str(info.value)
        assert info.value.__notes__ == [f"looking up {long_host!r} (service '80')"]
        with pytest.raises(eio.net.AddressLookupFailed, match="is not a valid host name"):
            await eio.net.with_tcp_connect(net, "x." + "b" * 64 + ".org", "80", eio.flow.read_all)
        for service in ("99999", "65536", "-1"):
            with pytest.raises(ValueError, match=rf"^eio.net.getaddrinfo_stream: port {service} is out of range 0..65535$"):
                await eio.net.getaddrinfo_stream(net, "localhost", service)
        with pytest.raises(ValueError, match=r"^eio.net.with_tcp_connect: port 70000 is out of range 0..65535$"):
            await eio.net.with_tcp_connect(net, "localhost", "70000", eio.flow.read_all)
        with pytest.raises(TypeError, match=r"^eio.net.getaddrinfo: service must be a str \(such as '80'\), got int$"):
            await eio.net.getaddrinfo(net, "localhost", 80)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(
            TypeError, match=r"^eio.net.getaddrinfo: host must be a str \(such as 'www.example.org'\), got bytes$"
        ):
            await eio.net.getaddrinfo(net, b"localhost")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(ValueError, match=r"^eio.net.getaddrinfo: host must not contain a NUL character"):
            await eio.net.getaddrinfo(net, "local\0host")
        with pytest.raises(
            TypeError, match=r"^eio.net.getnameinfo: addr must be an eio.net.Tcp, Udp or Unix address, got tuple$"
        ):
            await eio.net.getnameinfo(net, ("127.0.0.1", 80))  # pyright: ignore[reportArgumentType] - the error tested

    run(main)
    assert trace.lines() == []  # the network was never asked


def test_sockets_check_their_arguments_first(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        tcp = Tcp(LOOPBACK_V4, 8080)
        async with eio.Switch.run() as sw:
            for backlog, error, shown in [
                (-1, ValueError, "-1"),
                (1 << 70, ValueError, str(1 << 70)),
                ("5", TypeError, "'5'"),
            ]:
                with pytest.raises(error, match=rf"^eio.net.listen: backlog must be an int in 0..2147483647, got {shown}$"):
                    await eio.net.listen(sw, net, tcp, backlog=backlog)  # pyright: ignore[reportArgumentType] - the error tested
            with pytest.raises(TypeError, match=r"^eio.net.listen: reuse_addr must be True or False, got 'yes'$"):
                await eio.net.listen(sw, net, tcp, reuse_addr="yes")  # pyright: ignore[reportArgumentType] - the error tested
            with pytest.raises(
                TypeError, match=r"^eio.net.listen: addr must be an eio.net.Tcp or eio.net.Unix address, got Udp$"
            ):
                await eio.net.listen(sw, net, Udp(LOOPBACK_V4, 53))  # pyright: ignore[reportArgumentType] - the error tested
            with pytest.raises(TypeError, match=r"got str \(eio.net.parse_sockaddr reads 'tcp:HOST:PORT'\)$"):
                await eio.net.connect(sw, net, "tcp:127.0.0.1:80")  # pyright: ignore[reportArgumentType] - the error tested
            with pytest.raises(ValueError, match=r"^eio.net.datagram_socket: addr must be .*, got 'udpv5'$"):
                await eio.net.datagram_socket(sw, net, "udpv5")  # pyright: ignore[reportArgumentType] - the error tested
            with pytest.raises(TypeError, match=r"^eio.net.datagram_socket: addr must be .*, got Tcp$"):
                await eio.net.datagram_socket(sw, net, tcp)  # pyright: ignore[reportArgumentType] - the error tested
            with pytest.raises(TypeError, match=r"^eio.net.connect: sw must be an eio.Switch, got MockNetwork$"):
                await eio.net.connect(net, net, tcp)  # pyright: ignore[reportArgumentType] - the error tested
            with pytest.raises(TypeError, match=r"^eio.net.listen: sw must be an eio.Switch, got NoneType$"):
                await eio.net.listen(None, net, tcp)  # pyright: ignore[reportArgumentType] - the error tested

    run(main)
    assert trace.lines() == []


class RecordingDatagramSocket:
    """A datagram socket that records what it is asked to do."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def send(self, bufs: Sequence[bytes | memoryview], dst: eio.net.DatagramAddr | None, /) -> None:
        self.calls.append(f"send {b''.join(bufs)!r} to {dst}")

    async def recv(self, buf: memoryview, /) -> tuple[eio.net.DatagramAddr, int]:
        self.calls.append(f"recv into {len(buf)}")
        buf[:2] = b"hi"
        return Udp(LOOPBACK_V4, 9), 2

    async def close(self) -> None:
        self.calls.append("close")


def test_datagram_send_and_recv_check_buffers(run: Runner) -> None:
    dg = RecordingDatagramSocket()

    async def main() -> None:
        with pytest.raises(TypeError, match=r"^eio.net.send: bufs must be a list of buffers \(such as \[data\]\), got bytes$"):
            await eio.net.send(dg, b"x")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.net.send: each buffer must be a bytes-like object, got str$"):
            await eio.net.send(dg, ["x"])  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(
            TypeError, match=r"^eio.net.send: dst must be an eio.net.Udp or eio.net.Unix address or None, got Tcp$"
        ):
            await eio.net.send(dg, [b"x"], Tcp(LOOPBACK_V4, 9))  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^recv: the buffer is read-only$"):
            await eio.net.recv(dg, memoryview(b"fixed"))
        with pytest.raises(ValueError, match=r"^recv: the buffer is empty"):
            await eio.net.recv(dg, bytearray())
        await eio.net.send(dg, [b"a", memoryview(bytearray(b"b"))], Udp(LOOPBACK_V4, 9))
        buf = bytearray(4)
        assert await eio.net.recv(dg, buf) == (Udp(LOOPBACK_V4, 9), 2)

    run(main)
    assert dg.calls == ["send b'ab' to udp:127.0.0.1:9", "recv into 4"]


def test_addresses_check_their_parts() -> None:
    with pytest.raises(TypeError, match=r"^Tcp: the port must be an int, not str$"):
        Tcp("127.0.0.1", "80")  # pyright: ignore[reportArgumentType] - the error tested
    with pytest.raises(ValueError, match=r"^Udp: port 70000 is out of range \(0 to 65535\)$"):
        Udp(LOOPBACK_V4, 70000)
    with pytest.raises(ValueError, match=r"^Tcp: port -5 is out of range"):
        Tcp(LOOPBACK_V4, LyingInt(-5))
    with pytest.raises(
        TypeError, match=r"^Tcp: the IP address must be an ipaddress.IPv4Address, IPv6Address or str, not int$"
    ):
        Tcp(2130706433, 80)  # pyright: ignore[reportArgumentType] - the error tested
    assert type(Tcp(LOOPBACK_V4, LyingInt(80)).port) is int

    class BytesPath:
        def __fspath__(self) -> bytes:
            return b"/tmp/sock"

    with pytest.raises(TypeError, match=r"^Unix: the path must be a str \(bytes paths are not supported\), not bytes$"):
        Unix(BytesPath())  # pyright: ignore[reportArgumentType] - the error tested
    assert type(Unix(Sneaky("/tmp/s")).path) is str
    with pytest.raises(TypeError, match=r"^eio.net.parse_sockaddr: text must be a str, got bytes$"):
        eio.net.parse_sockaddr(b"tcp:127.0.0.1:80")  # pyright: ignore[reportArgumentType] - the error tested
    assert eio.net.parse_sockaddr(Sneaky("tcp:127.0.0.1:80")) == Tcp(LOOPBACK_V4, 80)


@uring_only
def test_an_unknown_service_name_is_address_lookup_failed() -> None:
    from eio_backend_uring._net import UringNetwork
    from eio_backend_uring._run import run_plain

    async def main() -> None:
        with pytest.raises(eio.net.AddressLookupFailed) as info:
            await eio.net.getaddrinfo(UringNetwork(), "127.0.0.1", "no-such-service-name")
        assert info.value.__notes__ == ["looking up '127.0.0.1' (service 'no-such-service-name')"]

    run_plain(main)


# -- eio.file and eio.process (every backend: recording fakes) ---------------------------


class RecordingFile:
    """An `eio.file.Rw` that records every call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def single_read(self, buf: memoryview, /) -> int:
        raise eio.EndOfFile

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        raise AssertionError("not used")

    async def pread(self, file_offset: int, bufs: Sequence[memoryview], /) -> int:
        self.calls.append(f"pread at {file_offset}")
        return 1

    async def pwrite(self, file_offset: int, bufs: Sequence[bytes | memoryview], /) -> int:
        self.calls.append(f"pwrite at {file_offset}")
        return sum(len(b) for b in bufs)

    async def stat(self) -> eio.file.Stat:
        raise AssertionError("not used")

    async def seek(self, offset: int, whence: eio.file.SeekWhence, /) -> int:
        self.calls.append(f"seek {offset} {whence}")
        return offset

    async def sync(self) -> None:
        raise AssertionError("not used")

    async def truncate(self, length: int, /) -> None:
        self.calls.append(f"truncate {length}")

    async def close(self) -> None:
        pass


def test_file_functions_check_first(run: Runner) -> None:
    f = RecordingFile()

    async def main() -> None:
        with pytest.raises(TypeError, match=r"^eio.file.pread: the buffer is read-only$"):
            await eio.file.pread(f, b"fixed", file_offset=0)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.file.pread: each buffer must be a writable bytes-like object .*, got int$"):
            await eio.file.pread(f, [5], file_offset=0)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.file.pwrite_all: file_offset must be an int, got '0'$"):
            await eio.file.pwrite_all(f, b"x", file_offset="0")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(ValueError, match=r"^file_offset must not be negative \(got -1\)$"):
            await eio.file.pwrite_single(f, b"x", file_offset=-1)
        with pytest.raises(
            TypeError, match=r"^eio.file.pwrite_single: bufs must be bytes-like .*, got str \(encode it first\)$"
        ):
            await eio.file.pwrite_single(f, "text", file_offset=0)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(ValueError, match=r"^whence must be 'set', 'cur' or 'end', not 'anything'$"):
            await eio.file.seek(f, 0, Sneaky("anything"))  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.file.seek: offset must be an int, got 1.5$"):
            await eio.file.seek(f, 1.5)  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(ValueError, match=r"^length must not be negative \(got -3\)$"):
            await eio.file.truncate(f, LyingInt(-3))
        with pytest.raises(TypeError, match=r"^eio.file.truncate: length must be an int, got '3'$"):
            await eio.file.truncate(f, "3")  # pyright: ignore[reportArgumentType] - the error tested
        assert f.calls == []
        await eio.file.seek(f, 3, Sneaky("end"))  # pyright: ignore[reportArgumentType] - a str subclass
        await eio.file.truncate(f, LyingInt(7))

    run(main)
    assert f.calls == ["seek 3 end", "truncate 7"]


class RecordingManager:
    """A process manager that records every spawn."""

    def __init__(self) -> None:
        self.spawned: list[list[str]] = []

    async def spawn(self, sw: eio.Switch, args: Sequence[str], /, **options: Any) -> eio.process.Process:  # noqa: ANN401
        self.spawned.append(list(args))
        raise eio.process.ExecutableNotFound(args[0])


def test_process_options_are_checked_before_starting(run: Runner, tmp_path: StdPath) -> None:
    mgr = RecordingManager()

    async def main() -> None:
        who = "eio.process.run"
        with pytest.raises(ValueError, match=r"^an argument must not contain a NUL character: 'a\\x00b'$"):
            await eio.process.run(mgr, ["echo", "a\0b"])
        with pytest.raises(TypeError, match=rf"^{who}: cwd must be an eio.Path \(such as env.cwd / 'dir'\) or None, got str$"):
            await eio.process.run(mgr, ["ls"], cwd="/")  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=rf"^{who}: env must map str to str, got 'PATH': 5$"):
            await eio.process.run(mgr, ["ls"], env={"PATH": 5})  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(ValueError, match=rf"^{who}: env has a bad entry 'A=B': 'c'"):
            await eio.process.run(mgr, ["ls"], env={"A=B": "c"})
        with pytest.raises(TypeError, match=rf"^{who}: stdout must be a flow \(sink\) or None, got bytearray$"):
            await eio.process.run(mgr, ["ls"], stdout=bytearray())  # pyright: ignore[reportArgumentType] - the error tested
        with pytest.raises(TypeError, match=r"^eio.process.spawn: executable must be a str or os.PathLike\[str\], got int$"):
            async with eio.Switch.run() as sw:
                await eio.process.spawn(sw, mgr, ["ls"], executable=5)  # pyright: ignore[reportArgumentType] - the error tested
        assert mgr.spawned == []
        env: Mapping[str, str] = {Sneaky("K"): Sneaky("v")}
        with pytest.raises(eio.process.ExecutableNotFound):
            await eio.process.run(mgr, [Sneaky("prog")], env=env)

    run(main)
    assert mgr.spawned == [["prog"]] and all(type(a) is str for a in mgr.spawned[0])
