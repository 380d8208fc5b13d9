"""A line-based chat server: each line a client sends goes to every other client.

The protocol: a client's first line is its name. The server answers
``* welcome <name>; here: <others>`` (or ``! <name> is taken`` and hangs
up), tells the others ``* <name> joined``, then relays each line the client
sends to everyone else as ``<name> text``. When a client leaves (its end of
the connection closes, or breaks), the others get ``* <name> left``.

Run it with ``python examples/chat.py [PORT]`` and talk to it with
``nc 127.0.0.1 PORT``: it prints the port it listens on, then serves until
its standard input ends (Ctrl-D), lets the open conversations finish and
exits. ``serve`` needs only a listening socket, so tests run it on the mock
backend's in-memory network and on a real one alike (tests/test_example_chat.py).
"""

from __future__ import annotations

import logging
import sys
from typing import Protocol

import eio
import eio.net

MAX_LINE = 4096
QUEUE = 1000  # lines waiting for a slow client before the senders wait for it


class Room:
    """The connected clients, by name: each has a queue of lines to send it."""

    def __init__(self) -> None:
        self.members: dict[str, eio.Stream[bytes | None]] = {}

    async def tell_others(self, sender: str | None, line: str) -> None:
        """Queue ``line`` for every member except ``sender``, in the order they joined."""
        data = line.encode() + b"\n"
        for name, queue in list(self.members.items()):
            if name != sender:
                await queue.add(data)


async def converse(room: Room, flow: eio.net.StreamSocket) -> None:
    """One client's whole conversation: name, welcome, relayed lines, goodbye."""
    r = eio.BufRead.of_flow(flow, initial_size=256, max_size=MAX_LINE)
    name = (await r.line()).decode(errors="replace").strip()
    if not name or name in room.members:
        await eio.flow.copy_string(f"! {name or 'an empty name'} is taken\n", flow)
        return
    others = ", ".join(room.members) or "nobody"
    queue = eio.Stream[bytes | None](QUEUE)
    room.members[name] = queue
    await eio.flow.copy_string(f"* welcome {name}; here: {others}\n", flow)
    await room.tell_others(name, f"* {name} joined")

    async def send_queued() -> None:
        while (data := await queue.take()) is not None:
            await eio.flow.write(flow, [data])

    async def relay() -> None:
        try:
            async for line in r.lines():
                await room.tell_others(name, f"<{name}> {line.decode(errors='replace')}")
        finally:
            await queue.add(None)  # the sender stops after what is queued

    try:
        await eio.fiber.both(send_queued, relay)
    except eio.Io:
        pass  # the connection broke: the client has left all the same
    finally:
        del room.members[name]
    await room.tell_others(None, f"* {name} left")


async def serve(sock: eio.net.ListeningSocket, stop: eio.Promise[None] | None = None) -> None:
    """Run the chat on ``sock`` until ``stop`` is resolved, then wait for the open conversations."""
    room = Room()

    async def handler(flow: eio.net.StreamSocket, peer: eio.net.StreamAddr) -> None:
        await converse(room, flow)

    await eio.net.run_server(sock, handler, stop=stop)


class Env(Protocol):
    """What the program uses: the network, and stdin/stdout for control."""

    @property
    def net(self) -> eio.net.Network:
        """Where to listen."""
        ...

    @property
    def stdin(self) -> eio.flow.Source:
        """Serving stops when it ends."""
        ...

    @property
    def stdout(self) -> eio.flow.Sink:
        """Where the port is printed."""
        ...


async def main(env: Env, port: int = 0) -> None:
    """Listen on 127.0.0.1:``port``, print the port, serve until stdin ends."""
    stop, stopper = eio.Promise[None].create()
    async with eio.Switch.run(name="chat") as sw:
        sock = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, port), backlog=32, reuse_addr=True)
        addr = eio.net.listening_addr(sock)
        assert isinstance(addr, eio.net.Tcp)
        await eio.flow.copy_string(f"{addr.port}\n", env.stdout)

        async def until_stdin_ends() -> None:
            await eio.flow.copy(env.stdin, eio.flow.null)
            stopper.resolve(None)

        eio.fiber.fork_daemon(sw, until_stdin_ends)
        await serve(sock, stop)


if __name__ == "__main__":
    import eio_main

    logging.basicConfig(level=logging.INFO)
    chosen = int(sys.argv[1]) if len(sys.argv) > 1 else 0

    async def start(env: eio.Stdenv) -> None:
        await main(env, chosen)

    eio_main.run(start)
