"""``Scope``: filters that narrow what the policies selected, never widen it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jobs.created_before import format_instant, require_aware
from jobs.links import Link


@dataclass(frozen=True, slots=True)
class Scope:
    """Keeps only links in one of ``currencies`` and created before ``created_before``.

    ``None`` means no constraint; the default scope contains every link. Currency codes
    compare exactly (the API writes them upper case, e.g. ``MXN``).
    """

    currencies: frozenset[str] | None = None
    created_before: datetime | None = None

    def __post_init__(self) -> None:
        if self.currencies is not None and not self.currencies:
            # An empty set would silently plan nothing; None is how to say "any currency".
            raise ValueError("scope currencies must not be empty; use None for any currency")
        if self.created_before is not None:
            require_aware(self.created_before, "scope created_before")

    def contains(self, link: Link) -> bool:
        """Whether ``link`` passes every filter of this scope."""
        if self.currencies is not None and link.currency not in self.currencies:
            return False
        return self.created_before is None or link.created_at < self.created_before

    def describe(self) -> dict[str, object]:
        """``{"scope": {"currencies": [...] | null, "created_before": "...Z" | null}}``."""
        return {
            "scope": {
                "currencies": None if self.currencies is None else sorted(self.currencies),
                "created_before": (
                    None if self.created_before is None else format_instant(self.created_before)
                ),
            }
        }
