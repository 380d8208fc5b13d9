"""An eio loop living inside an asyncio event loop.

`AsyncioPoller` is the `eio.lowlevel.ReadinessPoller` of such a loop. It works
in one of two ways:

- hosted (`host_for`): the asyncio loop is running and eio is a guest. Each
  turn of the eio loop (`Loop.step`) is a plain asyncio callback, scheduled
  with ``call_soon`` while fibers are ready, ``call_at`` for the next eio
  timer, and ``call_soon_threadsafe`` when another thread (or a signal
  handler) wakes the loop. There is no driver task: a callback costs a
  fraction of a task step.
- self-driven (`new_domain_loop`): eio's `Loop.run` drives, and its
  ``poll(timeout)`` runs the asyncio loop until something wakes a fiber or
  the timeout passes. A domain (an OS thread of ``env.domain_mgr``) runs
  this way, since it has no asyncio code of its own to host it.

Readiness comes from asyncio (``add_reader``/``add_writer``). A fiber that
wakes, reads, writes and waits again usually does it all within one step,
so a descriptor stays registered until the end of the step in which it was
ready: a wait in that step reuses the registration and costs no call into
asyncio. Then registrations nobody waits on are dropped, since shared code
closes a descriptor without telling the poller when nobody waits on it; a
descriptor closed and its number reused within the step is recognised by
its inode and device (``fstat``) and registered afresh. An event asyncio took
before such a wait may wake the fiber while its descriptor is no longer
ready: the readiness contract allows it (callers retry the non-blocking call,
or check before a blocking one), and it saves a system call per wake-up.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Callable

from eio.lowlevel import ON, Fiber, Loop, current_fiber, wait


def backend_id_of(aloop: asyncio.AbstractEventLoop) -> str:
    """The backend's name for fibers hosted in ``aloop``: ``asyncio``, or ``asyncio-uvloop`` on uvloop."""
    # By the class's module, so that uvloop is never imported only to check.
    return "asyncio-uvloop" if type(aloop).__module__.startswith("uvloop") else "asyncio"


# One hosted eio loop per asyncio loop, so that every `run_eio` call in it
# shares fibers, promises and streams.
_hosts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncioPoller] = weakref.WeakKeyDictionary()


