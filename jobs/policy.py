"""The ``Policy`` protocol: one rule that selects links to cancel, with its reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from jobs.links import Link
from jobs.reasons import Reason


class Policy(Protocol):
    """Selects the ids of links to cancel; pure, synchronous, deterministic.

    ``select`` is given the PENDING links of a plan, one record per id, in the order they
    came, and an aware ``now``. What it selects must depend on the links' contents only,
    never on their order: the planner promises the same plan whatever the page order.
    It may select expired links (the planner reports them as skipped, never cancels
    them); ids it returns that are not among ``links`` are ignored.

    ``horizon_safe`` is True when the policy selects only unexpired links, so that no link
    created before ``now - max_link_lifetime`` can be among its choices, nor change them:
    the scan may then stop at the lifetime horizon (``worker.sweep.horizon``) and the plan
    is the same as a full scan's. A policy that may select older links (even only to
    report them ``skipped_expired``) must say False.

    ``describe`` returns a one-key dict, ``{reason value: parameters}``, JSON-ready, that
    the report merges into its ``policies`` object, e.g. ``{"expiring_within": "30m"}``.
    """

    @property
    def reason(self) -> Reason:
        """The reason every link this policy selects carries."""
        ...

    @property
    def horizon_safe(self) -> bool:
        """Whether it selects only unexpired links: a scan may stop at the lifetime horizon."""
        ...

    def select(self, links: Sequence[Link], now: datetime) -> Iterable[str]:
        """The ids of the links in ``links`` this policy would cancel at ``now``."""
        ...

    def describe(self) -> dict[str, object]:
        """This policy's parameters for the report: ``{reason value: parameters}``."""
        ...
