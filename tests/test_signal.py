"""Conformance: Eio's tests/signal.md and README "Example: Signal handlers".

A Python signal handler runs on the main thread, between two bytecodes; one
that calls `eio.Condition.broadcast` must wake the fibers waiting on the
condition. The hard case is a loop asleep in the kernel (``io_uring_enter``,
``epoll_wait``...): the signal must end that wait. The tests here run on every
OS backend and make sure its loop *is* asleep in the kernel before sending, by
reading the main thread's current system call from ``/proc`` (Linux), so they
don't depend on timing.
"""

from __future__ import annotations

import os
import platform
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, TypeVar

import eio
import pytest
from conftest import Runner, Trace

import eio_main

T = TypeVar("T")

needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads system calls from /proc (Linux)")

# The system calls each backend's loop sleeps in, by machine. io_uring_enter is
# 426 in the generic table (x86-64, arm64...); the windows backend (a selector) sleeps in
# epoll_wait / epoll_pwait / epoll_pwait2 (or poll / select where those are the selector).
_SLEEP_CALLS: dict[str, dict[str, frozenset[int]]] = {
    "x86_64": {"uring": frozenset({426}), "windows": frozenset({232, 281, 441, 7, 271, 23, 270})},
    "aarch64": {"uring": frozenset({426}), "windows": frozenset({22, 441, 73, 72})},
}
# A backend not listed: any system call but futex (a thread waiting for the GIL is in futex).
_FUTEX: dict[str, int] = {"x86_64": 202, "aarch64": 98}


def sleeps_in(backend: str, syscall: int | None) -> bool:
    """Whether ``backend``'s loop, in system call ``syscall``, is asleep waiting for events."""
    if syscall is None:
        return False
    machine = platform.machine()
    calls = _SLEEP_CALLS.get(machine, {}).get(backend)
    if calls is not None:
        return syscall in calls
    return syscall != _FUTEX.get(machine, -1)


PATIENCE = 30.0  # seconds to wait for something that should happen at once (only a bug waits this long)
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "signal_condition.py"


class SimulatedError(Exception):
    """The failure the tests inject."""


def current_syscall(tid: int, pid: str = "self") -> int | None:
    """The system call thread ``tid`` is blocked in (None if it's running or gone)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/syscall") as f:
            field = f.read().split(" ", 1)[0]
    except OSError:
        return None
    return int(field) if field.lstrip("-").isdigit() else None


def wait_until_asleep(backend: str, tid: int, pid: str = "self", alive: Callable[[], bool] = lambda: True) -> bool:
    """Wait until thread ``tid`` is blocked in ``backend``'s wait for events; False if that never happened."""
    give_up = time.monotonic() + PATIENCE
    while time.monotonic() < give_up and alive():
        if sleeps_in(backend, current_syscall(tid, pid)):
            return True
        time.sleep(0.001)
    return False


@pytest.fixture
def on_signal() -> Iterator[Callable[[int, Callable[[], None]], None]]:
    """Install signal handlers for the test; the previous ones are restored afterwards."""
    saved: dict[int, object] = {}

    def install(signum: int, fn: Callable[[], None]) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            fn()

        saved.setdefault(signum, signal.getsignal(signum))
        signal.signal(signum, handler)

    try:
        yield install
    finally:
        for signum, old in saved.items():
            signal.signal(signum, old)  # pyright: ignore[reportArgumentType] - a value getsignal returned


class Sender:
    """A (non-daemon) thread that sends SIGUSR1 once the main thread's loop sleeps in the kernel.

    For each of ``rounds`` signals it waits for a token in ``ready``, then for
    the main thread to be asleep in ``backend``'s wait, then sends. Use `wait` for what
    the signals should bring about: if that never happens, the thread ends the
    wait with an error rather than leave the test hanging.
    """

    def __init__(self, backend: str, rounds: int, send: Callable[[], None]) -> None:
        self._backend = backend
        self.ready = queue.SimpleQueue[None]()
        self.asleep: list[bool] = []
        self._send = send
        self._rounds = rounds
        self._main = threading.main_thread().native_id
        self._finished = threading.Event()
        self._rescue, self._rescuer = eio.Promise[None].create()
        self._thread = threading.Thread(target=self._body, name="signal sender")
        self._thread.start()

    def _body(self) -> None:
        assert self._main is not None
        for _ in range(self._rounds):
            try:
                self.ready.get(timeout=PATIENCE)
            except queue.Empty:
                break
            self.asleep.append(wait_until_asleep(self._backend, self._main))
            self._send()
        if not self._finished.wait(PATIENCE):
            self._rescuer.try_resolve(None)

    async def wait(self, fn: Callable[[], Awaitable[T]]) -> T:
        """``await fn()``, which the signals should let finish; then wait for the thread."""

        async def rescued() -> T:
            await self._rescue
            raise AssertionError("the signal never woke the loop")

        try:
            return await eio.fiber.first(fn, rescued)
        finally:
            self._finished.set()
            self._thread.join()


