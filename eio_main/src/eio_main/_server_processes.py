"""Serving TCP on every core: `serve_processes` runs a server in several worker processes.

Python code in different domains does not run in parallel (one interpreter
lock), so a server whose handlers spend their time in Python is limited to
one core however many domains accept for it. `serve_processes` starts
worker processes instead; each is a fresh interpreter (the ``spawn`` start
method) that runs its own loop on the best backend (as `eio_main.run`
does), listens on the same port with ``SO_REUSEPORT`` (the kernel spreads
incoming connections over the workers' sockets) and runs
`eio.net.run_server` with the handler.

It lives in ``eio_main`` rather than ``eio.net`` because a worker must choose
and start a backend, which only ``eio_main`` knows how to do.

The parent talks to each worker over a pipe: the worker sends its port once
it listens; the parent sends "stop" (or just goes away: end of file means the
same). A thread per worker in the parent waits for the worker's exit and
wakes the parent's loop through a promise, so the parent's fibers never
block, and that wait is counted in ``loop.pending_external`` for the
deadlock detector.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.process
import os
import pickle
import signal
import sys
import threading
import traceback
import weakref
from typing import Any, Protocol

import eio
import eio.net
from eio.cancel import protect
from eio.lowlevel import Loop, current_loop

__all__ = ["ServerProcesses", "WorkerExited", "serve_processes"]


class Conn(Protocol):
    """One end of a `multiprocessing.Pipe` (a ``Connection``, or a ``PipeConnection`` on Windows)."""

    def send(self, obj: Any, /) -> None: ...
    def recv(self) -> Any: ...
    def send_bytes(self, buf: bytes, /) -> None: ...
    def recv_bytes(self) -> bytes: ...
    def close(self) -> None: ...


class WorkerExited(RuntimeError):
    """A server worker process ended without being asked to (it crashed or was killed)."""


class _Worker:
    __slots__ = ("conn", "exited", "exited_r", "pid", "proc", "ready", "ready_r")

    def __init__(self, proc: multiprocessing.process.BaseProcess, conn: Conn) -> None:
        self.proc = proc
        self.pid: int = proc.pid or 0  # kept: the process object is closed once reaped
        self.conn = conn
        # Resolved by the worker's watcher thread (promises may be resolved from any thread).
        self.ready, self.ready_r = eio.Promise[tuple[str, object]].create()
        self.exited, self.exited_r = eio.Promise[int | None].create()


# Servers still running, so that a parent that exits without stopping them (an
# uncaught exception) still asks them to stop, before multiprocessing waits for them.
_running: weakref.WeakSet[ServerProcesses] = weakref.WeakSet()


def _stop_all_at_exit() -> None:
    for server in list(_running):
        server.request_stop()


atexit.register(_stop_all_at_exit)


class ServerProcesses:
    """Worker processes serving one TCP port (made by `serve_processes`).

    ``addr`` is the address they listen on (with the real port when port 0
    was asked for); ``pids`` are the workers' process ids.
    """

    def __init__(self, addr: eio.net.Tcp) -> None:
        self.addr: eio.net.Tcp = addr
        self._workers: list[_Worker] = []
        self._stopping = False

    def __repr__(self) -> str:
        return f"<ServerProcesses {self.addr} pids={self.pids}{' (stopping)' if self._stopping else ''}>"

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers."""
        return [w.pid for w in self._workers]

    def request_stop(self) -> None:
        """Ask every worker to stop (see `stop`), without waiting. Idempotent; any thread."""
        self._stopping = True
        for w in self._workers:
            try:
                w.conn.send("stop")
            except OSError:
                pass  # it has gone already

    async def stop(self) -> None:
        """Stop the server gracefully and wait until every worker process has exited.

        Each worker stops accepting, lets the connections in progress finish,
        and exits; the parent reaps it. Cancelling the caller does not
        interrupt the wait. Idempotent.
        """
        self.request_stop()
        with protect():
            for w in self._workers:
                await w.exited
        for w in self._workers:
            w.conn.close()
        _running.discard(self)


