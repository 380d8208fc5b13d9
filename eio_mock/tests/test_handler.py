"""Mock actions and handlers (Eio's Eio_mock.Action and Eio_mock.Handler), and the mock domain manager."""

from __future__ import annotations

import threading

import eio
import pytest

import eio_mock
from eio_mock import Await, Handler, NotConfigured, Raise, Return, Run, YieldThen


def traced(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line[1:] for line in capsys.readouterr().err.splitlines() if line.startswith("+")]


def test_each_action_in_turn_then_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> list[str]:
        p, r = eio.Promise[str].create()

        async def computed() -> str:
            eio.traceln("computing")
            return "computed"

        h: Handler[str] = Handler("test: get", default=Return("default"))
        h.seq([Return("one"), YieldThen(Return("two")), Await(p), Run(computed), Raise(ValueError("bad"))])
        out: list[str] = []

        async def other() -> None:
            eio.traceln("other fiber runs")
            r.resolve("promised")

        async def get_all() -> None:
            for _ in range(6):
                try:
                    out.append(await h.run())
                except ValueError as ex:
                    out.append(f"raised {ex}")

        # `other` is forked first and runs while `get_all` yields in YieldThen.
        async def later() -> None:
            await eio.fiber.yield_()
            await other()

        await eio.fiber.both(later, get_all)
        return out

    assert eio_mock.backend.run(main) == ["one", "two", "promised", "computed", "raised bad", "default"]
    assert traced(capsys) == ["other fiber runs", "computing"]


def test_an_unconfigured_handler_names_itself() -> None:
    async def main() -> None:
        h: Handler[int] = Handler("mocknet: connect")
        with pytest.raises(NotConfigured, match="^mocknet: connect: no more results configured$"):
            await h.run()
        h.seq([Return(1)])
        assert await h.run() == 1
        with pytest.raises(NotConfigured, match="^mocknet: connect: no more results configured$"):
            await h.run()
        h.set_default(Return(7))
        assert await h.run() == 7
        assert await h.run_default_action() == 7
        h.set_default(None)
        with pytest.raises(NotConfigured):
            await h.run_default_action()

    eio_mock.backend.run(main)
    assert issubclass(NotConfigured, RuntimeError)


def test_seq_replaces_the_previous_configuration() -> None:
    async def main() -> list[int]:
        h = Handler("counter", default=Return(0))
        h.seq([Return(1), Return(2)])
        first = await h.run()
        h.seq([Return(10)])

        n = 100

        async def count() -> int:
            nonlocal n
            n += 1
            return n

        second = await h.run()
        h.set_handler(count)
        third, fourth = await h.run(), await h.run()
        h.seq([Return(5)])
        return [first, second, third, fourth, await h.run(), await h.run()]

    assert eio_mock.backend.run(main) == [1, 10, 101, 102, 5, 0]


def test_raise_can_be_reused_without_growing_the_traceback() -> None:
    error = KeyError("k")

    async def main() -> None:
        h: Handler[int] = Handler("h", default=Raise(error))
        depths: list[int] = []
        for _ in range(3):
            try:
                await h.run()
            except KeyError as ex:
                assert ex is error
                tb, n = ex.__traceback__, 0
                while tb is not None:
                    n, tb = n + 1, tb.tb_next
                depths.append(n)
        assert depths[0] == depths[1] == depths[2]

    eio_mock.backend.run(main)


def test_map_applies_to_each_kind_of_action() -> None:
    async def main() -> list[str]:
        p = eio.Promise[int].create_resolved(3)

        async def four() -> int:
            return 4

        actions: list[eio_mock.Action[int]] = [Return(1), YieldThen(Return(2)), Await(p), Run(four)]
        out = [await eio_mock._action.map(str, a).run() for a in actions]  # pyright: ignore[reportPrivateUsage]
        with pytest.raises(OSError, match="^gone$"):
            await eio_mock._action.map(str, Raise(OSError("gone"))).run()  # pyright: ignore[reportPrivateUsage]
        return out

    assert eio_mock.backend.run(main) == ["1", "2", "3", "4"]


