"""The API's JSON to ``Link``: amounts as exact text, malformed values refused, instants shared."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from worker.api.records import canonical_uuid, parse_link, parse_page
from worker.errors import MalformedResponse
from worker.report import decimal_text

LINK_ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"


def payment(**fields: Any) -> dict[str, Any]:
    """One payment object as the API writes it; ``fields`` override or add keys."""
    return {
        "id": LINK_ID,
        "status": "PENDING",
        "externalId": "order-1",
        "amount": "150.00",
        "currency": "MXN",
        "createdAt": "2026-01-09T10:30:00Z",
        "expiresAt": "2026-01-11T10:30:00Z",
        **fields,
    }


def page_of(*items: dict[str, Any]) -> bytes:
    return json.dumps({"count": len(items), "page": 1, "pageSize": 500, "items": items}).encode()


# (the amount as the JSON body carries it, Link.amount, what the report writes)
AMOUNTS = [
    ("12.5", "12.5", "12.5"),
    ('"12.50"', "12.50", "12.50"),
    ("1500", "1500", "1500"),
    ('"1500.00"', "1500.00", "1500.00"),
    ("1e3", "1000", "1000"),
    ('"1E+3"', "1E+3", "1000"),
    ('"0.10"', "0.10", "0.10"),
    ('" 7.10 "', "7.10", "7.10"),
    ('"12345678901234567890.0100"', "12345678901234567890.0100", "12345678901234567890.0100"),
]


@pytest.mark.parametrize(("wire", "text", "reported"), AMOUNTS)
def test_an_amount_is_kept_as_exact_decimal_text(wire: str, text: str, reported: str) -> None:
    body = json.dumps(payment(amount="AMOUNT")).replace('"AMOUNT"', wire).encode()

    link = parse_link(body)

    assert link.amount == text
    assert decimal_text(link.amount) == reported
    assert Decimal(link.amount) == Decimal(json.loads(body, parse_float=Decimal)["amount"])


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-inf", "abc", "", "1,50", True, None, [1]])
def test_an_amount_that_is_not_a_finite_decimal_is_malformed(amount: object) -> None:
    with pytest.raises(MalformedResponse, match=r"malformed list page: items -> 0 -> amount"):
        parse_page(page_of(payment(amount=amount)))


def test_a_page_shares_equal_instants_and_its_currencies() -> None:
    # The API writes whole seconds and lists newest first: neighbours share their second.
    page = parse_page(
        page_of(
            payment(),
            payment(id="7a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d", currency="".join(["M", "XN"])),
            # The same instant written with an offset: equal, so shared, and in UTC.
            payment(
                id="8b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e",
                createdAt="2026-01-09T04:30:00-06:00",
                expiresAt="2026-01-10T10:30:00Z",
            ),
        )
    )

    first, second, third = page.links
    assert first.created_at == datetime(2026, 1, 9, 10, 30, tzinfo=UTC)
    assert first.created_at is second.created_at is third.created_at
    assert first.created_at.tzinfo is UTC
    assert first.expires_at is second.expires_at
    assert third.expires_at == datetime(2026, 1, 10, 10, 30, tzinfo=UTC)
    assert first.currency is second.currency


@pytest.mark.parametrize(
    "value",
    [
        "{9b2f6c1e-1d2a-4b7e-9a51-0c3d2e4f5a6b}",
        "urn:uuid:9b2f6c1e-1d2a-4b7e-9a51-0c3d2e4f5a6b",
        "9b2f6c1e1d2a4b7e9a510c3d2e4f5a6b",
        "9b2f6c1e-1d2a-4b7e-9a51-0c3d2e4f5a6b\n",
        "9b2f6c1e-1d2a-4b7e-9a51-0c3d2e4f5a6",
        "9b2f6c1e-1d2a-4b7e-9a51-0c3d2e4f5a6g",
        "../../9b2f6c1e-1d2a-4b7e-9a51-0c3d2e4f",
        "9b2f6c1e-1d2a-4b7e-9a51-0c3d2e4f5a6\u0661",  # an Arabic-Indic digit
        "",
    ],
)
def test_only_the_canonical_uuid_form_is_an_id(value: str) -> None:
    with pytest.raises(ValueError, match="not a canonical UUID"):
        canonical_uuid(value)


def test_a_canonical_uuid_is_lower_cased() -> None:
    assert canonical_uuid("9B2F6C1E-1D2A-4B7E-9A51-0C3D2E4F5A6B") == (
        "9b2f6c1e-1d2a-4b7e-9a51-0c3d2e4f5a6b"
    )