async def serve_processes(
    sw: eio.Switch,
    addr: eio.net.Tcp,
    handler: eio.net.ConnectionHandler,
    *,
    workers: int | None = None,
    backlog: int = 128,
    max_connections: int | None = None,
    on_error: eio.net.ErrorHandler | None = None,
    backend: str | None = None,
) -> ServerProcesses:
    """Serve ``addr`` with ``handler`` in ``workers`` worker processes (default: one per CPU core).

    Returns once every worker listens. Each worker runs its own loop on
    ``backend`` (default: the best one available, as `eio_main.run`
    chooses) and calls ``eio.net.run_server(sock, handler, ...)`` on its own
    ``SO_REUSEPORT`` socket bound to ``addr``; the kernel spreads new
    connections over the workers (on Linux; other systems' ``SO_REUSEPORT``
    does not balance). With port 0 the first worker's port is
    used by all (see ``ServerProcesses.addr``). ``max_connections`` limits
    each worker. A handler's error goes to ``on_error`` in that worker
    (as with `eio.net.run_server`); by default it is printed to the
    worker's stderr (one line for a network error such as a client's
    reset, with the traceback for any other) and the worker goes on serving.

    ``handler`` and ``on_error`` must be picklable (module-level functions,
    or `functools.partial` of them): they are sent to the new interpreters. A
    program that calls `serve_processes` must guard its entry point with
    ``if __name__ == "__main__":``, since each worker imports the main module.

    The workers stop gracefully (stop accepting, finish the connections they
    have, exit) when ``sw`` finishes or on ``await server.stop()``; the
    parent waits for them and reaps them. They ignore SIGINT, so Ctrl-C in a
    terminal (which signals the whole process group) reaches only the
    parent, which decides: handle SIGINT there (see `eio.Condition`) and
    leave the switch. A worker that exits unexpectedly fails ``sw`` with
    `WorkerExited`; if the parent dies, the workers see their pipe close
    and stop as if asked.
    """
    if not isinstance(addr, eio.net.Tcp):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
        raise TypeError(f"serve_processes: addr must be an eio.net.Tcp address, not {type(addr).__name__}")
    count = (os.cpu_count() or 1) if workers is None else workers
    if count < 1:
        raise ValueError(f"serve_processes: workers must be at least 1 (got {count})")
    if max_connections is not None and max_connections <= 0:
        raise ValueError(f"serve_processes: max_connections must be positive (got {max_connections})")
    for what, fn in (("handler", handler), ("on_error", on_error)):
        try:
            pickle.dumps(fn)
        except Exception as ex:  # noqa: BLE001 - any pickling failure means the workers can't get it
            raise TypeError(
                f"serve_processes: {what} must be picklable (a module-level function or a functools.partial of one), "
                f"but {fn!r} is not: {ex}"
            ) from ex
    loop = current_loop()
    ctx = multiprocessing.get_context("spawn")
    server = ServerProcesses(addr)
    _running.add(server)
    sw.on_release(server.stop)

    def start(port: int) -> _Worker:
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(
            target=_worker_main,
            args=(child_end, str(addr.ip), port, handler, backlog, max_connections, on_error or _print_error, backend),
            name="eio-server-worker",
        )
        proc.start()
        child_end.close()
        w = _Worker(proc, parent_end)
        server._workers.append(w)  # pyright: ignore[reportPrivateUsage] - built here
        loop.pending_external += 1
        threading.Thread(target=_watch, args=(w, loop), name=f"eio-server-worker-{proc.pid}", daemon=True).start()
        return w

    async def listening(w: _Worker) -> int:
        kind, value = await w.ready
        if kind != "listening":
            raise RuntimeError(f"serve_processes: worker process {w.pid} failed to start: {value}")
        assert isinstance(value, int)
        return value

    port = await listening(start(addr.port))
    server.addr = eio.net.Tcp(addr.ip, port)
    others = [start(port) for _ in range(count - 1)]
    for w in others:
        await listening(w)

    async def monitor(w: _Worker) -> None:
        code = await w.exited
        if not server._stopping:  # pyright: ignore[reportPrivateUsage] - its own server
            raise WorkerExited(f"serve_processes: worker process {w.pid} exited with code {code} while serving {server.addr}")

    for w in server._workers:  # pyright: ignore[reportPrivateUsage] - built here
        eio.fiber.fork_daemon(sw, monitor, w)
    return server


def _watch(w: _Worker, loop: Loop) -> None:
    """In a thread of the parent: report the worker's first message, then its exit."""
    try:
        msg = w.conn.recv()
    except (EOFError, OSError):
        msg = ("error", "it exited before listening")
    w.ready_r.resolve(msg)
    w.proc.join()  # also reaps it: no zombie
    code = w.proc.exitcode
    w.proc.close()  # its sentinel pipe
    w.exited_r.resolve(code)

    def done() -> None:
        loop.pending_external -= 1

    loop.call_soon_threadsafe(done)


# -- in a worker process ----------------------------------------------------------------


def _print_error(ex: Exception) -> None:
    """The default ``on_error``: one line for a network error (a client's reset is routine), else the traceback."""
    if isinstance(ex, eio.Io):
        notes = "; ".join(getattr(ex, "__notes__", []))
        print(f"eio server worker {os.getpid()}: {type(ex).__name__}: {ex} ({notes})", file=sys.stderr, flush=True)
    else:
        print(f"eio server worker {os.getpid()}: {''.join(traceback.format_exception(ex))}", file=sys.stderr, flush=True)


def _worker_main(
    conn: Conn,
    ip: str,
    port: int,
    handler: eio.net.ConnectionHandler,
    backlog: int,
    max_connections: int | None,
    on_error: eio.net.ErrorHandler,
    backend: str | None,
) -> None:
    # Ctrl-C signals the whole process group; the parent decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import eio_main

    stop, stopper = eio.Promise[None].create()

    def wait_for_stop() -> None:
        try:
            conn.recv()  # "stop", or end of file when the parent has gone
        except (EOFError, OSError):
            pass
        stopper.try_resolve(None)

    async def main(env: Any) -> None:
        async with eio.Switch.run(name="server worker") as sw:
            sock = await eio.net.listen(sw, env.net, eio.net.Tcp(ip, port), backlog=backlog, reuse_addr=True, reuse_port=True)
            bound = eio.net.listening_addr(sock)
            assert isinstance(bound, eio.net.Tcp)
            conn.send(("listening", bound.port))
            threading.Thread(target=wait_for_stop, name="eio-server-worker-stop", daemon=True).start()
            await eio.net.run_server(sock, handler, on_error=on_error, max_connections=max_connections, stop=stop)

    try:
        eio_main.run(main, backend=backend)
    except BaseException as ex:
        try:
            conn.send(("error", repr(ex)))
        except OSError:
            pass
        raise
    finally:
        conn.close()