def to_main_thread() -> None:
    """Send SIGUSR1 to the main thread only."""
    main = threading.main_thread().ident
    assert main is not None
    signal.pthread_kill(main, signal.SIGUSR1)


# -- Eio's tests/signal.md ----------------------------------------------------------------------


def test_a_signal_from_another_process_wakes_a_waiter(run: Runner, trace: Trace) -> None:
    """signal.md "Prove we can catch sigint": a child process sends SIGINT while we wait for it."""
    assert threading.current_thread() is threading.main_thread()
    old = signal.getsignal(signal.SIGINT)

    async def main() -> None:
        interrupted = eio.Condition()

        def handle(signum: int, frame: FrameType | None) -> None:
            if signum == signal.SIGINT:
                interrupted.broadcast()

        signal.signal(signal.SIGINT, handle)

        async def waiter() -> None:
            await interrupted.await_no_mutex()
            eio.traceln("interrupted!")

        async def kill_parent() -> None:
            # Blocks the whole loop while the child runs, as Eio's test does.
            code = f"import os, signal; os.kill({os.getpid()}, signal.SIGINT)"
            subprocess.run([sys.executable, "-c", code], check=True)

        await eio.fiber.both(waiter, kill_parent)

    try:
        run(main)
    finally:
        signal.signal(signal.SIGINT, old)
    assert trace.lines() == ["interrupted!"]


# -- the loop asleep in the kernel, on each OS backend -----------------------------------------------------


@needs_proc
def test_a_signal_wakes_await_no_mutex_while_the_loop_sleeps_in_the_kernel(
    os_backend: str, trace: Trace, on_signal: Callable[[int, Callable[[], None]], None]
) -> None:
    async def main(env: eio.Stdenv) -> list[bool]:
        cond = eio.Condition()
        on_signal(signal.SIGUSR1, cond.broadcast)
        sender = Sender(os_backend, 1, to_main_thread)

        async def waiter() -> None:
            eio.traceln("waiting")
            sender.ready.put(None)
            await cond.await_no_mutex()
            eio.traceln("woken by the signal")

        await sender.wait(waiter)
        return sender.asleep

    assert eio_main.run(main, backend=os_backend) == [True]
    assert trace.lines() == ["waiting", "woken by the signal"]


@needs_proc
def test_a_signal_wakes_loop_no_mutex_each_time(
    os_backend: str, trace: Trace, on_signal: Callable[[int, Callable[[], None]], None]
) -> None:
    async def main(env: eio.Stdenv) -> tuple[str, list[bool]]:
        changed = eio.Condition()
        count = [0]

        def handler() -> None:
            count[0] += 1
            changed.broadcast()

        on_signal(signal.SIGUSR1, handler)
        sender = Sender(os_backend, 2, to_main_thread)

        async def update() -> str | None:
            eio.traceln(f"update sees {count[0]}")
            if count[0] == 2:
                return "done"
            sender.ready.put(None)
            return None

        result = await sender.wait(lambda: changed.loop_no_mutex(update))
        return result, sender.asleep

    assert eio_main.run(main, backend=os_backend) == ("done", [True, True])
    assert trace.lines() == ["update sees 0", "update sees 1", "update sees 2"]


