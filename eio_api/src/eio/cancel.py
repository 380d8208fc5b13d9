"""Cancellation scopes (Eio's ``Cancel``).

``with protect():`` shields a block from the caller's cancellation;
``with sub() as cc:`` gives a child context that ``cc.cancel(exc)`` cancels.
A cancelled fiber gets `Cancelled` (with ``.reason``) at its next suspension.
"""

from ._core._cancel import CancelContext, Cancelled, ContextFinished, DaemonsOnly
from ._core._scopes import protect, sub

__all__ = ["CancelContext", "Cancelled", "ContextFinished", "DaemonsOnly", "protect", "sub"]
