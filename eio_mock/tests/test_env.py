"""The whole standard environment in memory: `eio_mock.backend.run_full`."""

from __future__ import annotations

import signal
import subprocess
import sys

import eio
import eio.net
import pytest
from eio.net import LOOPBACK_V4, LOOPBACK_V6, Tcp
from eio_mock.backend import MockEnv

import eio_mock


def test_every_stdenv_attribute_is_there() -> None:
    names = ("stdin", "stdout", "stderr", "cwd", "fs", "net", "process_mgr", "domain_mgr", "clock", "mono_clock",
             "secure_random", "debug", "backend_id")  # fmt: skip

    async def main(env: MockEnv) -> list[str]:
        return [n for n in names if not hasattr(env, n)]

    assert eio_mock.backend.run_full(main) == []


# -- standard streams --------------------------------------------------------------------


def test_stdout_and_stderr_keep_and_pass_on(capsys: pytest.CaptureFixture[str]) -> None:
    async def main(env: MockEnv) -> tuple[bytes, bytes]:
        await eio.flow.copy_string("out 1\n", env.stdout)
        eio.traceln("a trace")
        await eio.flow.copy_string("err\n", env.stderr)
        await eio.flow.write(env.stdout, [b"out ", b"2\n"])
        return eio_mock.output(env.stdout), eio_mock.output(env.stderr)

    assert eio_mock.backend.run_full(main) == (b"out 1\nout 2\n", b"err\n")
    assert capsys.readouterr() == ("out 1\nout 2\n", "+a trace\nerr\n")


def test_output_of_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="^output expects a mock environment's stdout or stderr, not BufferSink$"):
        eio_mock.output(eio.flow.buffer_sink(bytearray()))


def test_stdin_reads_the_given_bytes() -> None:
    async def main(env: MockEnv) -> list[bytes]:
        r = eio.BufRead.of_flow(env.stdin, max_size=100)
        return [line async for line in r.lines()]

    assert eio_mock.backend.run_full(main, stdin=b"one\ntwo\nthree") == [b"one", b"two", b"three"]


def test_stdin_must_be_bytes() -> None:
    async def main(env: MockEnv) -> None:
        raise AssertionError("not reached")

    with pytest.raises(TypeError, match="^stdin must be bytes, not str$"):
        eio_mock.backend.run_full(main, stdin="text")  # pyright: ignore[reportArgumentType] - the error tested


def test_eio_main_with_mock_reads_the_process_stdin() -> None:
    code = (
        "import eio, eio_main\n"
        "async def main(env: eio.Stdenv) -> None:\n"
        "    data = await eio.flow.read_all(env.stdin)\n"
        "    await eio.flow.copy_string(f'{env.backend_id} got {data!r}\\n', env.stdout)\n"
        "eio_main.run(main)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=b"piped in", capture_output=True, env={"EIO_BACKEND": "mock"}, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"mock got b'piped in'\n", b"")


# -- randomness and determinism ------------------------------------------------------------


def _random_bytes(seed: int) -> bytes:
    async def main(env: MockEnv) -> bytes:
        buf = bytearray(16)
        await eio.flow.read_exact(env.secure_random, buf)
        return bytes(buf)

    return eio_mock.backend.run_full(main, seed=seed)


def test_secure_random_depends_only_on_the_seed() -> None:
    assert _random_bytes(1) == _random_bytes(1)
    assert _random_bytes(1) != _random_bytes(2)


def test_seed_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="^seed must be an int, not str$"):
        eio_mock.backend.run_full(lambda env: eio.fiber.yield_(), seed="1")  # pyright: ignore[reportArgumentType]


async def _busy_program(env: MockEnv) -> None:
    """Files, network, processes, time and randomness, all interleaved."""
    eio_mock.process.register(env.process_mgr, "date", stdout=b"Thu Jan  1 00:00:00 UTC 1970\n")

    async with eio.Switch.run() as sw:
        server = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0))

        async def handler(flow: eio.net.StreamSocket, peer: eio.net.StreamAddr) -> None:
            data = await eio.flow.read_all(flow)
            await (env.cwd / f"from-{peer}".replace(":", "_")).save(data)
            await eio.flow.copy_string(f"stored {len(data)} bytes", flow)

        eio.fiber.fork_daemon(sw, lambda: eio.net.run_server(server, handler))

        async def client(n: int) -> None:
            await eio.time.sleep(env.clock, n * 0.5)
            buf = bytearray(4)
            await eio.flow.read_exact(env.secure_random, buf)
            async with eio.Switch.run() as csw:
                flow = await eio.net.connect(csw, env.net, eio.net.listening_addr(server))
                await eio.flow.copy_string(f"client {n} {buf.hex()}", flow)
                await eio.flow.shutdown(flow, "send")
                eio.traceln(f"client {n}:", (await eio.flow.read_all(flow)).decode())

        await eio.fiber.all([lambda n=n: client(n) for n in range(3)])
        out = await eio.process.parse_out(env.process_mgr, eio.BufRead.take_all, ["date"])
        eio.traceln("date:", out.decode().strip())
        for name in await env.cwd.read_dir():
            eio.traceln(name, (await (env.cwd / name).load()).decode(), (await (env.cwd / name).stat()).mtime)


