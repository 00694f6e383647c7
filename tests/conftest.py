"""Fixtures shared by every test: fresh logging, and a started sandbox on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import structlog

from sandbox.testing import SandboxServer
from tests.threaded import ThreadedSandbox, threaded_sandbox_running


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Every test starts from, and leaves behind, structlog's defaults.

    A CLI test run in-process configures logging for the process (``-q`` filters below
    errors): without this, a later test's ``capture_logs()`` would see nothing.
    """
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


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
