"""Step 5: the server is eio code: no trio left, so the program runs on any eio backend."""

import eio
import eio.net

import eio_main

WORDS = ["hello", "from", "trio"]


async def handler(flow: eio.net.StreamSocket, peer: eio.net.StreamAddr) -> None:
    await eio.flow.copy(flow, flow)


async def client(net: eio.net.Network, port: int) -> None:
    async with eio.Switch.run() as sw:
        conn = await eio.net.connect(sw, net, eio.net.Tcp(eio.net.LOOPBACK_V4, port))
        for word in WORDS:
            await eio.flow.copy_string(word, conn)
            reply = bytearray(len(word))
            await eio.flow.read_exact(conn, reply)
            print("echo:", reply.decode())


async def main(env: eio.Stdenv) -> None:
    async with eio.Switch.run() as sw:
        sock = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0), backlog=5)
        addr = eio.net.listening_addr(sock)
        assert isinstance(addr, eio.net.Tcp)
        stop, stopper = eio.Promise[str].create()

        async def serve() -> None:
            await eio.net.run_server(sock, handler, stop=stop)

        eio.fiber.fork(sw, serve)
        await client(env.net, addr.port)
        stopper.resolve("client done")


eio_main.run(main)
