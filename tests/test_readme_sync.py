"""The examples of Eio's README about synchronisation, in Python, with their exact traces.

Sections: "Streams", "Example: Worker Pool", "Mutexes and Semaphores",
"Conditions" and "Example: Signal handlers".

Substitutions: the worker pool's domains come from a domain manager (the
mock one, whose domains run on the caller's loop, for the exact trace; and
real threads, for the outcome). The mutex example's file is an in-memory
stand-in whose save and load switch fibers half-way, as real IO would. The
signal examples use SIGUSR1 (pytest owns SIGINT), sent by the process to
itself, from a fiber or from another thread.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

import eio
import pytest
from conftest import Runner, Trace

import eio_mock

# -- Streams ---------------------------------------------------------------------------------


def test_streams(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        stream = eio.Stream[int](2)

        async def adder() -> None:
            for i in range(1, 6):
                eio.traceln(f"Adding {i}...")
                await stream.add(i)

        async def taker() -> None:
            for _ in range(1, 6):
                x = await stream.take()
                eio.traceln(f"Got {x}")
                await eio.fiber.yield_()

        await eio.fiber.both(adder, taker)

    run(main)
    assert trace.lines() == [
        "Adding 1...",
        "Adding 2...",
        "Adding 3...",
        "Got 1",
        "Adding 4...",
        "Got 2",
        "Adding 5...",
        "Got 3",
        "Got 4",
        "Got 5",
    ]


# -- Example: Worker Pool --------------------------------------------------------------------

Job = tuple[int, eio.Resolver[str]]


async def handle_job(request: int) -> str:
    await eio.fiber.yield_()  # (simulated work)
    return f"Processed:{request}"


async def run_worker(ident: str, stream: eio.Stream[Job]) -> None:
    while True:
        request, reply = await stream.take()
        eio.traceln(f"Worker {ident} processing request {request}")
        reply.resolve(await handle_job(request))


async def submit(stream: eio.Stream[Job], request: int) -> str:
    reply, resolve_reply = eio.Promise[str].create()
    await stream.add((request, resolve_reply))
    return await reply


async def worker_pool_main(domain_mgr: eio.DomainManager) -> None:
    async with eio.Switch.run() as sw:
        stream = eio.Stream[Job](0)

        def spawn_worker(name: str) -> None:
            async def in_domain() -> None:
                eio.traceln(f"Worker {name} ready")
                await run_worker(name, stream)

            async def worker() -> None:
                await eio.domain_manager.run(domain_mgr, in_domain)

            eio.fiber.fork_daemon(sw, worker)

        spawn_worker("A")
        spawn_worker("B")
        async with eio.Switch.run() as clients:
            for i in range(1, 4):

                async def client(i: int) -> None:
                    eio.traceln(f"Client {i} submitting job...")
                    eio.traceln(f"Client {i} got {await submit(stream, i)}")

                eio.fiber.fork(clients, client, i)
                await eio.fiber.yield_()


def test_worker_pool(trace: Trace) -> None:
    async def main(env: eio_mock.backend.MockEnv) -> None:
        await worker_pool_main(env.domain_mgr)

    eio_mock.backend.run_full(main)
    assert trace.lines() == [
        "Worker A ready",
        "Worker B ready",
        "Client 1 submitting job...",
        "Worker A processing request 1",
        "Client 2 submitting job...",
        "Worker B processing request 2",
        "Client 3 submitting job...",
        "Client 1 got Processed:1",
        "Worker A processing request 3",
        "Client 2 got Processed:2",
        "Client 3 got Processed:3",
    ]


def test_worker_pool_in_real_threads(trace: Trace) -> None:
    """With workers on their own threads the order varies, but every job is done once."""

    async def main() -> None:
        await worker_pool_main(eio_mock.domain_manager.threads())

    eio_mock.backend.run(main)
    lines = trace.lines()
    processing = [line for line in lines if " processing request " in line]
    assert sorted(line for line in lines if line not in processing) == sorted(
        ["Worker A ready", "Worker B ready"]
        + [f"Client {i} submitting job..." for i in (1, 2, 3)]
        + [f"Client {i} got Processed:{i}" for i in (1, 2, 3)]
    )
    assert sorted(int(line.rsplit(" ", 1)[1]) for line in processing) == [1, 2, 3]
    assert all(line.startswith(("Worker A ", "Worker B ")) for line in processing)


# -- Mutexes and Semaphores ------------------------------------------------------------------


class MemoryFile:
    """Stands in for ``Eio.Path``: save and load switch fibers half-way, like real IO."""

    def __init__(self) -> None:
        self._data = ""

    async def save(self, data: str) -> None:
        self._data = ""  # truncated...
        await eio.fiber.yield_()
        self._data = data  # ...then written

    async def load(self) -> str:
        data = self._data  # read...
        await eio.fiber.yield_()
        return data  # ...then returned


class AtomicFile:
    """The README's ``Atomic_file``."""

    def __init__(self, path: MemoryFile) -> None:
        self.path = path
        self.mutex = eio.Mutex()

    async def save(self, data: str) -> None:
        async with self.mutex.use_rw(protect=True):
            await self.path.save(data)

    async def load(self) -> str:
        async with self.mutex.use_ro():
            return await self.path.load()


