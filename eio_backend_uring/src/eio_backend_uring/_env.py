"""The standard environment of the io_uring backend: `eio.unix.make_stdenv` with the ring's network and directories."""

from __future__ import annotations

import eio
from eio.unix import UnixEnv, make_stdenv

from ._fs import cwd_dir, fs_dir
from ._net import UringNetwork
from ._run import new_loop

__all__ = ["UringEnv", "uring_env"]

UringEnv = UnixEnv
"""The type of the io_uring backend's environment (the shared one: only its parts differ)."""


def _new_domain_loop() -> eio.lowlevel.Loop:
    return new_loop()[0]


def uring_env() -> UnixEnv:
    """What `eio_backend_uring.run` passes to ``main``: all authority the program has."""
    return make_stdenv("uring", _new_domain_loop, net=UringNetwork(), cwd=eio.Path(cwd_dir()), fs=eio.Path(fs_dir()))
