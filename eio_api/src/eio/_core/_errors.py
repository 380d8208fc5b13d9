"""Combining the errors of concurrent fibers (Eio's ``Exn.combine``).

Errors are kept in the order they happened, the same exception object is
kept once, and a `Cancelled` is dropped as soon as there is a real error to
report (it is only a consequence of that error).
"""

from __future__ import annotations

from typing import NoReturn

from ._cancel import Cancelled


def add_error(errors: list[BaseException], ex: BaseException) -> None:
    """Add ``ex`` to ``errors`` following Eio's rules for combining errors."""
    if not errors:
        errors.append(ex)
        return
    for seen in errors:
        if seen is ex:
            return
    if isinstance(ex, Cancelled):
        return
    if len(errors) == 1 and isinstance(errors[0], Cancelled):
        errors[0] = ex
        return
    errors.append(ex)


def combined(errors: list[BaseException]) -> BaseException:
    """One exception standing for ``errors`` (which must not be empty)."""
    if len(errors) == 1:
        return errors[0]
    if all(isinstance(e, Exception) for e in errors):
        return ExceptionGroup("Multiple exceptions", [e for e in errors if isinstance(e, Exception)])
    return BaseExceptionGroup("Multiple exceptions", errors)


def raise_combined(errors: list[BaseException]) -> NoReturn:
    """Raise the combination of ``errors`` (after applying `add_error` to each)."""
    acc: list[BaseException] = []
    for e in errors:
        add_error(acc, e)
    raise combined(acc)