def ocaml_string(s: str) -> str:
    """OCaml's ``%S`` for a plain ASCII string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_mutex_atomic_file(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        t = AtomicFile(MemoryFile())

        async def loader() -> None:
            data = await t.load()
            eio.traceln(f"Loaded: {ocaml_string(data)}")

        await eio.fiber.both(lambda: t.save("some data"), loader)

    run(main)
    assert trace.lines() == ['Loaded: "some data"']


def test_without_the_mutex_the_load_sees_a_half_written_file(run: Runner, trace: Trace) -> None:
    """What the mutex prevents in the example above."""

    async def main() -> None:
        f = MemoryFile()

        async def loader() -> None:
            eio.traceln(f"Loaded: {ocaml_string(await f.load())}")

        await eio.fiber.both(lambda: f.save("some data"), loader)

    run(main)
    assert trace.lines() == ['Loaded: ""']


# -- Conditions ------------------------------------------------------------------------------


class X:
    """Not safe to share across domains."""

    def __init__(self, x: int) -> None:
        self.x = x
        self.changed = eio.Condition()

    async def await_zero(self) -> None:
        while self.x != 0:
            await self.changed.await_no_mutex()
        eio.traceln("x is now zero")

    def set(self, x: int) -> None:
        self.x = x
        self.changed.broadcast()
        eio.traceln(f"x set to {x}")


def test_conditions_single_domain(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        x = X(5)

        async def waiter() -> None:
            eio.traceln("Waiting for x to be 0")
            await x.await_zero()

        async def setter() -> None:
            x.set(0)

        await eio.fiber.both(waiter, setter)

    run(main)
    assert trace.lines() == ["Waiting for x to be 0", "x set to 0", "x is now zero"]


class Y:
    """Safe to share between domains."""

    def __init__(self, y: int) -> None:
        self.y = y
        self.mutex = eio.Mutex()
        self.changed = eio.Condition()

    async def await_zero(self) -> None:
        async with self.mutex.use_ro():
            while self.y != 0:
                await self.changed.await_(self.mutex)
            eio.traceln("y is now zero (at least until we release the mutex)")

    async def set(self, y: int) -> None:
        async with self.mutex.use_rw(protect=True):
            self.y = y
            self.changed.broadcast()
            eio.traceln(f"y set to {y}")


def test_conditions_with_mutex(run: Runner, trace: Trace) -> None:
    async def main() -> None:
        y = Y(5)

        async def waiter() -> None:
            eio.traceln("Waiting for y to be 0")
            await y.await_zero()

        await eio.fiber.both(waiter, lambda: y.set(0))

    run(main)
    assert trace.lines() == [
        "Waiting for y to be 0",
        "y set to 0",
        "y is now zero (at least until we release the mutex)",
    ]


def test_conditions_with_mutex_across_domains(trace: Trace) -> None:
    """The domain-safe version, with the setter in another thread's loop."""

    async def main() -> None:
        y = Y(5)
        dm = eio_mock.domain_manager.threads()

        async def waiter() -> None:
            eio.traceln("Waiting for y to be 0")
            await y.await_zero()

        async def set_elsewhere() -> None:
            async def set_to_zero() -> None:
                await y.set(0)

            await eio.domain_manager.run(dm, set_to_zero)

        await eio.fiber.both(waiter, set_elsewhere)

    eio_mock.backend.run(main)
    assert trace.lines() == [
        "Waiting for y to be 0",
        "y set to 0",
        "y is now zero (at least until we release the mutex)",
    ]


# -- Example: Signal handlers ----------------------------------------------------------------

needs_signals = pytest.mark.skipif(
    not hasattr(signal, "SIGUSR1") or not hasattr(signal, "pthread_kill"), reason="needs SIGUSR1 and pthread_kill"
)


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


