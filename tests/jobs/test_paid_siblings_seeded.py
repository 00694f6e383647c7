"""``paid_sibling`` and ``paid_twice`` over the sandbox's seeded mix of paid orders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jobs import Link, PaidSiblings, Status, live_external_ids, paid_twice
from sandbox.testing import SandboxServer


def as_link(item: dict[str, Any]) -> Link:
    """A list item as the policies see it (what the worker's client builds, made simply)."""
    return Link(
        id=item["id"],
        status=Status(item["status"]),
        external_id=item["externalId"] or None,
        amount=str(item["amount"]),
        currency=item["currency"],
        created_at=dt.datetime.fromisoformat(item["createdAt"]),
        expires_at=dt.datetime.fromisoformat(item["expiresAt"]),
    )


async def test_seeded_paid_orders_select_only_their_own_organizations_live_links() -> None:
    async with SandboxServer() as server:
        summary = await server.admin.seed(2000, seed_random=11, orgs=2)
        first, second = [
            [as_link(item) for item in await server.admin.links(api_key=org["api_key"])]
            for org in summary["orgs"]
        ]
    now = dt.datetime.now(dt.UTC)
    chosen: list[set[str]] = []
    for links in (first, second):
        pending = [link for link in links if link.status is Status.PENDING]
        policy = PaidSiblings.from_confirmed(links, wanted=live_external_ids(pending, now))
        chosen.append(set(policy.select(pending, now)))
        paid = {link.external_id for link in links if link.status is Status.CONFIRMED}
        assert chosen[-1] == {
            link.id
            for link in pending
            if link.external_id in paid and link.external_id and not link.is_expired(now)
        }
        assert any(
            link.id in chosen[-1] and (link.external_id or "").startswith("ORD-P")
            for link in pending
        )

    twice = {group.external_id for group in paid_twice(first)}
    assert any(external_id.startswith("ORD-P") for external_id in twice)
    # ORD-P00004 is paid in the first organization only: the second's live link of it stays.
    (elsewhere,) = [link for link in second if link.external_id == "ORD-P00004"]
    assert elsewhere.status is Status.PENDING
    assert not elsewhere.is_expired(now)
    assert elsewhere.id not in chosen[1]
    assert any(
        link.external_id == "ORD-P00004" for link in first if link.status is Status.CONFIRMED
    )
