"""The run's accounts: one report item per link, and which links a later pass may act on."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs import PaidLedger, PaidTwice
from worker.outcomes import Outcome
from worker.report import ReportItem


@dataclass(slots=True)
class Ledger:
    """Every link's one item so far, in the order first met; shared by the run's stages.

    A later item for a link replaces its earlier one, so each link ends in one outcome.
    """

    items: dict[str, ReportItem] = field(default_factory=dict)
    # Ids whose item is ``failed`` for a transient reason: a later pass may try them again.
    retriable: set[str] = field(default_factory=set)
    # Links planned to cancel over the run's passes, each counted once: the guard's cap.
    planned: int = 0
    # A duplicate's id -> the id of the link kept for its externalId, for the report.
    kept: dict[str, str] = field(default_factory=dict)
    # A paid sibling's id -> the id of its order's paid link, for the report.
    paid_links: dict[str, str] = field(default_factory=dict)
    # paid_siblings on: the latest complete read of CONFIRMED links, for a race the sweep
    # loses; the orders paid twice (externalId -> group) over the run's reads and races;
    # how the latest read went (``stats.paid_scan``). None while no read was tried.
    confirmed: PaidLedger | None = None
    paid_twice: dict[str, PaidTwice] = field(default_factory=dict)
    paid_scan: dict[str, object] | None = None

    def put(self, item: ReportItem) -> None:
        self.items[item.id] = item
        self.retriable.discard(item.id)

    def cancelled(self) -> int:
        """Links this run has cancelled so far."""
        return sum(1 for item in self.items.values() if item.outcome is Outcome.CANCELLED)

    def open(self, link_id: str) -> bool:
        """Whether this pass may act on the link: never accounted for, or failed transiently."""
        return link_id not in self.items or link_id in self.retriable
