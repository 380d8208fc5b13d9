"""Configurable responses for mocks (Eio's ``Eio_mock.Handler``).

A mock keeps one `Handler` per operation (a flow's reads, a network's
connects). Tests configure it with `Handler.seq` (actions used one per call,
in order) and `Handler.set_default` (the action used once those run out);
the mock calls ``await handler.run()`` to get each result.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from eio.lowlevel import coroutine_of

from ._action import Action

__all__ = ["Handler", "NotConfigured"]

T = TypeVar("T")


class NotConfigured(RuntimeError):
    """A mock was called, but it has no action left to perform (and no default)."""


class Handler(Generic[T]):
    """Decides what one mock operation returns, e.g. ``Handler[bytes]("flow: read")``.

    ``name`` names the operation in errors. ``default`` is the action used
    when no other is configured; without one, running the handler raises
    `NotConfigured`.
    """

    __slots__ = ("name", "_default", "_actions", "_fn")

    def __init__(self, name: str, default: Action[T] | None = None) -> None:
        self.name = name
        self._default = default
        self._actions: deque[Action[T]] = deque()
        self._fn: Callable[[], Awaitable[T]] | None = None

    def __repr__(self) -> str:
        return f"<Handler {self.name}: {len(self._actions)} actions queued, default {self._default!r}>"

    def seq(self, actions: Iterable[Action[T]]) -> None:
        """Perform ``actions`` one per call, in order; then the default action.

        Replaces whatever was configured before (actions or a function).
        """
        self._actions = deque(actions)
        self._fn = None

    def set_default(self, action: Action[T] | None) -> None:
        """Use ``action`` when no other is configured (None: raise `NotConfigured`)."""
        self._default = action

    def set_handler(self, fn: Callable[[], Awaitable[T]]) -> None:
        """Call ``await fn()`` on every run instead, replacing any queued actions."""
        self._actions.clear()
        self._fn = fn

    async def run(self) -> T:
        """Perform the next configured action (used by the mock on each call)."""
        fn = self._fn
        if fn is not None:
            return await coroutine_of(fn, (), f"{self.name} handler")
        actions = self._actions
        if actions:
            return await actions.popleft().run()
        return await self.run_default_action()

    async def run_default_action(self) -> T:
        """Perform the default action, or raise `NotConfigured` if there is none."""
        default = self._default
        if default is None:
            raise NotConfigured(f"{self.name}: no more results configured")
        return await default.run()
