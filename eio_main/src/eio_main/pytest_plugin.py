"""The ``eio`` pytest plugin: run async tests on every installed eio backend.

Installed with eio-main (entry point ``eio`` in the ``pytest11`` group), so
pytest loads it by itself::

    @pytest.mark.eio                      # once per backend usable here: test_echo[uring], test_echo[mock], ...
    async def test_echo(env: eio.Stdenv) -> None: ...

    @pytest.mark.eio(backends=["mock"])   # only these backends
    async def test_timeout(env) -> None: ...

    def test_sync(eio_backend: str) -> None: ...   # the backend's name, as a fixture

An async test marked ``eio`` runs on a new loop of each backend: a test that
takes ``env`` gets the backend's standard environment (for the mock backend,
the mock environment, whose clocks advance by themselves when every fiber
waits); a test without ``env`` runs on a bare loop. A sync test with the
marker, or any test that asks for the ``eio_backend`` fixture, runs once per
backend too. ``pytest --eio-backend NAME`` (repeatable) keeps only the tests
of the backends named.

Backends are the ones installed (the ``eio`` entry-point group); without
``backends=`` a test runs on those usable on this machine, the mock backend
included. A backend named in ``backends=`` or ``--eio-backend`` but not
usable here is skipped, with the reason. Async tests without the marker are
left to whichever other plugin handles them (pytest-asyncio, anyio...).

Async fixtures are not supported: use a sync fixture (returning a factory if
the resource needs the loop), or set the resource up inside the test, e.g.
with an ``async with`` helper.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from eio.lowlevel import BackendInfo

    from ._registry import Registry

__all__ = ["eio_backend"]

MARKER = "eio"
BACKEND_ARG = "eio_backend"
ENV_ARG = "env"


class _EnvPlaceholder:
    """Stands for ``env`` among the test's arguments until the backend creates the real one."""

    def __repr__(self) -> str:
        return "<eio env: created by the backend when the test runs>"


_ENV = _EnvPlaceholder()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--eio-backend``."""
    group = parser.getgroup("eio", "eio backends")
    group.addoption(
        "--eio-backend",
        action="append",
        dest="eio_backends",
        metavar="NAME",
        default=None,
        help="run eio tests only on this backend (repeatable); default: every backend usable here",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker; check the ``--eio-backend`` names."""
    config.addinivalue_line(
        "markers",
        "eio(backends=None): run this test once per eio backend (async tests on the backend's loop, "
        "with `env` if they take it); backends=[names] restricts the backends",
    )
    selected = _selected(config)
    if selected is not None:
        error = _backends(config).check(selected, "--eio-backend")
        if error is not None:
            raise pytest.UsageError(error)


def _selected(config: pytest.Config) -> list[str] | None:
    return cast("list[str] | None", config.getoption("eio_backends"))


class _Backends:
    """The installed backends, found once per pytest run, in the order tests run on them."""

    def __init__(self, registry: Registry) -> None:
        infos = sorted(registry.backends.values(), key=lambda info: (-info.priority, info.name))
        self.infos: dict[str, BackendInfo] = {info.name: info for info in infos}
        # Asked once: io_uring's answer sets up a ring.
        self.reasons: dict[str, str | None] = {info.name: info.unavailable_reason() for info in infos}

    def known(self) -> str:
        """The names, for error messages."""
        return ", ".join(sorted(self.infos)) or "none (install a backend, e.g. eio-backend-uring)"

    def check(self, names: Sequence[str], where: str) -> str | None:
        """An error message if some of ``names`` are not installed."""
        unknown = [name for name in names if name not in self.infos]
        if not unknown:
            return None
        return f"{where}: unknown eio backend {', '.join(map(repr, unknown))}; known backends: {self.known()}"


_BACKENDS = pytest.StashKey[_Backends]()


def _backends(config: pytest.Config) -> _Backends:
    # Discovery is deferred to the first test that needs it: importing eio
    # (and every backend) when pytest starts would happen in every test run of
    # a project that has eio-main installed, before coverage measurement starts.
    backends = config.stash.get(_BACKENDS, None)
    if backends is None:
        from ._registry import discover

        backends = config.stash[_BACKENDS] = _Backends(discover())
    return backends


@pytest.fixture
def eio_backend(request: pytest.FixtureRequest) -> str:
    """The name of the eio backend this test runs on ("uring", "mock", ...).

    A test that asks for it runs once per backend, as a test marked
    ``@pytest.mark.eio`` does.
    """
    if not hasattr(request, "param"):
        # Only when looked up by name at run time: a test that names it is parametrized.
        pytest.fail(
            "eio_backend: this test was not parametrized by eio backend (name eio_backend among its arguments)", pytrace=False
        )
    return cast(str, request.param)


def _marked_here(collector: pytest.Collector, obj: object) -> bool:
    own = cast("Sequence[pytest.Mark]", getattr(obj, "pytestmark", ()))
    return any(mark.name == MARKER for mark in own) or collector.get_closest_marker(MARKER) is not None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Module | pytest.Class, name: str, obj: object) -> None:
    """Make a marked test ask for ``eio_backend``, so that it can be parametrized by backend."""
    if callable(obj) and _marked_here(collector, obj) and collector.istestfunction(obj, name):
        # pytest decides which fixtures a test uses before pytest_generate_tests
        # runs; a `usefixtures` mark on the function is the public way to add one.
        pytest.mark.usefixtures(BACKEND_ARG)(obj)


