"""Porting from asyncio, step 1: the same asyncio code, now inside an eio program.

Nothing of step 0 changes but the entry point: `eio_backend_asyncio.run`
starts the asyncio loop and runs an eio ``main(env)`` in it, which runs the
old asyncio ``main`` as an asyncio task with `run_asyncio`. From here on,
each piece can move to eio on its own while the rest keeps working.
"""

from __future__ import annotations

import asyncio

import eio

import eio_backend_asyncio
from eio_backend_asyncio import run_asyncio

WORDS = ["hello", "from", "the", "client"]


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo each line until the client closes its side."""
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()


async def client(port: int) -> None:
    """Send each word as a line and print its echo."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for word in WORDS:
        writer.write(f"{word}\n".encode())
        await writer.drain()
        echo = await reader.readline()
        print(f"client got {echo.decode().rstrip()!r}")
    writer.close()
    await writer.wait_closed()


async def asyncio_main() -> None:
    """Step 0's main, unchanged."""
    handlers: list[asyncio.Task[None]] = []

    def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.create_task(handle(reader, writer)))

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await client(port)
        await asyncio.gather(*handlers)  # asyncio.Server does not wait for its handlers


async def main(env: eio.Stdenv) -> None:
    """The eio program: for now it only runs the asyncio one."""
    await run_asyncio(asyncio_main)
    print("done")


if __name__ == "__main__":
    eio_backend_asyncio.run(main)
