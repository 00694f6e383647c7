"""One report line per planned link (``ReportItem``), how it becomes JSON, and its factories.

``item_for`` and ``unknown_link_item`` are how the sweep makes a line; ``payment_fields`` the
few keys of it that a log or audit event carries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobs.reasons import Reason
from worker.outcomes import Outcome
from worker.report._encoding import decimal_text, utc_text

if TYPE_CHECKING:
    from jobs.links import Link

#: The keys of one JSON item, in order; also the CSV header.
ITEM_KEYS: tuple[str, ...] = (
    "id",
    "externalId",
    "amount",
    "currency",
    "expiresAt",
    "createdAt",
    "reasons",
    "outcome",
    "http_status",
    "attempts",
    "message",
    "keptLinkId",
    "paidLinkId",
)


@dataclass(frozen=True, slots=True)
class ReportItem:
    """What happened to one planned link.

    ``amount`` is the link's decimal text (``jobs.Link.amount``: ``Decimal(item.amount)``
    is exact; the text is shared with the link, so a large plan costs no copy of it).
    ``amount``, ``currency``, ``expires_at`` and ``created_at`` are ``None`` only when the
    run knows nothing but the id (a manifest id the API no longer shows); JSON has ``null``.
    ``attempts`` counts the cancel requests sent (0 for a dry run or a link never sent one);
    ``http_status`` is the last cancel response's status, ``None`` when none came.
    ``kept_link`` is, for a duplicate, the id of the link kept for its externalId;
    ``paid_link``, for a link ``paid_sibling`` selected, the id of its order's paid link.
    """

    id: str
    external_id: str | None
    amount: str | None
    currency: str | None
    expires_at: dt.datetime | None
    created_at: dt.datetime | None
    reasons: tuple[str, ...]
    outcome: Outcome
    http_status: int | None
    attempts: int
    message: str | None
    kept_link: str | None = None
    paid_link: str | None = None

    def to_json_dict(self, keys: Sequence[str] = ITEM_KEYS) -> dict[str, Any]:
        """The item as the report's JSON, keys in ``ITEM_KEYS`` order, or only ``keys``.

        ``keys`` serves the log and audit events (one per cancel), which carry a few of
        the fields: formatting the others, timestamps above all, was wasted CPU.
        """
        return {key: _ITEM_JSON[key](self) for key in keys}

    def audit_fields(self) -> dict[str, Any]:
        """The fields of a cancellation's audit event: ``id``, ``externalId``, ``amount``,
        ``currency``, ``reasons`` and ``attempts`` of the item's JSON, as ``to_json_dict``
        gives them; written out because this runs once per cancel."""
        return {
            "id": self.id,
            "externalId": self.external_id,
            "amount": None if self.amount is None else decimal_text(self.amount),
            "currency": self.currency,
            "reasons": [str(reason) for reason in self.reasons],
            "attempts": self.attempts,
        }


_ITEM_JSON: dict[str, Callable[[ReportItem], Any]] = {
    "id": lambda item: item.id,
    "externalId": lambda item: item.external_id,
    "amount": lambda item: None if item.amount is None else decimal_text(item.amount),
    "currency": lambda item: item.currency,
    "expiresAt": lambda item: None if item.expires_at is None else utc_text(item.expires_at),
    "createdAt": lambda item: None if item.created_at is None else utc_text(item.created_at),
    "reasons": lambda item: [str(reason) for reason in item.reasons],
    "outcome": lambda item: item.outcome.value,
    "http_status": lambda item: item.http_status,
    "attempts": lambda item: item.attempts,
    "message": lambda item: item.message,
    "keptLinkId": lambda item: item.kept_link,
    "paidLinkId": lambda item: item.paid_link,
}


def item_for(
    link: Link,
    reasons: Sequence[str],
    outcome: Outcome,
    *,
    http_status: int | None = None,
    attempts: int = 0,
    message: str | None = None,
) -> ReportItem:
    """A report line for ``link``."""
    return ReportItem(
        id=link.id,
        external_id=link.external_id,
        amount=link.amount,
        currency=link.currency,
        expires_at=link.expires_at,
        created_at=link.created_at,
        reasons=tuple(reasons),
        outcome=outcome,
        http_status=http_status,
        attempts=attempts,
        message=message,
    )


def unknown_link_item(
    link_id: str, outcome: Outcome, message: str, http_status: int | None = None
) -> ReportItem:
    """A report line for a listed id whose link could not be read (gone, or unreadable)."""
    return ReportItem(
        id=link_id,
        external_id=None,
        amount=None,
        currency=None,
        expires_at=None,
        created_at=None,
        reasons=(str(Reason.MANIFEST),),
        outcome=outcome,
        http_status=http_status,
        attempts=0,
        message=message,
    )


# A payment event carries the report item's own keys, so a log line and a report row join.
PAYMENT_EVENT_KEYS = (
    "id",
    "externalId",
    "amount",
    "currency",
    "reasons",
    "http_status",
    "attempts",
    "message",
)


def payment_fields(item: ReportItem, keys: Sequence[str] = PAYMENT_EVENT_KEYS) -> dict[str, object]:
    """``keys`` of the item's report JSON, for a log or audit event."""
    return item.to_json_dict(keys)