def _marker_backends(metafunc: pytest.Metafunc, marker: pytest.Mark, backends: _Backends) -> list[str] | None:
    where = f"@pytest.mark.eio on {metafunc.definition.nodeid}"
    if marker.args:
        pytest.fail(f"{where}: takes no positional arguments (use backends=[...])", pytrace=False)
    extra = sorted(set(marker.kwargs) - {"backends"})
    if extra:
        pytest.fail(f"{where}: unexpected argument {', '.join(extra)} (the only one is backends=[...])", pytrace=False)
    given: object = marker.kwargs.get("backends")
    if given is None:
        return None
    if isinstance(given, str) or not isinstance(given, (list, tuple)):
        pytest.fail(f"{where}: backends must be a list of backend names, not {given!r}", pytrace=False)
    names = cast("list[object] | tuple[object, ...]", given)
    if not names or not all(isinstance(name, str) for name in names):
        pytest.fail(f"{where}: backends must be a non-empty list of backend names, not {given!r}", pytrace=False)
    error = backends.check(cast("list[str]", names), where)
    if error is not None:
        pytest.fail(error, pytrace=False)
    return [cast(str, name) for name in dict.fromkeys(names)]


def _takes_env(fn: Callable[..., object]) -> bool:
    try:
        parameters: Mapping[str, inspect.Parameter] = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return ENV_ARG in parameters


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize by backend every test marked ``eio`` or asking for ``eio_backend``."""
    if BACKEND_ARG not in metafunc.fixturenames:
        return
    backends = _backends(metafunc.config)
    marker = metafunc.definition.get_closest_marker(MARKER)
    names = _marker_backends(metafunc, marker, backends) if marker is not None else None
    if names is None:
        # Every backend usable here, and those asked for by --eio-backend even
        # if they are not (they show up skipped, with the reason).
        selected = set(_selected(metafunc.config) or ())
        names = [name for name, reason in backends.reasons.items() if name in selected or reason is None]
    # `env` comes from the backend, not from a fixture: it is parametrized
    # with a placeholder that the runner replaces.
    env = marker is not None and inspect.iscoroutinefunction(metafunc.function) and _takes_env(metafunc.function)
    argnames = [BACKEND_ARG, ENV_ARG] if env else [BACKEND_ARG]
    params: list[Any] = []
    for name in names:
        reason = backends.reasons[name]
        marks = [pytest.mark.skip(reason=f"eio backend {name!r} can't be used here: {reason}")] if reason is not None else []
        values = (name, _ENV) if env else (name,)
        params.append(pytest.param(*values, id=name, marks=marks))
    metafunc.parametrize(argnames, params, indirect=[BACKEND_ARG])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--eio-backend``, deselect the tests of the other backends."""
    selected = _selected(config)
    if selected is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        backend = (
            item.callspec.params.get(BACKEND_ARG) if isinstance(item, pytest.Function) and hasattr(item, "callspec") else None
        )
        (drop if backend is not None and backend not in selected else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an async test marked ``eio`` on its backend."""
    __tracebackhide__ = True
    test = pyfuncitem.obj
    if pyfuncitem.get_closest_marker(MARKER) is None or not inspect.iscoroutinefunction(test):
        return None
    name = pyfuncitem.funcargs.get(BACKEND_ARG)
    if not isinstance(name, str):
        pytest.fail(f"{pyfuncitem.nodeid}: no eio backend was chosen for this test", pytrace=False)
    info = _backends(pyfuncitem.config).infos[name]
    parameters = inspect.signature(test).parameters
    kwargs = {arg: value for arg, value in pyfuncitem.funcargs.items() if arg in parameters}
    try:
        _run(info, cast("Callable[..., Awaitable[None]]", test), kwargs)
    except Exception as error:
        if pyfuncitem.config.getoption("fulltrace") or _raised_through(error, test):
            raise
        # The runtime itself raised (a deadlock, say): no frame of the test
        # is involved and the backend's and the loop's frames would say
        # nothing about the test, so only the error is shown (--fulltrace
        # keeps them).
        raise error.with_traceback(None)
    return True


def _raised_through(error: BaseException, test: Callable[..., object]) -> bool:
    """Whether ``test``'s own code is among the frames ``error`` went through."""
    code = getattr(inspect.unwrap(test), "__code__", None)
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return False


def _run(info: BackendInfo, test: Callable[..., Awaitable[None]], kwargs: dict[str, object]) -> None:
    __tracebackhide__ = True
    if ENV_ARG in kwargs:

        def with_env(env: object) -> Awaitable[None]:
            __tracebackhide__ = True
            return test(**{**kwargs, ENV_ARG: env})

        info.run(with_env)
        return

    def plain() -> Awaitable[None]:
        __tracebackhide__ = True
        return test(**kwargs)

    if info.run_plain is not None:
        info.run_plain(plain)
    else:
        info.run(lambda _env: plain())
