"""Porting from asyncio, step 3: the server moves to eio too; no asyncio code is left.

`eio.net.listen` gives a listening socket owned by a switch, and
`eio.net.run_server` handles each connection in its own fiber. Instead of
``async with server`` around the client, `eio.fiber.first` runs the server
and the client side by side: when the client is done, the server is
cancelled, and the switch closes the listening socket.
"""

from __future__ import annotations

import eio
import eio.net

import eio_backend_asyncio

WORDS = ["hello", "from", "the", "client"]


async def handle(flow: eio.net.StreamSocket, _peer: eio.net.StreamAddr) -> None:
    """Echo each line until the client closes its side."""
    reader = eio.BufRead.of_flow(flow, max_size=4096)
    while not await reader.at_end_of_input():
        line = await reader.line()
        await eio.flow.copy_string(line + b"\n", flow)


async def client(net: eio.net.Network, addr: eio.net.StreamAddr) -> None:
    """Send each word as a line and print its echo."""
    async with eio.Switch.run() as sw:
        flow = await eio.net.connect(sw, net, addr)
        reader = eio.BufRead.of_flow(flow, max_size=4096)
        for word in WORDS:
            await eio.flow.copy_string(f"{word}\n", flow)
            echo = await reader.line()
            print(f"client got {echo.decode()!r}")


async def main(env: eio.Stdenv) -> None:
    """Serve on a port the OS picks; run the client; stop serving when it is done."""
    async with eio.Switch.run() as sw:
        sock = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=5)
        addr = eio.net.listening_addr(sock)

        async def serve() -> None:
            await eio.net.run_server(sock, handle)

        await eio.fiber.first(serve, lambda: client(env.net, addr))
    print("done")


if __name__ == "__main__":
    eio_backend_asyncio.run(main)
