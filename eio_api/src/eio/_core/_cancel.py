"""The cancellation tree.

Every fiber is in exactly one cancellation context. Contexts form a tree per
domain; cancelling a context marks it and its non-protected descendants as
cancelling and calls the cancel function of every fiber suspended in them, so
that each pending operation finishes promptly with `Cancelled`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._fiber import Fiber


class Cancelled(BaseException):
    """Raised in a fiber whose cancellation context was cancelled.

    ``reason`` is the exception that caused the cancellation (for a switch,
    the error that made it fail). It is a `BaseException` so that a bare
    ``except Exception`` in user code does not swallow it.
    """

    reason: BaseException

    def __init__(self, reason: BaseException) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"Cancelled: {self.reason!r}"


class DaemonsOnly(Exception):
    """The reason daemon fibers are cancelled: only daemons were left in their switch.

    Daemons that end with ``Cancelled(DaemonsOnly())`` are not reported as errors.
    """

    def __init__(self) -> None:
        super().__init__("only daemon fibers remain in the switch")


class ContextFinished(RuntimeError):
    """A cancellation context (or its switch) was used after it finished."""


ON = 0
CANCELLING = 1
FINISHED = 2


class CancelContext:
    """A node of the cancellation tree (Eio's ``Cancel.t``).

    ``reason`` is None while the context is on. Fibers are kept in the order
    they joined (a dict used as an ordered set), because the order in which
    cancel functions run decides the order in which fibers wake.
    """

    __slots__ = ("state", "reason", "protected", "parent", "children", "fibers", "loop", "name")

    def __init__(self, loop: object, parent: CancelContext | None, protected: bool, name: str = "") -> None:
        self.state: int = ON
        self.reason: BaseException | None = None
        self.protected: bool = protected
        self.parent: CancelContext | None = parent
        self.children: dict[CancelContext, None] = {}
        self.fibers: dict[Fiber, None] = {}
        self.loop: object = loop
        self.name: str = name
        if parent is not None:
            parent.children[self] = None

    def __repr__(self) -> str:
        state = ("on", "cancelling", "finished")[self.state]
        return f"<CancelContext {self.name or hex(id(self))} {state}{' (protected)' if self.protected else ''}>"

    def is_on(self) -> bool:
        """Whether the context has not been cancelled (nor finished)."""
        return self.state == ON

    def check(self) -> None:
        """Raise `Cancelled` if the context is cancelling; error if finished."""
        if self.state != ON:
            if self.state == CANCELLING:
                assert self.reason is not None
                raise Cancelled(self.reason)
            raise ContextFinished("Cancellation context finished!")

    def get_error(self) -> BaseException | None:
        """The error `check` would raise, or None."""
        if self.state == ON:
            return None
        if self.state == CANCELLING:
            assert self.reason is not None
            return Cancelled(self.reason)
        return ContextFinished("Cancellation context finished!")

    def finish(self) -> None:
        """Mark the context finished and unlink it from its parent."""
        self.state = FINISHED
        parent = self.parent
        if parent is not None:
            parent.children.pop(self, None)

    def cancel(self, reason: BaseException) -> None:
        """Cancel this context and its non-protected descendants.

        Each suspended fiber's cancel function is called once (children's
        fibers first, then this context's, each in joining order). Errors
        raised by cancel functions are combined and re-raised at the end.
        """
        if self.state == FINISHED:
            raise ContextFinished("Cancellation context finished!")
        if getattr(self.loop, "thread_id", None) != threading.get_ident():
            # Its fibers' cancel functions may only run on their own loop's
            # thread: from another one they would queue fibers on a loop that
            # is never told (Eio: "wrong domain").
            raise RuntimeError("Cancellation context accessed from wrong domain!")
        tracer = getattr(self.loop, "tracer", None)
        if tracer is not None:
            tracer.cancelled(self.name, reason)
        fibers: list[Fiber] = []
        self._mark(reason, fibers)
        if not fibers:
            return
        errors: list[BaseException] = []
        for fiber in fibers:
            fn = fiber.cancel_fn
            if fn is not None:
                fiber.cancel_fn = None
                try:
                    fn(Cancelled(reason))
                except BaseException as ex:  # noqa: BLE001 - every failure is reported below
                    errors.append(ex)
        if errors:
            from ._errors import raise_combined

            raise_combined(errors)

    def _mark(self, reason: BaseException, acc: list[Fiber]) -> None:
        if self.state != ON:
            return
        self.state = CANCELLING
        self.reason = reason
        for child in list(self.children):
            if not child.protected:
                child._mark(reason, acc)
        acc.extend(self.fibers)


CancelFn = Callable[[Cancelled], None]
