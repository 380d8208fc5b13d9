"""Backend selection: forced by name or EIO_BACKEND, else by priority and availability."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import eio_main
from eio.lowlevel import BackendInfo
from eio_main._registry import Registry, discover


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
    assert str(err.value) == (
        "no eio backend can run here (uring: kernel too old); installed: mock, uring. "
        "Install one, e.g. pip install eio-backend-trio"
    )


def test_forced_backend_missing_names_what_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EIO_BACKEND", "trio")
    reg = _registry(_info("mock", 0, auto=False))
    with pytest.raises(eio_main.BackendNotInstalled) as err:
        eio_main.choose(registry=reg)
    assert str(err.value) == (
        "eio backend 'trio' was asked for but is not installed (installed: mock); "
        "install it with: pip install eio-backend-trio"
    )


def test_forced_backend_never_falls_back() -> None:
    reg = _registry(_info("uring", 30, reason="io_uring is disabled by kernel.io_uring_disabled=2"), _info("trio", 10))
    with pytest.raises(eio_main.BackendUnavailable) as err:
        eio_main.choose("uring", registry=reg)
    assert "io_uring is disabled by kernel.io_uring_disabled=2" in str(err.value)


def test_run_with_mock_by_name() -> None:
    async def main(env: Any) -> str:
        return str(env.backend_id)

    assert eio_main.run(main, backend="mock") == "mock"