class AsyncioPoller:
    """A readiness poller backed by an asyncio event loop (see the module docstring)."""

    __slots__ = (
        "_aloop_ref",
        "_owned",
        "loop",
        "hosted",
        "_readers",
        "_writers",
        "_scheduled",
        "_timer",
        "_timer_at",
        "_wakeup",
        "calls",
        "closed",
        "on_idle",
        "__weakref__",
    )

    def __init__(self, aloop: asyncio.AbstractEventLoop, hosted: bool) -> None:
        # A weak reference: the poller is the value of a WeakKeyDictionary keyed by the asyncio loop.
        self._aloop_ref = weakref.ref(aloop)
        # A self-driven poller owns its asyncio loop (nothing else refers to it).
        self._owned = None if hosted else aloop
        self.loop = Loop(self, backend_id=backend_id_of(aloop))
        self.hosted = hosted
        self._readers = _Interest(self, readable=True)
        self._writers = _Interest(self, readable=False)
        # A step (hosted) or a stop of the asyncio loop (self-driven) is queued.
        self._scheduled = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._wakeup: Callable[[], None] = self._step if hosted else self._stop
        # asyncio calls (`run_asyncio`) in flight: each will wake a fiber.
        self.calls = 0
        self.closed = False
        # Told when a step leaves nothing to do (deadlock detection, when the program owns the loop).
        self.on_idle: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"<AsyncioPoller {'hosted' if self.hosted else 'self-driven'} on {self.aloop!r}>"

    @property
    def aloop(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop (it outlives every use of the poller)."""
        aloop = self._aloop_ref()
        if aloop is None:
            raise RuntimeError("the asyncio loop hosting this eio loop is gone")
        return aloop

    # -- waking ------------------------------------------------------------------

    def kick(self) -> None:
        """Make the eio loop take a turn soon (the asyncio loop's own thread only, outside signal handlers)."""
        if self.hosted:
            if not self._scheduled:
                self._scheduled = True
                self.aloop.call_soon(self._step)
        else:
            self.aloop.stop()

    def notify(self) -> None:
        """Make the eio loop take a turn soon: any thread, and signal handlers."""
        # call_soon_threadsafe also wakes an asyncio loop asleep in the kernel
        # (it writes to the loop's self-pipe), which plain call_soon would not
        # do for a signal handler that ran while the loop was in select().
        if not self._scheduled:
            self._scheduled = True
            try:
                self.aloop.call_soon_threadsafe(self._wakeup)
            except RuntimeError:
                self._scheduled = False  # the asyncio loop is closed: nothing left to wake

    def _stop(self) -> None:
        self._scheduled = False
        self.aloop.stop()

    # -- the hosted driver ----------------------------------------------------------

    def _step(self) -> None:
        self._scheduled = False
        loop = self.loop
        try:
            loop.step()
        finally:
            # Even if a callback of the loop failed (asyncio logs it), the fibers go on.
            self.sweep()
            self._schedule_next()

    def _schedule_next(self) -> None:
        loop = self.loop
        timeout = loop.next_timeout()
        if timeout is None:
            if self.on_idle is not None:
                self.on_idle()
            return
        aloop = self.aloop
        if timeout == 0:
            if not self._scheduled:
                self._scheduled = True
                aloop.call_soon(self._step)
            return
        at = aloop.time() + timeout
        timer = self._timer
        # A pending host timer due no later than needed is kept: one that fires
        # early costs a step that finds nothing due, cheaper than re-arming it
        # after every step.
        if timer is None or self._timer_at > at:
            if timer is not None:
                timer.cancel()
            self._timer_at = at
            self._timer = aloop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self._scheduled:
            self._step()

    # -- the self-driven loop (Poller.poll) -------------------------------------------

    def poll(self, loop: Loop, timeout: float | None) -> None:
        """Run the asyncio loop until a fiber is woken or ``timeout`` seconds pass (self-driven mode only)."""
        self.sweep()  # before any asyncio code runs: see the module docstring
        aloop = self.aloop
        if timeout is None:
            handle = None
        elif timeout == 0 or loop.inbox:
            handle = aloop.call_soon(aloop.stop)
        else:
            handle = aloop.call_later(timeout, aloop.stop)
        try:
            aloop.run_forever()
        finally:
            if handle is not None:
                handle.cancel()

    def busy(self) -> bool:
        """Whether a fiber waits on a descriptor or an asyncio call is in flight."""
        return bool(self.calls) or self._readers.waiting() or self._writers.waiting()

    def close(self) -> None:
        """Unregister every descriptor; a self-driven poller also closes its asyncio loop."""
        if self.closed:
            return
        self.closed = True
        aloop = self._aloop_ref()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if aloop is None or aloop.is_closed():
            return
        self._readers.drop_all(aloop)
        self._writers.drop_all(aloop)
        if not self.hosted:
            _hosts.pop(aloop, None)
            aloop.run_until_complete(aloop.shutdown_asyncgens())
            aloop.close()
            self._owned = None

    # -- readiness waits ------------------------------------------------------------

    async def wait_readable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be readable (cancellable)."""
        await self._readers.wait(fd)

    async def wait_writable(self, fd: int, /) -> None:
        """Suspend until ``fd`` may be writable (cancellable)."""
        await self._writers.wait(fd)

    def notify_closing(self, fd: int, error: BaseException, /) -> None:
        """Unregister ``fd`` and raise ``error`` in the fibers waiting on it (before it is closed)."""
        woke = self._readers.closing(fd, error)
        woke = self._writers.closing(fd, error) or woke
        if woke and threading.get_ident() != self.loop.thread_id:
            self.kick()  # called between two steps: the woken fibers need one

    def sweep(self) -> None:
        """Drop the registrations of descriptors that were ready and that nobody waits on again."""
        if self._readers.lingering:
            self._readers.sweep()
        if self._writers.lingering:
            self._writers.sweep()


class _Interest:
    """One direction (readable or writable) of the descriptors a poller watches."""

    __slots__ = ("poller", "readable", "waiters", "inodes", "lingering")

    def __init__(self, poller: AsyncioPoller, readable: bool) -> None:
        self.poller = poller
        self.readable = readable
        # Registered descriptors -> the fiber waiting (None: ready this step, nobody waits yet).
        self.waiters: dict[int, Fiber | None] = {}
        # Registered descriptors -> (inode, device) when registered, to recognise a reused number.
        self.inodes: dict[int, tuple[int, int]] = {}
        # Descriptors that were ready since the last sweep.
        self.lingering: list[int] = []

    def _add(self, aloop: asyncio.AbstractEventLoop, fd: int) -> None:
        if self.readable:
            aloop.add_reader(fd, self.ready, fd)
        else:
            aloop.add_writer(fd, self.ready, fd)

    def _remove(self, aloop: asyncio.AbstractEventLoop, fd: int) -> None:
        if self.readable:
            aloop.remove_reader(fd)
        else:
            aloop.remove_writer(fd)

    async def wait(self, fd: int) -> None:
        fiber = current_fiber()
        cc = fiber.cc
        if cc.state != ON:
            cc.check()
        waiters = self.waiters
        aloop = self.poller.aloop
        if fd in waiters:
            if waiters[fd] is not None:
                what = "readable" if self.readable else "writable"
                raise RuntimeError(f"another fiber is already waiting for descriptor {fd} to be {what}")
            st = os.fstat(fd)
            if (st.st_ino, st.st_dev) != self.inodes[fd]:
                # Closed and the number reused since it was ready: the old registration is dead.
                self._remove(aloop, fd)
                self._add(aloop, fd)
                self.inodes[fd] = (st.st_ino, st.st_dev)
        else:
            self._add(aloop, fd)
            st = os.fstat(fd)
            self.inodes[fd] = (st.st_ino, st.st_dev)
        waiters[fd] = fiber

        def cancel(error: BaseException) -> None:
            if waiters.get(fd) is fiber:
                del waiters[fd]
                self.inodes.pop(fd, None)
                self._remove(aloop, fd)
            fiber.wake_error(error)

        fiber.cancel_fn = cancel
        await wait()

    def ready(self, fd: int) -> None:
        """asyncio's callback: wake the fiber waiting on ``fd``; keep the registration until the sweep."""
        waiters = self.waiters
        fiber = waiters.get(fd)
        poller = self.poller
        if fiber is None:
            waiters.pop(fd, None)
            self.inodes.pop(fd, None)
            self._remove(poller.aloop, fd)
            return
        waiters[fd] = None
        self.lingering.append(fd)
        fiber.wake(None)
        poller.kick()

    def sweep(self) -> None:
        waiters = self.waiters
        aloop = self.poller.aloop
        for fd in self.lingering:
            if fd in waiters and waiters[fd] is None:
                del waiters[fd]
                self.inodes.pop(fd, None)
                self._remove(aloop, fd)
        self.lingering.clear()

    def closing(self, fd: int, error: BaseException) -> bool:
        """Unregister ``fd``; raise ``error`` in its waiter, if any (True then)."""
        if fd not in self.waiters:
            return False
        fiber = self.waiters.pop(fd)
        self.inodes.pop(fd, None)
        self._remove(self.poller.aloop, fd)
        if fiber is None:
            return False
        fiber.wake_error(error)
        return True

    def waiting(self) -> bool:
        """Whether a fiber waits in this direction."""
        return any(f is not None for f in self.waiters.values())

    def drop_all(self, aloop: asyncio.AbstractEventLoop) -> None:
        for fd in self.waiters:
            self._remove(aloop, fd)
        self.waiters.clear()
        self.inodes.clear()
        self.lingering.clear()


def host_for(aloop: asyncio.AbstractEventLoop) -> AsyncioPoller:
    """The eio loop hosted in the asyncio loop ``aloop`` (made on first use; one per asyncio loop)."""
    poller = _hosts.get(aloop)
    if poller is None:
        poller = AsyncioPoller(aloop, hosted=True)
        _hosts[aloop] = poller
    return poller


def new_domain_loop(new_event_loop: Callable[[], asyncio.AbstractEventLoop]) -> Loop:
    """A self-driven eio loop on a new asyncio loop (for a domain's thread; closing its poller closes both)."""
    aloop = new_event_loop()
    poller = AsyncioPoller(aloop, hosted=False)
    _hosts[aloop] = poller
    return poller.loop
