"""``with protect()`` and ``with sub()``: run a block in a new cancellation context."""

from __future__ import annotations

from types import TracebackType

from ._cancel import ON, CancelContext
from ._fiber import Fiber
from ._loop import current_fiber


class _Scope:
    """The shared part of `protect` and `sub`: move the fiber into a new context, and back."""

    __slots__ = ("_protected", "_name", "_fiber", "_parent", "_cc")

    def __init__(self, protected: bool, name: str) -> None:
        self._protected = protected
        self._name = name
        self._fiber: Fiber | None = None
        self._parent: CancelContext | None = None
        self._cc: CancelContext | None = None

    def __enter__(self) -> CancelContext:
        if self._cc is not None:
            raise RuntimeError("a cancellation scope can only be entered once")
        fiber = current_fiber()
        parent = fiber.cc
        if not self._protected and parent.state != ON:
            parent.check()
        cc = CancelContext(fiber.loop, parent, self._protected, self._name)
        fiber.move_to(cc)
        self._fiber = fiber
        self._parent = parent
        self._cc = cc
        return cc

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        fiber, parent, cc = self._fiber, self._parent, self._cc
        assert fiber is not None and parent is not None and cc is not None
        fiber.move_to(parent)
        cc.finish()


class protect(_Scope):  # noqa: N801 - used as a function-like context manager, like Eio's Cancel.protect
    """``with protect():`` runs the block in a context its parent's cancellation can't reach.

    Use it for clean-up that must finish even when the surrounding work is
    being cancelled. The parent context is not checked on the way out.
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(True, "protect")


class sub(_Scope):  # noqa: N801
    """``with sub() as cc:`` runs the block in a new child context; ``cc.cancel(exc)`` cancels just it.

    Entering raises `Cancelled` if the current context is already cancelled.
    """

    __slots__ = ()

    def __init__(self, name: str = "sub") -> None:
        super().__init__(False, name)
