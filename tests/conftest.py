"""Fixtures shared by every test: a started sandbox on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sandbox.testing import SandboxServer
from tests.threaded import ThreadedSandbox, threaded_sandbox_running


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """A started `SandboxServer()` with default arguments, stopped after the test."""
    async with SandboxServer() as server:
        yield server


@pytest.fixture
def threaded_sandbox() -> Iterator[ThreadedSandbox]:
    """A started sandbox on its own event-loop thread, for tests of the synchronous CLI."""
    with threaded_sandbox_running() as running:
        yield running
