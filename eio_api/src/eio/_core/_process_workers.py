"""`ExecutorPool` workers that are OS processes, each running its own eio loop.

Python code in different domains does not run in parallel (the interpreter
lock lets one thread run Python code at a time), so CPU-bound pure-Python
jobs need processes. A process worker is a child started with the
``spawn`` method (a fresh interpreter: forking a process that runs loops on
several threads is not safe), running an eio loop on the same backend as
the parent. Parent and child talk over a pipe:

- parent -> child: ``(job_id, pickled job)``, or None to stop;
- child -> parent: ``(job_id, ok, result or error)``.

The parent side is one fiber per child (in the domain that made the pool).
It takes jobs from the pool's queue while the weights of the child's running
jobs sum to less than 1, exactly as a domain worker does, so weights mean
the same thing for both kinds of worker; the child runs each job in a new
fiber. Waiting for the pipe uses `run_in_systhread`, so the loop is never blocked.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
from importlib.metadata import entry_points
from typing import Any, Protocol

from ._cancel import Cancelled
from ._executor_pool import _Capacity, _Job  # pyright: ignore[reportPrivateUsage] - the pool's own worker bookkeeping
from ._loop import current_loop
from ._promise import Resolver
from ._scopes import protect
from ._stream import Stream, StreamClosed
from ._switch import Switch
from ._threads import run_in_systhread
from ._traps import coroutine_of

__all__ = ["run_process_worker"]


class Conn(Protocol):
    """One end of a `multiprocessing.Pipe` (a ``Connection``, or a ``PipeConnection`` on Windows)."""

    def send(self, obj: Any, /) -> None: ...
    def recv(self) -> Any: ...
    def send_bytes(self, buf: bytes, /) -> None: ...
    def recv_bytes(self) -> bytes: ...
    def close(self) -> None: ...


_Message = tuple[int, bool, object]


class WorkerProcessDied(RuntimeError):
    """An `ExecutorPool` worker process ended while it still had jobs (it crashed or was killed)."""


def _loads_job(data: bytes) -> Any:
    try:
        return pickle.loads(data)
    except Exception as ex:  # noqa: BLE001 - any failure to load the job is reported to its submitter
        raise TypeError(
            f"ExecutorPool: the worker process could not load the job ({ex}); a job must be importable by "
            "module and name in a fresh interpreter (not defined in a script run with -c or in an interactive session)"
        ) from ex


async def run_process_worker(queue: Stream[_Job[Any]], max_capacity: int) -> None:
    """Run one worker process for an `ExecutorPool` until the pool's queue is closed or this fiber is cancelled."""
    backend = current_loop().backend_id
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe()
    proc = ctx.Process(target=_child_main, args=(child_end, backend), name="eio-executor-pool-worker", daemon=True)
    proc.start()
    child_end.close()
    capacity = _Capacity()
    pending: dict[int, tuple[Resolver[Any], int]] = {}
    next_id = 0
    stopped = False

    async def read_results() -> None:
        while True:
            try:
                job_id, ok, value = await run_in_systhread(lambda: _recv(parent_end))
            except EOFError:
                break
            resolver, weight = pending.pop(job_id)
            if ok:
                resolver.resolve(value)
            else:
                resolver.resolve_error(value if isinstance(value, BaseException) else RuntimeError(repr(value)))
            capacity.release(weight)
        if not stopped:
            # It ended without being asked to: fail its jobs and this worker (so no new job is sent to it).
            await run_in_systhread(proc.join)
            n = len(pending)
            running = f"with {n} job{'s' if n != 1 else ''} running" if n else "while idle"
            error = WorkerProcessDied(f"ExecutorPool: worker process {proc.pid} exited with code {proc.exitcode} {running}")
            for resolver, _ in pending.values():
                resolver.try_resolve_error(error)
            raise error

    def send_stop() -> None:
        nonlocal stopped
        stopped = True
        try:
            parent_end.send_bytes(pickle.dumps(None))
        except OSError:
            pass  # the child has gone already

    try:
        async with Switch.run(name="process_worker") as sw:
            from ..fiber import fork

            fork(sw, read_results)
            try:
                while True:
                    while capacity.used >= max_capacity:
                        await capacity.wait_for_room()
                    try:
                        job = await queue.take()
                    except StreamClosed:
                        break
                    try:
                        data = pickle.dumps(job.fn)
                    except Exception as ex:  # noqa: BLE001 - any pickling failure: the job can't go to a process
                        error = TypeError(
                            f"ExecutorPool: a job run in a worker process must be picklable (a module-level async function "
                            f"or a functools.partial of one), but {job.fn!r} is not: {ex}"
                        )
                        error.__cause__ = ex
                        job.resolver.resolve_error(error)
                        continue
                    next_id += 1
                    pending[next_id] = (job.resolver, job.weight)
                    capacity.used += job.weight
                    try:
                        parent_end.send_bytes(pickle.dumps((next_id, data)))
                    except OSError as ex:
                        # The child has gone; the reader is about to say so and fail this worker.
                        del pending[next_id]
                        error = WorkerProcessDied(f"ExecutorPool: worker process {proc.pid} has gone: {ex}")
                        job.resolver.resolve_error(error)
                        raise error from ex
            finally:
                # The child cancels its running jobs and exits; the reader then sees the end of the pipe.
                send_stop()
    finally:
        with protect():
            await run_in_systhread(proc.join)
        proc.close()  # its sentinel pipe
        parent_end.close()
        for resolver, _ in pending.values():
            resolver.try_resolve_error(Cancelled(RuntimeError("the ExecutorPool's worker process was stopped")))


