"""Backend selection: forced by name or EIO_BACKEND, else by priority and availability."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import eio
import pytest
from eio.lowlevel import BackendInfo
from eio_main._registry import Registry, discover

import eio_main


def _runner(name: str) -> Callable[[Callable[[Any], Awaitable[Any]]], Any]:
    def run(main: Callable[[Any], Awaitable[Any]]) -> Any:
        return name

    return run


def _registry(*infos: BackendInfo) -> Registry:
    reg = Registry()
    for info in infos:
        reg.register(info)
    return reg


def _info(name: str, priority: int, reason: str | None = None, auto: bool = True) -> BackendInfo:
    return BackendInfo(name, priority, _runner(name), lambda: reason, f"eio-backend-{name}", auto)


def test_mock_is_found_through_its_entry_point() -> None:
    reg = discover()
    assert "mock" in reg.backends
    assert reg.backends["mock"].auto is False


def test_highest_available_priority_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EIO_BACKEND", raising=False)
    reg = _registry(_info("trio", 10), _info("uring", 30, reason="io_uring disabled"), _info("windows", 20))
    assert eio_main.choose(registry=reg).name == "windows"


def test_mock_is_never_chosen_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EIO_BACKEND", raising=False)
    reg = _registry(_info("mock", 100, auto=False), _info("uring", 30, reason="kernel too old"))
    with pytest.raises(eio_main.NoBackendAvailable) as err:
        eio_main.choose(registry=reg)
    hint = eio_main._platform_hint()  # pyright: ignore[reportPrivateUsage] - depends on the platform, tested below
    assert str(err.value) == (
        f"no eio backend can run here (uring: kernel too old); installed: mock, uring. {hint[0].upper()}{hint[1:]}"
    )


def test_forced_backend_missing_names_what_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EIO_BACKEND", "trio")
    reg = _registry(_info("mock", 0, auto=False))
    with pytest.raises(eio_main.BackendNotInstalled) as err:
        eio_main.choose(registry=reg)
    assert str(err.value) == (
        "eio backend 'trio' was asked for but is not installed (installed: mock); "
        'install it with: pip install "eio-main[trio]"'
    )


def test_forced_backend_never_falls_back() -> None:
    reg = _registry(_info("uring", 30, reason="io_uring is disabled by kernel.io_uring_disabled=2"), _info("trio", 10))
    with pytest.raises(eio_main.BackendUnavailable) as err:
        eio_main.choose("uring", registry=reg)
    assert "io_uring is disabled by kernel.io_uring_disabled=2" in str(err.value)


def test_run_with_mock_by_name() -> None:
    async def main(env: eio.Stdenv) -> str:
        return env.backend_id

    assert eio_main.run(main, backend="mock") == "mock"


def test_hint_for_a_typo_names_close_known_backends() -> None:
    assert eio_main.install_hint("urng") == (
        "no backend is called 'urng'; did you mean 'uring'? (known backends: asyncio, mock, trio, uring, windows)"
    )
    assert eio_main.install_hint("nonsense") == (
        "no backend is called 'nonsense' (known backends: asyncio, mock, trio, uring, windows)"
    )


def test_hint_for_a_released_backend_installs_it_with_eio_main() -> None:
    assert eio_main.install_hint("uring") == 'install it with: pip install "eio-main[uring]"'
    assert eio_main.install_hint("mock") == 'install it with: pip install "eio-main[mock]"'


def test_hint_for_an_unreleased_backend_names_the_platform_one(monkeypatch: pytest.MonkeyPatch) -> None:
    future = eio_main.KnownBackend("future", "eio-backend-future", released=False, platforms=("plan9",))
    monkeypatch.setitem(eio_main.BACKENDS, "future", future)
    assert eio_main.install_hint("future", platform="linux") == (
        'eio-backend-future is not released yet; install the backend for this platform with: pip install "eio-main[uring]"'
    )
    assert eio_main.install_hint("future", platform="darwin") == (
        'eio-backend-future is not released yet; install the backend for this platform with: pip install "eio-main[trio]"'
    )
    assert eio_main.install_hint("future", platform="win32") == (
        'eio-backend-future is not released yet; install the backend for this platform with: pip install "eio-main[windows]"'
    )
    assert eio_main.install_hint("future", platform="plan9") == (
        "eio-backend-future is not released yet; no backend for plan9 is released yet; the in-memory mock backend "
        'runs anywhere: pip install "eio-main[mock]", then EIO_BACKEND=mock'
    )


def test_hints_name_only_released_distributions() -> None:
    """Every distribution a hint may name is a member of this workspace (so it exists)."""
    import pathlib
    import tomllib

    root = pathlib.Path(__file__).resolve().parents[2]
    members = {tomllib.loads(p.read_text())["project"]["name"] for p in root.glob("*/pyproject.toml")}
    released = {b.distribution for b in eio_main.BACKENDS.values() if b.released}
    assert released <= members
    extras = tomllib.loads((root / "eio_main" / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {name: deps for name, deps in extras.items()} == {
        b.name: [b.distribution] for b in eio_main.BACKENDS.values() if b.released
    }


def test_a_backend_handing_an_incomplete_environment_is_caught() -> None:
    class Partial:
        backend_id = "partial"

    def run_partial(main: Callable[[Any], Awaitable[Any]]) -> Any:
        import eio_mock

        return eio_mock.backend.run(lambda: main(Partial()))

    reg = _registry(BackendInfo("partial", 1, run_partial, lambda: None, "eio-backend-partial"))

    async def main(env: eio.Stdenv) -> str:
        return env.backend_id

    info = eio_main.choose("partial", registry=reg)
    with pytest.raises(
        eio_main.IncompleteEnvironment,
        match=r"^the 'partial' backend \(eio-backend-partial\) gave main an environment without stdin, stdout",
    ):
        info.run(eio_main._checked(info, main))  # pyright: ignore[reportPrivateUsage] - what run does
