"""pyright must accept: the io_uring backend's environment is a complete `eio.Stdenv`."""

import eio
from eio_backend_uring._env import UringEnv


def as_stdenv(env: UringEnv) -> eio.Stdenv:
    """Type-checks only if UringEnv has every capability of Stdenv, with the right types."""
    return env
