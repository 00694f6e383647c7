"""``HarmonyClient`` against the sandbox: what a cancel answer carries."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from sandbox.testing import SandboxServer
from tests.sweep.helpers import link
from worker.api.client import HarmonyClient
from worker.api.pace import Pace
from worker.errors import RateLimited


def client_for(server: SandboxServer) -> HarmonyClient:
    return HarmonyClient(
        base_url=server.base_url,
        api_key=SecretStr(server.api_key),
        pace=Pace(rate=500),
        request_timeout=10,
        connect_timeout=5,
    )


async def test_a_cancel_answer_parses_the_cancelled_payment_when_asked(
    sandbox: SandboxServer,
) -> None:
    pending, paid = link(amount="12.50"), link(status="CONFIRMED")
    await sandbox.admin.add_links([pending, paid])
    async with client_for(sandbox) as client:
        done = await client.cancel(pending["id"])
        refused = await client.cancel(paid["id"])
    assert done.status == 200
    assert done.message is None
    cancelled = done.link
    assert cancelled is not None
    assert (cancelled.id, cancelled.status.value) == (pending["id"], "CANCELLED")
    assert refused.status == 400
    assert refused.message
    assert refused.link is None


async def test_a_429_carries_the_servers_retry_after_in_seconds(sandbox: SandboxServer) -> None:
    # Without RateLimit-* headers the pace does not hold the second request for the window.
    await sandbox.admin.set_knobs(rate_limit=1, rate_window_s=30.0, rate_limit_headers=False)
    async with client_for(sandbox) as client:
        await client.list_page(1, page_size=1)
        with pytest.raises(RateLimited) as refused:
            await client.list_page(1, page_size=1)
    assert refused.value.retry_after is not None
    assert 1 <= refused.value.retry_after <= 30
    assert refused.value.retry_after.is_integer()  # the sandbox sends whole seconds
