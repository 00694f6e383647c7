"""Fixtures: a real Pushgateway (skipped with a reason where it is not installed) and a
plain receiver that misbehaves on request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.metrics.pushgateway import INSTALL_HINT, Pushgateway, find_pushgateway
from tests.metrics.receiver import Receiver

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours proxy variables; loopback pushes in tests must go straight there."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def pushgateway_binary() -> str:
    binary = find_pushgateway()
    if binary is None:
        pytest.skip(INSTALL_HINT)
    return binary


@pytest.fixture
def pushgateway(pushgateway_binary: str, tmp_path: Path) -> Iterator[Pushgateway]:
    """A started Pushgateway with no path prefix, stopped after the test."""
    with Pushgateway(pushgateway_binary, log_path=tmp_path / "pushgateway.log") as gateway:
        yield gateway


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver answering 200 until the test says otherwise; stopped after the test."""
    async with Receiver() as started:
        yield started
