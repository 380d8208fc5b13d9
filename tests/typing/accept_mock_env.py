"""pyright must accept: the mock backend's environment is a complete `eio.Stdenv`, and eio_main runs Stdenv programs."""

import eio
from eio_mock.backend import MockEnv

import eio_main


def as_stdenv(env: MockEnv) -> eio.Stdenv:
    """Type-checks only if MockEnv has every capability of Stdenv, with the right types."""
    return env


async def main(env: eio.Stdenv) -> int:
    """A program that takes the whole environment."""
    return len(env.backend_id)


def start() -> int:
    """eio_main.run's result has main's return type."""
    return eio_main.run(main)