def test_same_program_and_seed_give_the_same_traces(capsys: pytest.CaptureFixture[str]) -> None:
    eio_mock.backend.run_full(_busy_program, seed=7)
    first = capsys.readouterr()
    eio_mock.backend.run_full(_busy_program, seed=7)
    assert capsys.readouterr() == first
    assert first.err.splitlines() == [
        "+client 0: stored 17 bytes",
        "+mock time is now 0.5",
        "+client 1: stored 17 bytes",
        "+mock time is now 1",
        "+client 2: stored 17 bytes",
        "+date: Thu Jan  1 00:00:00 UTC 1970",
        "+from-tcp_127.0.0.1_49153 client 0 38b4e652 0.0",
        "+from-tcp_127.0.0.1_49154 client 1 e44da7f2 0.5",
        "+from-tcp_127.0.0.1_49155 client 2 370d9e26 1.0",
    ]


# -- file system ------------------------------------------------------------------------------


def test_files_prepared_by_the_test_and_stamped_by_the_mock_clock() -> None:
    async def main(env: MockEnv) -> tuple[bytes, float, list[str]]:
        env.files.write_bytes("/etc/motd", b"hello")  # before: from outside any fiber, as os would
        await eio.time.sleep(env.clock, 3)
        await (env.fs / "/etc/motd").save("bye", create="or_truncate")
        st = await (env.fs / "/etc/motd").stat()
        return await (env.fs / "/etc/motd").load(), st.mtime, env.files.listdir("/")

    with pytest.raises(eio.fs.NotFound):
        # /etc does not exist yet: the file system starts empty.
        eio_mock.backend.run_full(main)

    async def with_etc(env: MockEnv) -> tuple[bytes, float, list[str]]:
        env.files.mkdir("/etc")
        return await main(env)

    assert eio_mock.backend.run_full(with_etc) == (b"bye", 3.0, ["etc"])


def test_the_cwd_sandbox_and_paths(capsys: pytest.CaptureFixture[str]) -> None:
    async def main(env: MockEnv) -> None:
        await (env.cwd / "a.txt").save("data")
        eio.traceln(env.cwd / "a.txt", (await (env.cwd / "a.txt").load()).decode())
        for bad in ("../x", "/etc/passwd"):
            try:
                await (env.cwd / bad).load()
            except eio.fs.PermissionDenied as ex:
                eio.traceln(type(ex).__name__, ex.__notes__)
        assert (env.cwd / "a.txt").native() is None

    eio_mock.backend.run_full(main)
    assert capsys.readouterr().err.splitlines() == [
        "+<cwd:a.txt> data",
        "+PermissionDenied ['opening <cwd:../x>']",
        "+PermissionDenied ['opening <cwd:/etc/passwd>']",
    ]


# -- network ------------------------------------------------------------------------------------


def test_connect_to_nobody_is_refused() -> None:
    async def main(env: MockEnv) -> str:
        async with eio.Switch.run() as sw:
            with pytest.raises(eio.net.ConnectionFailure) as info:
                await eio.net.connect(sw, env.net, Tcp(LOOPBACK_V6, 80))
            assert info.value.__notes__ == ["connecting to tcp:[::1]:80"]
            return info.value.reason

    assert eio_mock.backend.run_full(main) == "refused"


def test_listen_only_on_loopback_and_each_port_once() -> None:
    async def main(env: MockEnv) -> list[int | None]:
        async with eio.Switch.run() as sw:
            first = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0))
            port = eio.net.listening_addr(first)
            assert isinstance(port, Tcp) and port.port == 49152
            errors: list[int | None] = []
            for addr in (Tcp(LOOPBACK_V4, 49152), Tcp("0.0.0.0", 49152), Tcp("192.0.2.1", 80)):
                try:
                    await eio.net.listen(sw, env.net, addr)
                except eio.Io as ex:
                    errors.append(ex.errno)
            return errors

    import errno

    assert eio_mock.backend.run_full(main) == [errno.EADDRINUSE, errno.EADDRINUSE, errno.EADDRNOTAVAIL]


def test_reset_on_demand() -> None:
    async def main(env: MockEnv) -> list[str]:
        seen: list[str] = []
        async with eio.Switch.run() as sw:
            server = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0))
            client = await eio.net.connect(sw, env.net, eio.net.listening_addr(server))
            served, _ = await eio.net.accept(sw, server)
            await eio.flow.copy_string("partial", client)
            eio_mock.net.reset(served)
            for flow in (client, served):
                try:
                    await eio.flow.read_all(flow)
                except eio.net.ConnectionReset as ex:
                    seen.append(f"{ex.errno} {ex.strerror}")
        return seen

    assert eio_mock.backend.run_full(main) == ["104 Connection reset by peer"] * 2


