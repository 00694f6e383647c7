"""The probe's records: the evidence its requests gather, and the verdicts judged from it.

A ``Verdict`` names a check (a stable identifier), a level, the finding in a few words, the
evidence behind it, and what the sweep does about it. ``ok`` and ``note`` hold (the sweep
relies on it and it is so, or it relies on nothing here); ``warn`` is something the sweep
works around at a cost, ``fail`` something that makes it stop or puts a promise at risk,
and ``unchecked`` a check the request cap left out: the probe cannot vouch for it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from jobs.links import Link, Status
from worker.api.answers import Exchange
from worker.api.client import PAGE_SIZE_MAX
from worker.api.records import Page


@dataclass
class Evidence:
    """What the probe's requests showed; ``None`` or empty where a step did not run."""

    counts: dict[Status, int] = field(default_factory=dict)
    asked_page_size: int = PAGE_SIZE_MAX
    refused_page_sizes: list[int] = field(default_factory=list)  # answered 400
    first_page: Page | None = None  # page 1 by PAGE_SIZE_MAX
    page_size: int | None = None  # the effective size, as the scan would learn it
    confirm_page: Page | None = None  # page 1 again by that size, when smaller
    pages: dict[int, Page] = field(default_factory=dict)  # by the effective size
    rereads: list[Page] = field(default_factory=list)  # page 1 again, by the effective size
    last_page_number: int | None = None
    past_last_page: Page | None = None
    got_one: Link | None = None
    got_one_missing: bool = False  # GET one answered 404 for a listed id
    final_count: int | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    capped: bool = False  # the request cap stopped the gathering
    other_links: list[Link] = field(default_factory=list)  # CONFIRMED/CANCELLED seen

    def consecutive_pages(self) -> list[Link]:
        """The links of pages 1, 2, ... read in a row by the effective size, in page order."""
        links: list[Link] = []
        number = 1
        while number in self.pages:
            links.extend(self.pages[number].links)
            number += 1
        return links

    def pending_links(self) -> list[Link]:
        """Every PENDING link read, once each."""
        pages = [self.first_page, *self.pages.values(), *self.rereads]
        unique = {link.id: link for page in pages if page is not None for link in page.links}
        return list(unique.values())


class Level(enum.StrEnum):
    """How a check came out, from the sweep's point of view."""

    OK = "ok"
    NOTE = "note"
    WARN = "warn"
    FAIL = "fail"
    UNCHECKED = "unchecked"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One check: its finding, the evidence, and what the sweep does about it."""

    check: str
    level: Level
    finding: str
    evidence: str
    sweep: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        """Whether the sweep can rely on what it found (ok or note)."""
        return self.level in (Level.OK, Level.NOTE)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Every verdict of one probe, the recommendations, and the requests it took."""

    base_url: str
    verdicts: tuple[Verdict, ...]
    recommendations: tuple[str, ...]
    requests: int
    max_requests: int
    rate: float
    capped: bool

    @property
    def holds(self) -> bool:
        """Whether everything the sweep relies on held, and every step ran within the cap."""
        return not self.capped and all(verdict.holds for verdict in self.verdicts)

    def verdict(self, check: str) -> Verdict:
        """The verdict of ``check`` (``KeyError`` when there is none)."""
        for verdict in self.verdicts:
            if verdict.check == check:
                return verdict
        raise KeyError(check)


def unchecked(check: str) -> Verdict:
    """The verdict of a check the request cap left out."""
    return Verdict(check, Level.UNCHECKED, "not checked", "the request cap came first")
