"""Step 3: the client is eio code (it gets the network from env); the server is still trio."""

import functools

import eio
import eio.net
import trio

import eio_backend_trio

WORDS = ["hello", "from", "trio"]


async def handler(stream: trio.SocketStream) -> None:
    async for data in stream:
        await stream.send_all(data)


async def trio_server(port: eio.Resolver[int]) -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port.resolve(listeners[0].socket.getsockname()[1])  # trio code may resolve an eio promise
        await trio.sleep_forever()


async def client(net: eio.net.Network, port: int) -> None:
    async with eio.Switch.run() as sw:
        conn = await eio.net.connect(sw, net, eio.net.Tcp(eio.net.LOOPBACK_V4, port))
        for word in WORDS:
            await eio.flow.copy_string(word, conn)
            reply = bytearray(len(word))
            await eio.flow.read_exact(conn, reply)
            print("echo:", reply.decode())


async def main(env: eio.Stdenv) -> None:
    port, resolver = eio.Promise[int].create()
    async with eio.Switch.run() as sw:
        # A daemon: cancelled (and with it the trio server) once the client is done.
        eio.fiber.fork_daemon(sw, eio_backend_trio.run_trio, trio_server, resolver)
        await client(env.net, await port)


eio_backend_trio.run(main)
