"""pyright must accept: the shared Unix layer's environment is a complete `eio.Stdenv`."""

import eio
from eio.lowlevel import Loop
from eio.unix import UnixEnv, make_stdenv


def as_stdenv(env: UnixEnv) -> eio.Stdenv:
    """Type-checks only if UnixEnv has every capability of Stdenv, with the right types."""
    return env


def made(new_loop: Loop) -> eio.Stdenv:
    """`make_stdenv` takes the backend's id and its domain-loop factory."""
    return make_stdenv("windows", lambda: new_loop)
