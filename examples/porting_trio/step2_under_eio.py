"""Step 2: the same trio program, run under eio: eio starts trio, and a fiber runs the trio code."""

import functools

import eio
import trio

import eio_backend_trio

WORDS = ["hello", "from", "trio"]


async def handler(stream: trio.SocketStream) -> None:
    async for data in stream:
        await stream.send_all(data)


async def client(port: int) -> None:
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        for word in WORDS:
            await stream.send_all(word.encode())
            reply = b""
            while len(reply) < len(word):
                reply += await stream.receive_some(100)
            print("echo:", reply.decode())


async def trio_main() -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        await client(listeners[0].socket.getsockname()[1])
        nursery.cancel_scope.cancel()


async def main(env: eio.Stdenv) -> None:
    await eio_backend_trio.run_trio(trio_main)


eio_backend_trio.run(main)
