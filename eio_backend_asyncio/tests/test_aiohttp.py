"""A real asyncio library from eio fibers: aiohttp's server and client over loopback.

The aiohttp server's handler takes values from an `eio.Stream` fed by a fiber
(`run_eio` from asyncio code), the aiohttp client is called from fibers
(`run_asyncio`), and eio's own sockets talk HTTP to the aiohttp server. An
eio timeout around an aiohttp request cancels it.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable

import aiohttp
import eio
import eio.net
import pytest
import uvloop
from aiohttp import web

import eio_backend_asyncio
from eio_backend_asyncio import run_asyncio, run_eio

Factory = Callable[[], asyncio.AbstractEventLoop]


@pytest.fixture(params=["asyncio", "uvloop"])
def factory(request: pytest.FixtureRequest) -> Factory:
    """The kind of asyncio loop under test."""
    return asyncio.new_event_loop if request.param == "asyncio" else uvloop.new_event_loop


def open_fds(factory: Factory) -> set[str]:
    """This process's open file descriptors, once the kind of loop has been used.

    (uvloop keeps one pipe open for the whole process after its first run.)
    """

    async def nothing() -> None:
        pass

    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(nothing())
    gc.collect()
    return set(os.listdir("/proc/self/fd"))


async def get(url: str) -> tuple[int, str]:
    """One aiohttp client request (asyncio code)."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def test_aiohttp_server_and_client_from_eio_fibers(factory: Factory) -> None:
    before = open_fds(factory)

    async def main(env: eio.Stdenv) -> list[object]:
        tickets = eio.Stream[int](0)
        release, releaser = eio.Promise[str].create()

        async def hello(request: web.Request) -> web.Response:
            ticket = await run_eio(tickets.take)  # asyncio code waiting on an eio stream
            return web.Response(text=f"hello {request.match_info['name']}, ticket {ticket}")

        async def slow(request: web.Request) -> web.Response:
            return web.Response(text=await run_eio(lambda: release))

        app = web.Application()
        app.router.add_get("/hello/{name}", hello)
        app.router.add_get("/slow", slow)
        runner = web.AppRunner(app)
        await run_asyncio(runner.setup)
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await run_asyncio(site.start)
            port = runner.addresses[0][1]
            base = f"http://127.0.0.1:{port}"
            out: list[object] = []
            async with eio.Switch.run() as sw:

                async def ticket_seller() -> None:
                    for i in range(1, 4):
                        await tickets.add(i)

                eio.fiber.fork(sw, ticket_seller)
                # The aiohttp client, from fibers, two requests at once.
                a, b = await eio.fiber.pair(
                    lambda: run_asyncio(get, f"{base}/hello/ada"),
                    lambda: run_asyncio(get, f"{base}/hello/bob"),
                )
                out.append(sorted([a, b]))
                # eio's own socket, speaking HTTP to the aiohttp server.
                conn = await eio.net.connect(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, port))
                request = f"GET /hello/eio HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
                await eio.flow.copy_string(request, conn)
                reply = await eio.flow.read_all(conn)
                head, _, body = reply.partition(b"\r\n\r\n")
                out.append((head.split(b"\r\n")[0], body))
                # An eio timeout cancels an aiohttp request in flight.
                try:
                    await eio.time.with_timeout(env.mono_clock, 0.05, lambda: run_asyncio(get, f"{base}/slow"))
                except eio.time.Timeout:
                    out.append("slow request timed out")
                releaser.resolve("released")
                out.append(await run_asyncio(get, f"{base}/slow"))
        finally:
            await run_asyncio(runner.cleanup)
        return out

    assert eio_backend_asyncio.run(main, loop_factory=factory) == [
        sorted([(200, "hello ada, ticket 1"), (200, "hello bob, ticket 2")]),
        (b"HTTP/1.1 200 OK", b"hello eio, ticket 3"),
        "slow request timed out",
        (200, "released"),
    ]
    assert open_fds(factory) <= before
