"""``HarmonyClient.cancel(send_before=...)``: judged by the injected clock, after the pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from sandbox.testing import SandboxServer
from tests.sweep.helpers import link
from worker.api.answers import CancelAnswer, TooLate
from worker.api.client import HarmonyClient
from worker.api.pace import Pace

NOW = datetime(2026, 1, 9, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("send_before", "sent"),
    [
        (NOW - timedelta(seconds=1), False),
        (NOW, False),  # the deadline itself is too late
        (NOW + timedelta(microseconds=1), True),
        (None, True),
    ],
)
async def test_a_cancel_past_its_send_before_is_not_sent(
    sandbox: SandboxServer, send_before: datetime | None, sent: bool
) -> None:
    [pending] = await sandbox.admin.add_links([link()])
    client = HarmonyClient(
        base_url=sandbox.base_url,
        api_key=SecretStr(sandbox.api_key),
        pace=Pace(rate=500),
        request_timeout=10,
        connect_timeout=5,
        clock=lambda: NOW,
    )
    async with client:
        answer = await client.cancel(pending["id"], send_before=send_before)

    if sent:
        assert isinstance(answer, CancelAnswer)
        assert answer.status == 200
    else:
        assert answer == TooLate(send_before=send_before, checked_at=NOW)
    assert client.requests_sent == int(sent)
    patches = (await sandbox.admin.counters())["patches_per_link"]
    assert patches.get(pending["id"], 0) == int(sent)
    assert (await sandbox.admin.link(pending["id"]))["status"] == (
        "CANCELLED" if sent else "PENDING"
    )
