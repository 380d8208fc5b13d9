"""Porting from asyncio, step 0: the asyncio program to port.

An echo server (``asyncio.start_server``) and a client (``asyncio.open_connection``)
in one process, over loopback: the client sends four lines and prints what
comes back. Run it with ``python examples/porting_asyncio/step0_asyncio.py``;
every step prints the same (expected_output.txt).
"""

from __future__ import annotations

import asyncio

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


async def main() -> None:
    """Start the server, run the client against it, stop the server."""
    handlers: list[asyncio.Task[None]] = []

    def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.create_task(handle(reader, writer)))

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await client(port)
        await asyncio.gather(*handlers)  # asyncio.Server does not wait for its handlers
    print("done")


if __name__ == "__main__":
    asyncio.run(main())
