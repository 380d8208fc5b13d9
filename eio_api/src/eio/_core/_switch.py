"""Switches: a scope that owns fibers and resources (Eio's ``Switch``).

A switch does not finish until every fiber forked in it has finished; then
it runs its release hooks, last registered first, and raises the errors its
fibers (or its body) raised. A failure in any of them cancels the rest.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from contextvars import copy_context
from types import TracebackType

from ._cancel import FINISHED, ON, CancelContext, Cancelled, ContextFinished, DaemonsOnly
from ._errors import add_error, combined
from ._fiber import Fiber
from ._loop import Loop, current_fiber, current_loop_or_none, loop_state
from ._traps import COROUTINE_TYPE, as_coroutine, check_async_fns, wait

ReleaseFn = Callable[[], "Awaitable[object] | object"]


class SwitchFinished(ContextFinished):
    """The switch has finished: it can't run new fibers or take release hooks."""


class ReleaseHook:
    """A release hook registered with `Switch.on_release`; `remove` unregisters it."""

    __slots__ = ("_switch", "fn")

    def __init__(self, switch: Switch, fn: ReleaseFn) -> None:
        self._switch = switch
        self.fn: ReleaseFn = fn

    def remove(self) -> bool:
        """Unregister the hook; False if it already ran (or was removed)."""
        hooks = self._switch._hooks  # pyright: ignore[reportPrivateUsage] - the two classes are one unit
        if hooks is None or self not in hooks:
            return False
        del hooks[self]
        return True


