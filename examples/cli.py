"""Eio's README "Buffered Reading and Parsing": a command-line interface reading stdin line by line.

Each line read is traced (``+> line``) and answered on stdout. At the end of
the input the program stops with `eio.EndOfFile`, as the README's does.
Run it with ``printf 'help\\nexit\\n' | python examples/cli.py``.
"""

from __future__ import annotations

import eio

import eio_main


async def cli(stdin: eio.flow.Source, stdout: eio.flow.Sink) -> None:
    """Answer each line of ``stdin`` on ``stdout``, until the input ends."""
    buf = eio.BufRead.of_flow(stdin, initial_size=100, max_size=1_000_000)
    while True:
        line = (await buf.line()).decode()
        eio.traceln(f"> {line}")
        match line:
            case "h" | "help":
                await eio.flow.copy_string("It's just an example\n", stdout)
            case x:
                await eio.flow.copy_string(f'Unknown command "{x}"\n', stdout)


async def start(env: eio.Stdenv) -> None:
    """Give ``cli`` the real standard input and output."""
    await cli(env.stdin, env.stdout)


if __name__ == "__main__":
    eio_main.run(start)