def test_getaddrinfo_localhost() -> None:
    async def main(env: MockEnv) -> list[str]:
        return [str(a) for a in await eio.net.getaddrinfo(env.net, "localhost", "https")]

    assert eio_mock.backend.run_full(main) == ["tcp:127.0.0.1:443", "udp:127.0.0.1:443", "tcp:[::1]:443", "udp:[::1]:443"]


def test_scripted_mock_network_still_works_for_single_calls(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        net = eio_mock.net.make("mocknet")
        flow = eio_mock.flow.make("flow")
        eio_mock.net.on_connect(net, [eio_mock.Return(flow)])
        async with eio.Switch.run() as sw:
            await eio.net.connect(sw, net, Tcp(LOOPBACK_V4, 8080))

    eio_mock.backend.run(main)
    assert capsys.readouterr().err.splitlines() == ["+mocknet: connect to tcp:127.0.0.1:8080", "+flow: closed"]


# -- processes ------------------------------------------------------------------------------------


def test_scripted_commands(capsys: pytest.CaptureFixture[str]) -> None:
    async def upper(child: eio_mock.process.Child) -> int:
        data = await eio.flow.read_all(child.stdin)
        await eio.flow.write(child.stdout, [data.upper()])
        return 0 if data else 3

    async def main(env: MockEnv) -> None:
        mgr = env.process_mgr
        eio_mock.process.register(mgr, "echo", stdout=b"hello\n")
        eio_mock.process.register(mgr, "false", exit_code=1, stderr=b"it failed\n")
        eio_mock.process.register(mgr, "upper", run=upper)
        await eio.process.run(mgr, ["echo", "hello"])  # to the env's stdout
        eio.traceln(
            await eio.process.parse_out(mgr, eio.BufRead.take_all, ["/usr/bin/upper"], stdin=eio.flow.string_source(b"shout"))
        )
        try:
            await eio.process.run(mgr, ["false"])
        except eio.process.ChildError as ex:
            eio.traceln("false:", ex.status, ex.__notes__)
        try:
            await eio.process.run(mgr, ["upper"], stdin=eio.flow.string_source(b""))
        except eio.process.ChildError as ex:
            eio.traceln("upper:", ex.status)
        try:
            await eio.process.run(mgr, ["git", "status"])
        except eio.process.ExecutableNotFound as ex:
            eio.traceln("git:", type(ex).__name__, ex.filename)

    eio_mock.backend.run_full(main)
    out = capsys.readouterr()
    assert out.out == "hello\n"
    assert out.err.splitlines() == [
        "+b'SHOUT'",
        "it failed",
        "+false: Exited (code 1) ['running command: false']",
        "+upper: Exited (code 3)",
        "+git: ExecutableNotFound git",
    ]


def test_spawn_signal_and_switch_end() -> None:
    async def forever(child: eio_mock.process.Child) -> int:
        await eio.fiber.await_cancel()
        return 0

    async def main(env: MockEnv) -> list[str]:
        eio_mock.process.register(env.process_mgr, "sleep", run=forever)
        async with eio.Switch.run() as sw:
            p = await eio.process.spawn(sw, env.process_mgr, ["sleep", "inf"])
            p.signal(signal.SIGTERM)
            status = await p.await_()
            p.signal(signal.SIGINT)  # ended: nothing happens
            again = await p.await_()
            left = await eio.process.spawn(sw, env.process_mgr, ["sleep", "inf"])
        return [str(status), str(again), str(await left.await_()), str(p.pid), str(left.pid)]

    assert eio_mock.backend.run_full(main) == [
        "Signaled (SIGTERM)",
        "Signaled (SIGTERM)",
        "Signaled (SIGKILL)",
        "1000",
        "1001",
    ]


def test_a_child_directory_must_be_reachable() -> None:
    async def where(child: eio_mock.process.Child) -> int:
        await eio.flow.copy_string(f"in {child.cwd}\n", child.stdout)
        return 0

    async def main(env: MockEnv) -> list[str]:
        eio_mock.process.register(env.process_mgr, "pwd", run=where)
        await (env.cwd / "sub").mkdir()
        out = await eio.process.parse_out(env.process_mgr, eio.BufRead.take_all, ["pwd"], cwd=env.cwd / "sub")
        errors = [out.decode()]
        for bad in (env.cwd / "..", env.cwd / "missing"):
            try:
                await eio.process.run(env.process_mgr, ["pwd"], cwd=bad)
            except eio.Io as ex:
                errors.append(f"{type(ex).__name__} {ex.__notes__}")
        return errors

    assert eio_mock.backend.run_full(main) == [
        "in <cwd:sub>\n",
        "PermissionDenied ['examining <cwd:..>']",
        "NotFound ['examining <cwd:missing>']",
    ]
