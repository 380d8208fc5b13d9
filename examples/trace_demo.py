"""A producer, a consumer and a timeout, recorded and drawn (the README's "Seeing what happened").

Run it with ``EIO_BACKEND=mock EIO_TRACE=run.json python examples/trace_demo.py``, then
``python -m eio.trace run.json -o run.svg``.
"""

from __future__ import annotations

import eio

import eio_main


async def main(env: eio.Stdenv) -> None:
    orders = eio.Stream[str](1)

    async def kitchen() -> None:
        for dish in ["soup", "bread"]:
            await eio.time.sleep(env.clock, 1)
            eio.traceln(f"cooked {dish}")
            await orders.add(dish)

    async def waiter() -> None:
        for _ in range(2):
            eio.traceln(f"served {await orders.take()}")
        try:
            await eio.time.with_timeout(env.clock, 0.5, orders.take)
        except eio.time.Timeout:
            eio.traceln("no more orders")

    async with eio.Switch.run() as sw:
        eio.fiber.fork(sw, kitchen, name="kitchen")
        eio.fiber.fork(sw, waiter, name="waiter")


if __name__ == "__main__":
    eio_main.run(main)
