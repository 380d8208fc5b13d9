"""A first check that fibers, switches and promises work together."""

from __future__ import annotations

import eio
from conftest import Runner, Trace


def test_fork_runs_child_first_then_caller(run: Runner, trace: Trace) -> None:
    async def main() -> int:
        async with eio.Switch.run() as sw:

            async def child(n: int) -> None:
                eio.traceln("child", n, "start")
                await eio.fiber.yield_()
                eio.traceln("child", n, "end")

            eio.fiber.fork(sw, child, 1)
            eio.fiber.fork(sw, child, 2)
            eio.traceln("main")
        return 7

    assert run(main) == 7
    assert trace.lines() == ["child 1 start", "child 2 start", "main", "child 1 end", "child 2 end"]
