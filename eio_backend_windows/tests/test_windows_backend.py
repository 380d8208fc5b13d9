"""The windows backend's registration (its place among the backends) and its loop's own duties."""

from __future__ import annotations

import signal
import socket
import sys
import threading

import eio
from eio_backend_trio._plugin import PRIORITY as TRIO_PRIORITY
from eio_main._registry import discover

import eio_main
from eio_backend_windows import SelectorPoller, new_loop, run, run_plain


def test_registered_below_trio_here_and_above_it_on_windows() -> None:
    info = discover().backends["windows"]
    assert (info.name, info.distribution, info.unavailable_reason()) == ("windows", "eio-backend-windows", None)
    if sys.platform == "win32":
        assert info.auto and info.priority > TRIO_PRIORITY
    else:
        assert info.priority < TRIO_PRIORITY
        assert info.auto == (sys.platform != "linux")  # never chosen automatically on Linux


def test_never_chosen_automatically_on_linux_but_by_name() -> None:
    if sys.platform == "linux":
        assert eio_main.choose().name in ("uring", "trio")
    assert eio_main.choose("windows").name == "windows"

    async def main(env: eio.Stdenv) -> str:
        return env.backend_id

    assert eio_main.run(main, backend="windows") == "windows"


def test_released_with_an_extra() -> None:
    assert eio_main.BACKENDS["windows"].released
    assert eio_main.BACKENDS["windows"].install_command() == 'pip install "eio-main[windows]"'


def test_the_signal_wakeup_socket_is_restored() -> None:
    assert threading.current_thread() is threading.main_thread()
    before = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(before)

    async def main() -> int:
        current = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(current)
        return current

    inside = run_plain(main)
    assert inside not in (before, -1)
    after = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(after)
    assert after == before


def test_another_thread_wakes_a_sleeping_loop() -> None:
    async def main() -> str:
        promise, resolver = eio.Promise[str].create()
        threading.Thread(target=lambda: resolver.resolve("woken")).start()
        return await promise

    assert run_plain(main) == "woken"


def test_a_domain_gets_its_own_loop_and_poller() -> None:
    async def main(env: eio.Stdenv) -> list[str]:
        here = eio.lowlevel.current_loop()

        def other() -> str:
            loop = eio.lowlevel.current_loop()
            return f"{loop.backend_id} {type(loop.poller).__name__} same={loop is here}"

        async def in_domain() -> str:
            return other()

        return [other(), await env.domain_mgr.run(in_domain)]

    assert run(main) == ["windows SelectorPoller same=True", "windows SelectorPoller same=False"]


def test_closing_the_poller_releases_its_sockets() -> None:
    poller = SelectorPoller()
    sockets = [s for s in vars(poller).values() if isinstance(s, socket.socket)]
    assert len(sockets) == 2
    poller.close()
    assert all(s.fileno() == -1 for s in sockets)
    loop = new_loop()
    assert loop.backend_id == "windows"
    assert isinstance(loop.poller, SelectorPoller)
    loop.poller.close()