def _recv(conn: Conn) -> _Message:
    return pickle.loads(conn.recv_bytes())


# -- in the child -------------------------------------------------------------------------


def _find_backend_run(name: str) -> Any:
    """The ``run`` function of the backend called ``name``, found through the ``eio`` entry points."""
    found: dict[str, Any] = {}

    class _Registry:
        def register(self, info: Any, /) -> None:
            found[info.name] = info.run

    for ep in entry_points(group="eio"):
        module = ep.load()
        register = getattr(module, "eio_register_backends", None)
        if register is not None:
            register(_Registry())
        if name in found:
            return found[name]
    raise RuntimeError(f"ExecutorPool worker process: the eio backend {name!r} is not installed here")


def _child_main(conn: Conn, backend: str) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what happens
    # to its workers (stopping its pool stops them), so they ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    run = _find_backend_run(backend)

    async def main(_env: object) -> None:
        await _serve_jobs(conn)

    try:
        run(main)
    finally:
        conn.close()


class _Stop(Exception):
    pass


async def _serve_jobs(conn: Conn) -> None:
    from ..fiber import fork

    def recv() -> tuple[int, bytes] | None:
        try:
            data = conn.recv_bytes()
        except EOFError:
            return None  # the parent has gone
        msg = pickle.loads(data)
        return None if msg is None else msg

    async def run_job(job_id: int, data: bytes) -> None:
        try:
            fn = _loads_job(data)
            result = await coroutine_of(fn, (), "ExecutorPool.submit")
        except GeneratorExit:
            raise
        except BaseException as ex:  # noqa: BLE001 - reported to the submitter
            reply: _Message = (job_id, False, ex)
        else:
            reply = (job_id, True, result)
        try:
            out = pickle.dumps(reply)
        except Exception as ex:  # noqa: BLE001 - the result or error can't be sent back as it is
            what = "result" if reply[1] else "error"
            out = pickle.dumps(
                (job_id, False, TypeError(f"ExecutorPool: the job's {what} can't be pickled: {reply[2]!r}: {ex}"))
            )
        conn.send_bytes(out)

    try:
        async with Switch.run(name="worker_process") as sw:
            while True:
                msg = await run_in_systhread(recv)
                if msg is None:
                    raise _Stop
                fork(sw, run_job, msg[0], msg[1])
    except _Stop:
        pass
