"""``HarmonyClient`` against the sandbox: what a cancel answer carries."""

from __future__ import annotations

from pydantic import SecretStr

from sandbox.testing import SandboxServer
from tests.sweep.helpers import link
from worker.api.client import HarmonyClient
from worker.api.pace import Pace


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
