"""Porting from asyncio, step 2: the client moves to eio; the server is still asyncio.

The client gets the network as a capability (``env.net``) instead of
reaching for it, its connection belongs to a switch (closed when the switch
ends: no ``close``/``wait_closed`` to forget), and lines are read with a
`eio.BufRead`. The asyncio server is started and stopped with `run_asyncio`.
"""

from __future__ import annotations

import asyncio

import eio
import eio.net

import eio_backend_asyncio
from eio_backend_asyncio import run_asyncio

WORDS = ["hello", "from", "the", "client"]


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo each line until the client closes its side."""
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()


async def client(net: eio.net.Network, port: int) -> None:
    """Send each word as a line and print its echo."""
    async with eio.Switch.run() as sw:
        flow = await eio.net.connect(sw, net, eio.net.Tcp(eio.net.LOOPBACK_V4, port))
        reader = eio.BufRead.of_flow(flow, max_size=4096)
        for word in WORDS:
            await eio.flow.copy_string(f"{word}\n", flow)
            echo = await reader.line()
            print(f"client got {echo.decode()!r}")


async def start_server() -> tuple[asyncio.Server, list[asyncio.Task[None]]]:
    """Step 1's asyncio server, started: the server and its handler tasks."""
    handlers: list[asyncio.Task[None]] = []

    def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.create_task(handle(reader, writer)))

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    return server, handlers


async def stop_server(server: asyncio.Server, handlers: list[asyncio.Task[None]]) -> None:
    """Stop accepting, and wait for the handlers (asyncio.Server does not)."""
    server.close()
    await server.wait_closed()
    await asyncio.gather(*handlers)


async def main(env: eio.Stdenv) -> None:
    """Start the asyncio server, run the eio client against it, stop the server."""
    server, handlers = await run_asyncio(start_server)
    port = server.sockets[0].getsockname()[1]
    try:
        await client(env.net, port)
    finally:
        await run_asyncio(stop_server, server, handlers)
    print("done")


if __name__ == "__main__":
    eio_backend_asyncio.run(main)
