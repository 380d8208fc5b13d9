"""examples/chat.py: the same conversations on the mock's in-memory network and on every real backend.

Written as a user of eio would, with its pytest plugin: each conversation is
an ``async def`` test marked ``@pytest.mark.eio`` that takes ``env``, so it
runs once per installed backend (``[mock]`` in milliseconds, in memory;
``[uring]``, ``[trio]``, ``[asyncio]``... on real sockets), unchanged. Every
step waits for what it checks, so the transcripts are exact everywhere.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import eio
import eio.net
import pytest
from eio.net import LOOPBACK_V4, Tcp

import eio_mock

T = TypeVar("T")
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "chat.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


chat = _load()


@pytest.fixture(autouse=True)
def _no_descriptor_left_open() -> Iterator[None]:
    """Each test closes every descriptor it opened (on the mock there are none to count)."""
    before = sorted(os.listdir("/proc/self/fd"))
    yield
    assert sorted(os.listdir("/proc/self/fd")) == before


class Client:
    """A chat client: says lines, hears lines."""

    def __init__(self, flow: eio.net.StreamSocket) -> None:
        self.flow = flow
        self.reader = eio.BufRead.of_flow(flow, max_size=4096)

    @staticmethod
    async def join(sw: eio.Switch, net: eio.net.Network, addr: eio.net.StreamAddr, name: str) -> tuple[Client, str]:
        client = Client(await eio.net.connect(sw, net, addr))
        await client.say(name)
        return client, await client.hear()

    async def say(self, line: str) -> None:
        await eio.flow.copy_string(line + "\n", self.flow)

    async def hear(self) -> str:
        return (await self.reader.line()).decode()

    async def leave(self) -> None:
        await eio.flow.shutdown(self.flow, "send")
        await self.reader.end_of_input()


async def with_server(env: eio.Stdenv, body: Callable[[eio.Switch, Tcp], Awaitable[T]]) -> T:
    """Run ``body(sw, addr)`` with a chat server on ``addr``; stop the server when it returns."""
    stop, stopper = eio.Promise[None].create()
    async with eio.Switch.run() as sw:
        sock = await eio.net.listen(sw, env.net, Tcp(LOOPBACK_V4, 0), backlog=8)
        addr = eio.net.listening_addr(sock)
        assert isinstance(addr, Tcp)
        eio.fiber.fork(sw, lambda: chat.serve(sock, stop))
        try:
            return await body(sw, addr)
        finally:
            stopper.resolve(None)


@pytest.mark.eio
async def test_a_conversation(env: eio.Stdenv) -> None:
    async def talk(sw: eio.Switch, addr: Tcp) -> list[str]:
        heard: list[str] = []
        alice, welcome = await Client.join(sw, env.net, addr, "alice")
        heard.append(f"alice: {welcome}")
        bob, welcome = await Client.join(sw, env.net, addr, "bob")
        heard.append(f"bob: {welcome}")
        heard.append(f"alice: {await alice.hear()}")
        await alice.say("hi bob")
        heard.append(f"bob: {await bob.hear()}")
        await bob.say("hello alice")
        await bob.say("bye")
        heard.append(f"alice: {await alice.hear()}")
        heard.append(f"alice: {await alice.hear()}")
        await bob.leave()
        heard.append(f"alice: {await alice.hear()}")
        await alice.leave()
        return heard

    heard = await with_server(env, talk)
    assert heard == [
        "alice: * welcome alice; here: nobody",
        "bob: * welcome bob; here: alice",
        "alice: * bob joined",
        "bob: <alice> hi bob",
        "alice: <bob> hello alice",
        "alice: <bob> bye",
        "alice: * bob left",
    ]


@pytest.mark.eio
async def test_a_name_in_use_is_refused(env: eio.Stdenv) -> None:
    async def talk(sw: eio.Switch, addr: Tcp) -> list[str]:
        alice, _ = await Client.join(sw, env.net, addr, "alice")
        impostor, answer = await Client.join(sw, env.net, addr, "alice")
        rest = await impostor.reader.take_all()  # the server hung up
        nobody, empty = await Client.join(sw, env.net, addr, "")
        await alice.say("still here")
        await alice.leave()
        await nobody.reader.end_of_input()
        return [answer, rest.decode(), empty]

    heard = await with_server(env, talk)
    assert heard == ["! alice is taken", "", "! an empty name is taken"]


def _abort(flow: eio.net.StreamSocket) -> None:
    """Make the connection fail at once (the peer sees it reset)."""
    if isinstance(flow, eio_mock.loopback.MemStreamSocket):
        eio_mock.net.reset(flow)
    else:
        # Real sockets: SO_LINGER with a zero timeout makes closing send RST.
        getattr(flow, "setsockopt")(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.eio
async def test_a_broken_connection_is_a_departure(env: eio.Stdenv) -> None:
    async def talk(sw: eio.Switch, addr: Tcp) -> list[str]:
        alice, _ = await Client.join(sw, env.net, addr, "alice")
        bob, _ = await Client.join(sw, env.net, addr, "bob")
        joined = await alice.hear()
        _abort(bob.flow)
        await bob.flow.close()
        left = await alice.hear()
        await alice.leave()
        return [joined, left]

    heard = await with_server(env, talk)
    assert heard == ["* bob joined", "* bob left"]


@pytest.mark.eio
async def test_many_clients_hear_everyone_in_order(env: eio.Stdenv) -> None:
    async def talk(sw: eio.Switch, addr: Tcp) -> list[list[str]]:
        names = [f"c{i}" for i in range(5)]
        clients: list[Client] = []
        for name in names:
            client, _ = await Client.join(sw, env.net, addr, name)
            for earlier in clients:
                assert await earlier.hear() == f"* {name} joined"
            clients.append(client)
        for client, name in zip(clients, names, strict=True):
            await client.say(f"I am {name}")
            for other in clients:
                if other is not client:
                    assert await other.hear() == f"<{name}> I am {name}"
        heard: list[list[str]] = []
        for i, client in enumerate(clients):
            await client.leave()
            heard.append([await other.hear() for other in clients[i + 1 :]])
        return heard

    heard = await with_server(env, talk)
    assert heard == [["* c0 left"] * 4, ["* c1 left"] * 3, ["* c2 left"] * 2, ["* c3 left"], []]


def test_the_program_on_the_mock_stops_when_stdin_ends() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        input="",
        capture_output=True,
        text=True,
        env={**os.environ, "EIO_BACKEND": "mock"},
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "49152\n", "")


def test_the_program_in_process_on_the_mock() -> None:
    async def main(env: eio_mock.backend.MockEnv) -> None:
        await chat.main(env)

    env = eio_mock.backend.new_env(b"", echo=False)
    eio_mock.backend.run_env(main, env)
    assert eio_mock.output(env.stdout) == b"49152\n"
