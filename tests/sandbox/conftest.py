"""Fixtures of the sandbox's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.helpers import Api


@pytest.fixture
async def api(sandbox: SandboxServer) -> AsyncIterator[Api]:
    """An `Api` client for the `sandbox` fixture."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield Api(session, sandbox.base_url, sandbox.api_key)