@needs_proc
def test_a_signal_taken_by_another_thread_still_wakes_the_loop(
    os_backend: str, trace: Trace, on_signal: Callable[[int, Callable[[], None]], None]
) -> None:
    """The main thread blocks SIGUSR1, so the kernel gives it to the sender thread.

    CPython then only records it and writes to its wake-up fd; the loop must
    notice that and wake, so the main thread can run the Python handler.
    """

    def send_to_process() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})  # this thread may take it
        os.kill(os.getpid(), signal.SIGUSR1)

    async def main(env: eio.Stdenv) -> list[bool]:
        cond = eio.Condition()
        on_signal(signal.SIGUSR1, cond.broadcast)
        sender = Sender(os_backend, 1, send_to_process)
        sender.ready.put(None)
        await sender.wait(cond.await_no_mutex)
        eio.traceln("woken by the signal")
        return sender.asleep

    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        assert eio_main.run(main, backend=os_backend) == [True]
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    assert trace.lines() == ["woken by the signal"]


@needs_proc
def test_a_program_that_only_waits_for_a_signal_waits(
    os_backend: str, trace: Trace, on_signal: Callable[[int, Callable[[], None]], None]
) -> None:
    """No IO, no timer, no other thread: only the signal handler can wake the loop, and it does."""

    async def main(env: eio.Stdenv) -> None:
        cond = eio.Condition()
        on_signal(signal.SIGUSR1, cond.broadcast)
        # The child waits until we sleep in the kernel (or, if it may not
        # read our /proc entry, gives us a moment), then signals us.
        pid = os.getpid()
        # Backends that wait through epoll, poll or select (windows, trio, asyncio) share one set.
        by_backend = _SLEEP_CALLS.get(platform.machine(), {})
        asleep = sorted(by_backend.get(os_backend, by_backend.get("windows", ())))
        code = (
            "import os, signal, time\n"
            "give_up = time.monotonic() + 30\n"
            "while time.monotonic() < give_up:\n"
            "    try:\n"
            f"        with open('/proc/{pid}/task/{pid}/syscall') as f:\n"
            f"            if f.read().split(' ', 1)[0] in {[str(n) for n in asleep]!r}:\n"
            "                break\n"
            "    except OSError:\n"
            "        time.sleep(0.5)\n"
            "        break\n"
            "    time.sleep(0.001)\n"
            f"os.kill({pid}, signal.SIGUSR1)\n"
        )
        child = subprocess.Popen([sys.executable, "-c", code])
        try:
            await cond.await_no_mutex()
            eio.traceln("woken by the signal")
        finally:
            if child.poll() is None:
                child.kill()  # we gave up waiting: it must not signal us later
            child.wait()

    eio_main.run(main, backend=os_backend)
    assert trace.lines() == ["woken by the signal"]


# -- README "Example: Signal handlers", as a program --------------------------------------------


class Lines:
    """The lines a child process writes to a pipe, as they come."""

    def __init__(self, pipe: IO[str]) -> None:
        self._queue = queue.SimpleQueue[str | None]()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[str]) -> None:
        for line in iter(pipe.readline, ""):
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next(self) -> str | None:
        """The next line (None at the end)."""
        return self._queue.get(timeout=PATIENCE)

    def rest(self) -> list[str]:
        """Every line until the end."""
        lines: list[str] = []
        while (line := self.next()) is not None:
            lines.append(line)
        return lines


@needs_proc
def test_example_reloads_on_sigusr1_and_stops_on_sigint(os_backend: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EIO_BACKEND": os_backend},
    )
    try:
        assert proc.stderr is not None
        err = Lines(proc.stderr)
        reading = f"+Reading configuration ('kill -SIGUSR1 {proc.pid}' to reload)..."
        got = [err.next() for _ in range(3)]
        assert got == ["+Running operation (Ctrl-C to cancel)...", reading, "+Finished reading configuration"]

        def alive() -> bool:
            return proc.poll() is None

        assert wait_until_asleep(os_backend, proc.pid, str(proc.pid), alive), err.rest()
        proc.send_signal(signal.SIGUSR1)
        assert [err.next(), err.next()] == [reading, "+Finished reading configuration"]

        assert wait_until_asleep(os_backend, proc.pid, str(proc.pid), alive), err.rest()
        proc.send_signal(signal.SIGINT)
        assert err.rest() == ["+Cancelled at user's request."]
        out, _ = proc.communicate(timeout=PATIENCE)
        assert (proc.returncode, out) == (0, "")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
