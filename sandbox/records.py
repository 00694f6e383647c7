"""The records that cross the sandbox's modules: organizations and payment links."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

PENDING, CONFIRMED, CANCELLED = "PENDING", "CONFIRMED", "CANCELLED"
STATUSES = (PENDING, CONFIRMED, CANCELLED)


@dataclasses.dataclass(frozen=True, slots=True)
class Org:
    """An organization and the one API key that reaches it."""

    no: int
    id: str
    name: str
    api_key: str

    def public(self) -> dict[str, str]:
        """The organization without its key, for anything that may be logged or shown."""
        return {"id": self.id, "name": self.name}


@dataclasses.dataclass(frozen=True, slots=True)
class StoredLink:
    """One payment link as stored; times are epoch milliseconds.

    `amount` is decimal text: verbatim when `amount_is_text` (emitted as a JSON string),
    otherwise canonical number text (`shapes.number_text`, emitted as a JSON number).
    """

    id: str
    org_no: int
    status: str
    external_id: str | None
    amount: str
    amount_is_text: bool
    currency: str
    description: str
    redirect_url: str
    homepage_url: str
    billing: dict[str, Any] | None
    created_ms: int
    updated_ms: int
    expires_ms: int


class LinkRow(NamedTuple):
    """A `links` table row, column for column, for bulk loads.

    A NamedTuple, not the usual frozen dataclass: the seeder builds a million of these, and
    a tuple is both cheaper to build and what `executemany` takes as it is.
    """

    id: str
    org_no: int
    status: str
    external_id: str | None
    amount: str
    amount_is_text: bool
    currency: str
    description: str
    redirect_url: str
    homepage_url: str
    billing_no: int | None
    created_ms: int
    updated_ms: int
    expires_ms: int
