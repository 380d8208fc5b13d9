"""What a mock does when it is called (Eio's ``Eio_mock.Action``).

An action either gives a value (`Return`, `Await`, `Run`), raises (`Raise`),
or first lets other fibers run (`YieldThen`). ``await action.run()``
performs it; ``action.map(f)`` is the action that gives ``f`` of its value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, NoReturn, TypeVar, Union

import eio
from eio.lowlevel import coroutine_of

__all__ = ["Action", "Await", "Raise", "Return", "Run", "YieldThen", "run"]

T = TypeVar("T")
U = TypeVar("U")


class Return(Generic[T]):
    """Give ``value`` at once, without switching fibers."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Return({self.value!r})"

    async def run(self) -> T:
        """Perform the action: return the value."""
        return self.value

    def map(self, f: Callable[[T], U]) -> Return[U]:
        """``Return(f(value))``."""
        return Return(f(self.value))


class Raise:
    """Raise ``error`` (each time the action is performed)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        if not isinstance(error, BaseException):  # pyright: ignore[reportUnnecessaryIsInstance] - callers may be untyped
            raise TypeError(f"Raise expects an exception, not {type(error).__name__}")
        self.error = error

    def __repr__(self) -> str:
        return f"Raise({self.error!r})"

    async def run(self) -> NoReturn:
        """Perform the action: raise the error."""
        # The same exception object may be raised many times: start each
        # traceback afresh rather than growing the previous one.
        raise self.error.with_traceback(None)

    def map(self, f: Callable[[object], object]) -> Raise:
        """The same action: there is no value to map."""
        return self


class Await(Generic[T]):
    """Wait for ``promise``: give its value, or raise its error."""

    __slots__ = ("promise",)

    def __init__(self, promise: eio.Promise[T]) -> None:
        self.promise = promise

    def __repr__(self) -> str:
        return f"Await({self.promise!r})"

    async def run(self) -> T:
        """Perform the action: await the promise."""
        return await self.promise

    def map(self, f: Callable[[T], U]) -> Run[U]:
        """An action that awaits the promise and gives ``f`` of its value."""
        promise = self.promise

        async def mapped() -> U:
            return f(await promise)

        return Run(mapped)


class YieldThen(Generic[T]):
    """Let the other ready fibers run (`eio.fiber.yield_`), then perform ``action``."""

    __slots__ = ("action",)

    def __init__(self, action: Action[T]) -> None:
        self.action = action

    def __repr__(self) -> str:
        return f"YieldThen({self.action!r})"

    async def run(self) -> T:
        """Perform the action: yield, then perform the inner action."""
        await eio.fiber.yield_()
        return await self.action.run()

    def map(self, f: Callable[[T], U]) -> YieldThen[U]:
        """``YieldThen(action.map(f))``."""
        return YieldThen(map(f, self.action))


class Run(Generic[T]):
    """Run ``await fn()`` and give its result: any behaviour at all."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], Awaitable[T]]) -> None:
        self.fn = fn

    def __repr__(self) -> str:
        return f"Run({getattr(self.fn, '__qualname__', self.fn)})"

    async def run(self) -> T:
        """Perform the action: call the function."""
        return await coroutine_of(self.fn, (), "eio_mock.Run")

    def map(self, f: Callable[[T], U]) -> Run[U]:
        """An action that runs the function and gives ``f`` of its result."""
        fn = self.fn

        async def mapped() -> U:
            return f(await coroutine_of(fn, (), "eio_mock.Run"))

        return Run(mapped)


Action = Union[Return[T], Raise, Await[T], YieldThen[T], Run[T]]
"""Any of the actions, giving a value of type ``T``."""


async def run(action: Action[T]) -> T:
    """Perform ``action`` and return what it gives."""
    return await action.run()


def map(f: Callable[[T], U], action: Action[T]) -> Action[U]:  # noqa: A001 - Eio's name
    """The action that performs ``action`` and gives ``f`` of its value."""
    if isinstance(action, Raise):
        return action
    return action.map(f)