class Switch:
    """A scope for fibers and resources. Create one with ``async with Switch.run() as sw``."""

    __slots__ = ("_cc", "_loop", "_fibers", "_daemons", "_errors", "_hooks", "_waiter", "_on_fiber_exit", "name")

    def __init__(self, cc: CancelContext, loop: Loop, name: str) -> None:
        self._cc = cc
        self._loop = loop
        self._fibers = 1  # the body of the `async with` counts as one
        self._daemons = 0
        self._errors: list[BaseException] = []
        self._hooks: dict[ReleaseHook, None] | None = {}
        self._waiter: Fiber | None = None
        self._on_fiber_exit = self.fiber_exit  # bound once, not once per fork
        self.name: str = name

    def start_fiber(self, fn: Callable[..., Awaitable[object]], args: tuple[object, ...], who: str) -> bool:
        """`eio.fiber.fork`'s work: start ``fn(*args)`` in a new fiber of this switch.

        Returns False, without calling ``fn``, if the switch is cancelled; raises
        if it is finished or belongs to another domain. The common case is
        written out in full because it is the cost of every fork.
        """
        loop = self._loop
        cc = self._cc
        if loop_state.loop is not loop or cc.state != ON or type(fn) is COROUTINE_TYPE:
            check_async_fns((fn,), who)  # a coroutine object given by mistake: a clear error
            self.check_our_domain()
            return False  # cancelled: Eio doesn't run fn at all
        result = fn(*args)
        coro = result if type(result) is COROUTINE_TYPE else as_coroutine(result, fn, who)
        self._fibers += 1
        loop.start(Fiber(loop, coro, cc, copy_context(), self._on_fiber_exit))
        return True

    @staticmethod
    def run(name: str = "") -> SwitchScope:
        """``async with Switch.run() as sw``: a new switch, cancelled when the caller is."""
        return SwitchScope(name, protected=False)

    @staticmethod
    def run_protected(name: str = "") -> SwitchScope:
        """Like `run`, but the switch is not cancelled when the caller's context is."""
        return SwitchScope(name, protected=True)

    def __repr__(self) -> str:
        return f"<Switch {self.name or hex(id(self))} fibers={self._fibers} {self._cc!r}>"

    @property
    def cancel_context(self) -> CancelContext:
        """The cancellation context the switch's fibers run in."""
        return self._cc

    def is_finished(self) -> bool:
        """Whether the switch has finished (no more fibers or hooks can be added)."""
        return self._cc.state == FINISHED

    def check_our_domain(self) -> None:
        """Raise unless the switch is usable from here: not finished, and owned by this thread's loop."""
        if self._cc.state == FINISHED:
            raise SwitchFinished("Switch finished!")
        if current_loop_or_none() is not self._loop:
            raise RuntimeError("Switch accessed from wrong domain!")

    def check(self) -> None:
        """Raise `Cancelled` if the switch is cancelled, or an error if it has finished."""
        if self._cc.state == FINISHED:
            raise SwitchFinished("Switch finished!")
        self._cc.check()

    def get_error(self) -> BaseException | None:
        """The error `check` would raise, or None."""
        if self._cc.state == FINISHED:
            return SwitchFinished("Switch finished!")
        return self._cc.get_error()

    def fail(self, error: BaseException) -> None:
        """Record ``error`` and cancel the switch: its fibers get `Cancelled`."""
        self.check_our_domain()
        add_error(self._errors, error)
        try:
            self._cc.cancel(error)
        except BaseException as ex:  # noqa: BLE001 - a failing cancel function is one more error
            add_error(self._errors, ex)

    def on_release(self, fn: ReleaseFn) -> ReleaseHook:
        """Run ``fn`` (sync or async) when the switch finishes, in its own protected context.

        Hooks run last-registered first. On a finished switch, a synchronous
        ``fn`` is run at once and `SwitchFinished` raised (with ``fn``'s own
        error, if it failed, as its ``__cause__``: Eio's ``Release_error``);
        an async one can't be run from here and only `SwitchFinished` is raised.
        """
        hooks = self._hooks
        if hooks is None:
            if not inspect.iscoroutinefunction(fn):
                try:
                    result = fn()
                    if inspect.iscoroutine(result):
                        result.close()  # can't be awaited from a synchronous call
                except BaseException as ex:
                    raise SwitchFinished("Switch finished!") from ex
            raise SwitchFinished("Switch finished!")
        hook = ReleaseHook(self, fn)
        hooks[hook] = None
        return hook

    # -- fiber accounting (Eio's with_op / with_daemon) ----------------------

    def inc_fibers(self) -> None:
        """Count one more fiber in the switch (raises if it is cancelled or finished)."""
        cc = self._cc
        if cc.state != ON:
            self.check()
        self._fibers += 1

    def dec_fibers(self) -> None:
        """Count one fiber less; cancel daemons when only they remain; wake the owner when idle."""
        self._fibers -= 1
        if self._daemons and self._fibers == self._daemons and self._cc.state == ON:
            try:
                self._cc.cancel(DaemonsOnly())
            except BaseException as ex:  # noqa: BLE001 - exit bookkeeping must not raise
                add_error(self._errors, ex)
        if self._fibers == 0:
            waiter = self._waiter
            if waiter is not None:
                self._waiter = None
                waiter.wake(None)

    def fiber_exit(self, fiber: Fiber, result: object, error: BaseException | None) -> None:
        """``on_exit`` for a fiber forked with `eio.fiber.fork`."""
        if error is not None:
            self._fail_quietly(error)
        n = self._fibers - 1
        if n and not self._daemons:
            self._fibers = n  # the common case of dec_fibers: nothing else to do
        else:
            self.dec_fibers()

    def daemon_exit(self, fiber: Fiber, result: object, error: BaseException | None) -> None:
        """``on_exit`` for a daemon fiber."""
        self._daemons -= 1
        if error is not None and not (
            isinstance(error, Cancelled) and isinstance(error.reason, DaemonsOnly) and self._cc.state != ON
        ):
            self._fail_quietly(error)
        self.dec_fibers()

    def _fail_quietly(self, error: BaseException) -> None:
        # A fiber that ends after its switch was abandoned (the loop is being
        # torn down) has nowhere to report to.
        if self._cc.state == FINISHED:
            return
        add_error(self._errors, error)
        try:
            self._cc.cancel(error)
        except BaseException as ex:  # noqa: BLE001
            add_error(self._errors, ex)

    async def _await_idle(self, fiber: Fiber) -> None:
        """Wait, uncancellably, for every fiber; then run release hooks (Eio's await_idle).

        If the owner's coroutine is closed meanwhile (GeneratorExit), the
        hooks not yet run are abandoned (see `_abandon`) and it propagates.
        """
        while True:
            while self._fibers > 0:
                self._waiter = fiber
                try:
                    await wait()
                except GeneratorExit:
                    self._waiter = None
                    self._abandon()
                    raise
            hooks = self._hooks
            if hooks is None:
                return
            self._hooks = None
            pending = list(hooks)
            pending.reverse()
            for i, hook in enumerate(pending):
                try:
                    await self._run_hook(fiber, hook.fn)
                except GeneratorExit:
                    self._abandon(pending[i + 1 :])
                    raise
            if self._fibers == 0:
                return

    async def _run_hook(self, fiber: Fiber, fn: ReleaseFn) -> None:
        cc = fiber.cc
        protected = CancelContext(self._loop, cc, protected=True, name="release hook")
        fiber.move_to(protected)
        try:
            result = fn()
            if inspect.isawaitable(result):
                await result
        except GeneratorExit:
            raise  # the owner is being closed: not the hook's failure
        except BaseException as ex:  # noqa: BLE001 - reported through the switch
            add_error(self._errors, ex)
            try:
                self._cc.cancel(ex)
            except BaseException as ex2:  # noqa: BLE001
                add_error(self._errors, ex2)
        finally:
            fiber.move_to(cc)
            protected.finish()

    def _abandon(self, pending: list[ReleaseHook] | None = None) -> None:
        """The owner's coroutine is being closed: finish without waiting (never suspends).

        Synchronous release hooks still run (``pending``, in running order, or
        else every registered hook), so resources are not leaked; async ones
        can't be awaited any more.
        """
        if pending is None:
            hooks = self._hooks
            pending = list(hooks) if hooks else []
            pending.reverse()
        self._hooks = None
        for hook in pending:
            if not inspect.iscoroutinefunction(hook.fn):
                try:
                    result = hook.fn()
                    if inspect.iscoroutine(result):
                        result.close()
                except Exception:  # noqa: BLE001 - nothing can report it now
                    pass