def test_misused_actions_are_reported() -> None:
    with pytest.raises(TypeError, match="^Raise expects an exception, not str$"):
        Raise("oops")  # pyright: ignore[reportArgumentType] - testing the run-time check

    def not_async() -> int:
        return 1

    async def main() -> None:
        with pytest.raises(TypeError, match=r"^eio_mock.Run expects an async function, but .*not_async returned int"):
            await Run(not_async).run()  # pyright: ignore[reportArgumentType] - testing the run-time check

    eio_mock.backend.run(main)
    assert repr(YieldThen(Return(1))) == "YieldThen(Return(1))"


# -- the mock domain manager ------------------------------------------------------


def test_mock_domains_get_fresh_ids_in_trace_lines(capsys: pytest.CaptureFixture[str]) -> None:
    async def main(dm: eio_mock.domain_manager.MockDomainManager) -> int:
        eio.traceln("main")

        async def in_domain(n: int) -> int:
            eio.traceln(f"in domain, id {eio_mock.domain_manager.domain_id.get()}")
            async with eio.Switch.run() as sw:

                async def child() -> None:
                    await eio.fiber.yield_()
                    eio.traceln("forked child")

                eio.fiber.fork(sw, child)
            return n

        a = await eio.domain_manager.run(dm, lambda: in_domain(1))
        b = await dm.run(lambda: in_domain(2))
        eio.traceln("back")
        return a + b

    assert eio_mock.backend.run(lambda: eio_mock.domain_manager.run(main)) == 3
    assert traced(capsys) == [
        "[0] main",
        "[1] in domain, id 1",
        "[1] forked child",
        "[2] in domain, id 2",
        "[2] forked child",
        "[0] back",
    ]


def test_without_tracing_mock_domains_add_no_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> str | None:
        dm = eio_mock.domain_manager.create()

        async def f() -> str | None:
            eio.traceln("plain")
            return eio_mock.domain_manager.domain_id.get()

        return await dm.run(f)

    assert eio_mock.backend.run(main) == "1"
    assert traced(capsys) == ["plain"]


def test_run_full_env_has_a_mock_domain_manager() -> None:
    async def main(env: eio_mock.backend.MockEnv) -> str:
        dm: eio.DomainManager = env.domain_mgr

        async def f() -> str:
            return "ran"

        return await eio.domain_manager.run(dm, f)

    assert eio_mock.backend.run_full(main) == "ran"


def test_thread_domains_run_in_another_thread_and_return_or_raise() -> None:
    async def main() -> tuple[bool, int]:
        dm = eio_mock.domain_manager.threads()
        me = threading.get_ident()

        async def where() -> bool:
            await eio.fiber.yield_()
            return threading.get_ident() != me

        async def fail() -> int:
            raise KeyError("in domain")

        other = await eio.domain_manager.run(dm, where)
        with pytest.raises(KeyError, match="in domain"):
            await dm.run(fail)
        return other, 1

    assert eio_mock.backend.run(main) == (True, 1)


def test_cancelling_the_caller_cancels_the_thread_domain(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        dm = eio_mock.domain_manager.threads()
        started, r = eio.Promise[None].create()

        async def forever() -> None:
            r.resolve(None)
            try:
                await eio.fiber.await_cancel()
            finally:
                eio.traceln("domain cancelled")

        async def stop() -> None:
            await started
            raise RuntimeError("stop")

        with pytest.raises(RuntimeError, match="^stop$"):
            await eio.fiber.both(lambda: eio.domain_manager.run(dm, forever), stop)
        eio.traceln("caller done")

    eio_mock.backend.run(main)
    assert traced(capsys) == ["domain cancelled", "caller done"]
