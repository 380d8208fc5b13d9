"""Developer sessions: tests, type checks per OS, isolated installs of each member, benchmarks.

Run ``uvx nox -l`` to list them. The members are installed from their own
directories, so a missing dependency in a member's pyproject shows up here.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["tests", "typecheck"]

MEMBERS = {
    "eio_api": "eio",
    "eio_mock": "eio_mock",
    "eio_main": "eio_main",
    "eio_backend_uring": "eio_backend_uring",
    "eio_backend_trio": "eio_backend_trio",
    "eio_backend_asyncio": "eio_backend_asyncio",
    "eio_backend_windows": "eio_backend_windows",
}


PORTABLE_SOURCES = [
    "eio_api/src",
    "eio_mock/src",
    "eio_main/src",
    "eio_backend_trio/src",
    "eio_backend_asyncio/src",
    "eio_backend_windows/src",
]


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The whole test suite, in the workspace environment."""
    session.run("uv", "run", "pytest", *session.posargs)


@nox.session(python=False)
def typecheck(session: nox.Session) -> None:
    """pyright strict over the workspace, for Linux and for Windows code paths."""
    session.run("uv", "run", "pyright")
    # The portable members only: the io_uring backend and the OS tests are Linux code.
    session.run("uv", "run", "pyright", "--pythonplatform", "Windows", *PORTABLE_SOURCES)
    session.run("uv", "run", "pyright", "--pythonplatform", "Darwin", *PORTABLE_SOURCES)
    session.run("uv", "run", "pyright", "--verifytypes", "eio", "--ignoreexternal")


@nox.session
@nox.parametrize("member", list(MEMBERS))
def isolated(session: nox.Session, member: str) -> None:
    """Install one member (and what it declares) into a fresh venv and import it."""
    session.install("./eio_api")
    if member != "eio_api":
        session.install(f"./{member}")
    session.run("python", "-c", f"import {MEMBERS[member]}")


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Every benchmark, side by side with the peers."""
    session.run("uv", "run", "python", "bench/scheduler.py", *session.posargs)
