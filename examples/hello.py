"""Eio's README "Running Eio": write a greeting to standard output.

``main`` only gets the flow it writes to, so that is all it can touch.
Run it with ``python examples/hello.py`` (``EIO_BACKEND=...`` picks a backend).
"""

from __future__ import annotations

import eio

import eio_main


async def main(out: eio.flow.Sink) -> None:
    """Write the greeting to ``out``."""
    await eio.flow.copy_string("Hello, world!\n", out)


async def start(env: eio.Stdenv) -> None:
    """Take what ``main`` needs from the environment."""
    await main(env.stdout)


if __name__ == "__main__":
    eio_main.run(start)
