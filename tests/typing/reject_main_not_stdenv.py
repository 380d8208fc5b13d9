"""pyright must reject: eio_main.run only runs a main that accepts an eio.Stdenv."""

import eio_mock
import eio_main


async def wants_int(env: int) -> None:
    """Not a program: its argument is no environment."""


async def wants_mock(env: eio_mock.backend.MockEnv) -> None:
    """Only for the mock backend: eio_main may hand it another backend's environment."""


eio_main.run(wants_int)  # expect: reportArgumentType
eio_main.run(wants_mock)  # expect: reportArgumentType