class SwitchScope:
    """The async context manager returned by `Switch.run` and `Switch.run_protected`."""

    __slots__ = ("_name", "_protected", "_switch", "_fiber", "_parent_cc")

    def __init__(self, name: str, protected: bool) -> None:
        self._name = name
        self._protected = protected
        self._switch: Switch | None = None
        self._fiber: Fiber | None = None
        self._parent_cc: CancelContext | None = None

    async def __aenter__(self) -> Switch:
        if self._switch is not None:
            raise RuntimeError("a Switch.run() scope can only be entered once")
        fiber = current_fiber()
        parent = fiber.cc
        if not self._protected and parent.state != ON:
            parent.check()
        cc = CancelContext(fiber.loop, parent, self._protected, self._name or "switch")
        fiber.move_to(cc)
        sw = Switch(cc, fiber.loop, self._name)
        self._switch = sw
        self._fiber = fiber
        self._parent_cc = parent
        return sw

    async def __aexit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        # Never swallows the body's error: returning (None) re-raises it as
        # itself, with its traceback intact, when it is the only error.
        sw = self._switch
        fiber = self._fiber
        parent = self._parent_cc
        assert sw is not None and fiber is not None and parent is not None
        cc = sw._cc  # pyright: ignore[reportPrivateUsage] - the scope is part of the switch
        if isinstance(exc, GeneratorExit):
            # The coroutine is being closed: suspending now is not allowed.
            sw._abandon()  # pyright: ignore[reportPrivateUsage]
            if fiber in cc.fibers:
                # (Not when the coroutine outlived its fiber: driven by hand, closed later.)
                fiber.move_to(parent)
            cc.finish()
            return
        sw.dec_fibers()
        if exc is not None:
            sw.fail(exc)
        try:
            await sw._await_idle(fiber)  # pyright: ignore[reportPrivateUsage]
        finally:
            # (Also when closed meanwhile: the hooks were abandoned, GeneratorExit propagates.)
            fiber.move_to(parent)
            cc.finish()
        errors = sw._errors  # pyright: ignore[reportPrivateUsage]
        if not errors:
            return
        error = combined(errors)
        if error is exc:
            return
        raise error
