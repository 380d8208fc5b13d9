"""Step 4: the handler is eio code too; trio still accepts, and hands each connection to a fiber."""

import functools
from collections.abc import Sequence

import eio
import eio.net
import trio

import eio_backend_trio
from eio_backend_trio import run_eio, run_trio

WORDS = ["hello", "from", "trio"]


class TrioStreamFlow:
    """A trio stream as an eio two-way flow: each operation is a call into trio."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream

    async def single_read(self, buf: memoryview, /) -> int:
        data = await run_trio(self.stream.receive_some, len(buf))
        if not data:
            raise eio.EndOfFile()
        buf[: len(data)] = data
        return len(data)

    async def single_write(self, bufs: Sequence[bytes | memoryview], /) -> int:
        data = b"".join(bufs)
        await run_trio(self.stream.send_all, data)
        return len(data)

    async def shutdown(self, how: eio.flow.ShutdownCommand, /) -> None:
        if how != "receive":
            await run_trio(self.stream.send_eof)


async def handler(flow: eio.flow.TwoWay) -> None:
    await eio.flow.copy(flow, flow)


async def trio_handler(stream: trio.SocketStream) -> None:
    await run_eio(handler, TrioStreamFlow(stream))  # a fiber in the same eio loop


async def trio_server(port: eio.Resolver[int]) -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, trio_handler, 0, host="127.0.0.1"))
        port.resolve(listeners[0].socket.getsockname()[1])
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
        eio.fiber.fork_daemon(sw, run_trio, trio_server, resolver)
        await client(env.net, await port)


eio_backend_trio.run(main)
