"""A signal handler's `eio.Condition.broadcast` wakes fibers hosted in an asyncio loop asleep in the kernel.

The sender waits until the main thread is blocked in the event loop's wait
(read from ``/proc``), so the tests don't depend on timing. The hard case is
a signal the kernel hands to another thread: CPython only records it and
writes to its wake-up descriptor, which must end the loop's wait.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

import eio
import pytest
import uvloop

import eio_backend_asyncio

Factory = Callable[[], asyncio.AbstractEventLoop]

PATIENCE = 30.0  # seconds to wait for what should happen at once (only a bug waits this long)
# x86-64 and arm64 numbers of the calls an event loop sleeps in: epoll_wait, epoll_pwait, epoll_pwait2, io_uring_enter.
SLEEPING_CALLS = {232, 281, 441, 426} if os.uname().machine == "x86_64" else {22, 441, 426}

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture(params=["asyncio", "uvloop"])
def factory(request: pytest.FixtureRequest) -> Factory:
    """The kind of asyncio loop under test."""
    return asyncio.new_event_loop if request.param == "asyncio" else uvloop.new_event_loop


@pytest.fixture
def on_sigusr1() -> Iterator[Callable[[Callable[[], None]], None]]:
    """Install a SIGUSR1 handler for the test; the previous one is restored afterwards."""
    old = signal.getsignal(signal.SIGUSR1)

    def install(fn: Callable[[], None]) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            fn()

        signal.signal(signal.SIGUSR1, handler)

    try:
        yield install
    finally:
        signal.signal(signal.SIGUSR1, old)


def main_thread_asleep() -> bool:
    """Wait until the main thread blocks in an event loop's wait; False if it never does."""
    tid = threading.main_thread().native_id
    give_up = time.monotonic() + PATIENCE
    while time.monotonic() < give_up:
        try:
            with open(f"/proc/self/task/{tid}/syscall") as f:
                field = f.read().split(" ", 1)[0]
        except OSError:
            return False
        if field.isdigit() and int(field) in SLEEPING_CALLS:
            return True
        time.sleep(0.001)
    return False


def send_when_asleep(send: Callable[[], None], asleep: list[bool]) -> threading.Thread:
    """A thread that sends the signal once the main thread sleeps."""

    def body() -> None:
        asleep.append(main_thread_asleep())
        send()

    thread = threading.Thread(target=body, name="signal sender")
    thread.start()
    return thread


def test_a_signal_to_the_main_thread_wakes_a_waiting_fiber(
    factory: Factory, on_sigusr1: Callable[[Callable[[], None]], None]
) -> None:
    asleep: list[bool] = []

    async def main(env: eio.Stdenv) -> str:
        cond = eio.Condition()
        on_sigusr1(cond.broadcast)
        main_id = threading.main_thread().ident
        assert main_id is not None
        sender = send_when_asleep(lambda: signal.pthread_kill(main_id, signal.SIGUSR1), asleep)
        try:
            await cond.await_no_mutex()
        finally:
            sender.join()
        return "woken by the signal"

    assert eio_backend_asyncio.run(main, loop_factory=factory) == "woken by the signal"
    assert asleep == [True]


def test_a_signal_taken_by_another_thread_still_wakes_the_loop(
    factory: Factory, on_sigusr1: Callable[[Callable[[], None]], None]
) -> None:
    asleep: list[bool] = []

    def send_to_process() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})  # this thread may take it
        os.kill(os.getpid(), signal.SIGUSR1)

    async def main(env: eio.Stdenv) -> str:
        cond = eio.Condition()
        on_sigusr1(cond.broadcast)
        sender = send_when_asleep(send_to_process, asleep)
        try:
            await cond.await_no_mutex()
        finally:
            sender.join()
        return "woken by the signal"

    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})  # the main thread won't take it
    try:
        assert eio_backend_asyncio.run(main, loop_factory=factory) == "woken by the signal"
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    assert asleep == [True]