def send_signal_from_thread(ready: threading.Event) -> threading.Thread:
    """A thread that sends SIGUSR1 to the main thread once ``ready`` is set.

    It is not a daemon, so the mock loop keeps waiting for it.
    """
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    def body() -> None:
        assert ready.wait(30), "the fiber never got ready"
        time.sleep(0.05)  # most likely the loop is now blocked waiting: the signal interrupts that
        signal.pthread_kill(main_thread, signal.SIGUSR1)

    t = threading.Thread(target=body, name="signal sender")
    t.start()
    return t


async def run_op(interrupted: eio.Condition, started: threading.Event) -> None:
    """The README's ``run_op``."""

    async def wait_for_interrupt() -> None:
        await interrupted.await_no_mutex()
        eio.traceln("Cancelled at user's request.")

    async def operation() -> None:
        eio.traceln("Running operation (Ctrl-C to cancel)...")
        started.set()
        await eio.fiber.await_cancel()  # simulated work

    await eio.fiber.first(wait_for_interrupt, operation)


@needs_signals
def test_signal_handler_interrupts_operation(
    run: Runner, trace: Trace, on_sigusr1: Callable[[Callable[[], None]], None]
) -> None:
    assert threading.current_thread() is threading.main_thread()

    async def main() -> None:
        interrupted = eio.Condition()
        # Warning: we're in a signal handler now. Most operations are unsafe
        # here, except for eio.Condition.broadcast!
        on_sigusr1(interrupted.broadcast)
        started = threading.Event()
        sender = send_signal_from_thread(started)  # the user pressing Ctrl-C
        await run_op(interrupted, started)
        sender.join()

    run(main)
    assert trace.lines() == ["Running operation (Ctrl-C to cancel)...", "Cancelled at user's request."]


@needs_signals
def test_signal_handler_reloads_configuration(
    run: Runner, trace: Trace, on_sigusr1: Callable[[Callable[[], None]], None]
) -> None:
    """The SIGHUP example: a broadcast while ``update`` runs makes it run again; one while waiting wakes it.

    Eio's example loops forever; here the third reading ends it.
    """

    async def main() -> str:
        config_changed = eio.Condition()
        on_sigusr1(config_changed.broadcast)
        reads = 0
        waiting = threading.Event()

        async def load_config() -> None:
            await eio.fiber.yield_()  # simulated work
            if reads == 1:
                os.kill(os.getpid(), signal.SIGUSR1)  # a signal arrives while loading: read again
            await eio.fiber.yield_()

        async def update() -> str | None:
            nonlocal reads
            reads += 1
            eio.traceln("Reading configuration ('kill -SIGUSR1 <pid>' to reload)...")
            await load_config()
            eio.traceln("Finished reading configuration")
            if reads == 3:
                return "stop"
            if reads == 2:
                waiting.set()  # the next signal comes from outside, while we wait
            return None  # keep waiting for further changes

        sender = send_signal_from_thread(waiting)
        result = await config_changed.loop_no_mutex(update)
        sender.join()
        return result

    assert run(main) == "stop"
    assert (
        trace.lines()
        == [
            "Reading configuration ('kill -SIGUSR1 <pid>' to reload)...",
            "Finished reading configuration",
        ]
        * 3
    )


@needs_signals
def test_broadcast_from_handler_wakes_waiters_without_blocking(
    run: Runner, trace: Trace, on_sigusr1: Callable[[Callable[[], None]], None]
) -> None:
    """A signal handler that runs in the middle of a fiber's step wakes every waiter exactly once."""

    async def main() -> None:
        cond = eio.Condition()
        on_sigusr1(cond.broadcast)
        async with eio.Switch.run() as sw:

            async def waiter(name: str) -> None:
                await cond.await_no_mutex()
                eio.traceln(f"{name} woken")

            for name in ("a", "b", "c"):
                eio.fiber.fork(sw, waiter, name)
            eio.traceln("signalling")
            signal.raise_signal(signal.SIGUSR1)  # the handler runs before this returns
            eio.traceln(f"signalled: {cond!r}")

    run(main)
    assert trace.lines() == ["signalling", "signalled: <Condition, 0 waiting>", "a woken", "b woken", "c woken"]


def test_readme_examples_need_no_mutex_for_single_domain_counters(run: Runner) -> None:
    """The README's note: code that doesn't switch fibers needs no mutex within one domain."""
    in_use = 10
    free = 0

    def release() -> None:
        nonlocal in_use, free
        free += 1
        in_use -= 1

    async def main() -> None:
        async def releaser() -> None:
            for _ in range(5):
                release()
                await eio.fiber.yield_()

        await eio.fiber.all([releaser, releaser])

    run(main)
    assert (in_use, free) == (0, 10)
