"""The API's JSON to ``jobs.Link``: strict about what the sweep relies on, lenient elsewhere.

A list page must be ``{count, page, pageSize, items}``; each item needs a UUID ``id``, a
status, ``createdAt`` and ``expiresAt`` with a timezone, and an amount (number or decimal
string). Unknown fields are ignored, because the API may add some. Anything else is
``MalformedResponse``: a run that cannot trust its scan cancels nothing.

A scan keeps a million of these links, so values that repeat are shared: the currency is
interned, and equal timestamps on one page are one ``datetime`` object. The API writes whole
seconds and lists by ``createdAt``, so a page's links often share their second, and their
``expiresAt`` too when made with one lifetime. The amount is validated as a finite
``Decimal`` and kept as that decimal's text (``Link.amount``).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, NotRequired

import pydantic
from pydantic import AfterValidator, AwareDatetime, Field, TypeAdapter

# pydantic validates only typing_extensions' TypedDict before Python 3.12.
from typing_extensions import TypedDict

from jobs.links import Link, Status
from worker.errors import MalformedResponse

# The canonical text form of a UUID, case aside: uuid.UUID also accepts braces, "urn:uuid:"
# and missing hyphens, but such an id would be a different string in a URL. A pattern
# rather than uuid.UUID(): this runs for every listed link and every request's path, and
# parsing to a 128-bit number and back cost ten times as much.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def canonical_uuid(value: str) -> str:
    """The canonical lower-case form of a UUID string; ``ValueError`` for anything else."""
    canonical = value.lower()
    if _CANONICAL_UUID.fullmatch(canonical) is None:
        raise ValueError(f"{value!r} is not a canonical UUID")
    return canonical


_Uuid = Annotated[str, AfterValidator(canonical_uuid)]


class _WireLink(TypedDict):
    """One payment object as the API sends it. A TypedDict, not a model: a scan validates
    a million of these, and a dict per link costs a quarter less than a model instance."""

    id: _Uuid
    status: Status
    # The API's own names: the dict is read once, by _to_link.
    externalId: NotRequired[str | None]
    amount: Annotated[Decimal, Field(allow_inf_nan=False)]
    currency: str
    createdAt: AwareDatetime
    expiresAt: AwareDatetime


def _to_link(wire: _WireLink, moments: dict[datetime, datetime]) -> Link:
    """The link; ``moments`` maps each instant seen so far to its one UTC ``datetime``."""
    return Link(
        id=wire["id"],
        status=wire["status"],
        external_id=wire.get("externalId") or None,
        amount=str(wire["amount"]),
        currency=sys.intern(wire["currency"]),
        created_at=_in_utc(wire["createdAt"], moments),
        expires_at=_in_utc(wire["expiresAt"], moments),
    )


def _in_utc(moment: datetime, moments: dict[datetime, datetime]) -> datetime:
    # Aware datetimes are equal when they name the same instant, whatever their zone.
    shared = moments.get(moment)
    if shared is None:
        shared = moments[moment] = moment.astimezone(UTC)
    return shared


class _WirePage(TypedDict):
    count: Annotated[int, Field(ge=0)]
    page: Annotated[int, Field(ge=1)]
    pageSize: Annotated[int, Field(ge=1)]
    items: list[_WireLink]


_LINK = TypeAdapter(_WireLink)
_PAGE = TypeAdapter(_WirePage)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of ``GET /api/one-time-payment``."""

    count: int
    page: int
    page_size: int
    links: tuple[Link, ...]


def _malformed(what: str, exc: pydantic.ValidationError) -> MalformedResponse:
    first = exc.errors()[0]
    where = " -> ".join(str(part) for part in first["loc"]) or "body"
    return MalformedResponse(f"malformed {what}: {where}: {first['msg']}")


def parse_page(body: bytes) -> Page:
    """Parse a list response body; ``MalformedResponse`` names the first bad field."""
    try:
        wire = _PAGE.validate_json(body)
    except pydantic.ValidationError as exc:
        raise _malformed("list page", exc) from exc
    moments: dict[datetime, datetime] = {}
    return Page(
        count=wire["count"],
        page=wire["page"],
        page_size=wire["pageSize"],
        links=tuple(_to_link(item, moments) for item in wire["items"]),
    )


def parse_link(body: bytes) -> Link:
    """Parse one payment object (GET one, or the cancel response)."""
    try:
        return _to_link(_LINK.validate_json(body), {})
    except pydantic.ValidationError as exc:
        raise _malformed("payment", exc) from exc


def utc_now() -> datetime:
    """The wall clock, aware and in UTC: the default ``now`` of a run."""
    return datetime.now(UTC)
