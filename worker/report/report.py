"""The run's report: what the run did (``Report``) and how it used the API (``RunStats``).

The JSON shape is a public interface (issue 3, "Contract"): ``jobs.manifest`` reads a dry
run's report back as a manifest, so every value must round-trip. Money never goes through
``float``: amounts are exact decimal text here (``jobs.Link.amount``) and plain decimal
*strings* in JSON (``"1000"``, never ``"1E+3"``). Timestamps are ISO-8601 UTC ending in
``Z``. How each format looks lives in ``worker.report.writers``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from worker.report._encoding import decimal_text, json_ready, utc_text
from worker.report.items import ReportItem
from worker.report.summary import Summary

if TYPE_CHECKING:
    from jobs import PaidTwice

Mode = Literal["dry-run", "execute"]

#: The header fields a report carries besides ``run_id``, ``mode`` and its times, in order.
_HEADER_KEYS = ("environment", "base_url", "organization", "initiator", "version", "exit_code")


@dataclass(frozen=True, slots=True)
class RunStats:
    """How the run used the API: what metrics and the report's ``stats`` object show.

    ``requests_by_class`` keys: "2xx", "3xx", "4xx", "5xx", "429" (counted apart from the
    other 4xx) and "no_answer" (resets, timeouts). ``scan`` is the run's last scan as
    ``worker.sweep.scan.ScanStats`` writes it (pages read, distinct links seen, the count the
    server announced, re-reads, how it ``ended``); for an incomplete scan, the one that
    stopped the run. ``paid_scan`` is, with ``paid_siblings`` on, how the last read of
    CONFIRMED links went (``worker.sweep.paid``): ``complete`` false and an ``error`` when
    it could not finish and the policy selected nothing that pass.
    """

    requests_by_class: Mapping[str, int]
    rate_limited: int
    retries: int
    duration_seconds: float
    scan: Mapping[str, int | str] | None = None
    paid_scan: Mapping[str, object] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The stats as JSON-ready data."""
        return {
            "requests": sum(self.requests_by_class.values()),
            "requests_by_class": dict(sorted(self.requests_by_class.items())),
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "duration_seconds": round(self.duration_seconds, 3),
            **({} if self.scan is None else {"scan": dict(self.scan)}),
            **({} if self.paid_scan is None else {"paid_scan": dict(self.paid_scan)}),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a run did, in the order the report lists it.

    ``policies`` is each policy's ``describe()``, keyed by policy name. ``aborted`` says why
    the run stopped early (a safety abort, an interrupt), and is ``None`` when it did not;
    ``abort_detail`` says what caused it in words ("connection refused by api:443"), when
    an error did.

    The header fields after it say who ran what where, for a reader of the report alone:
    ``environment`` is ``production``, ``demo``, ``sandbox`` (a loopback host) or ``other``
    (``Settings.api_environment``), ``base_url`` the API it names. ``exit_code`` is known
    only after the sweep: the CLI sets it before writing (``with_exit_code``); the Python
    API's ``sweep()`` leaves it ``None``. Each is left out of the JSON while ``None``.

    ``paid_twice`` is, with ``paid_siblings`` on, every order (externalId) found with two
    or more CONFIRMED links inside the lookback, races the sweep lost included, sorted by
    externalId; ``None`` (no key in the JSON) when the policy was off or no read of the
    paid links completed. Each link shows
    ``id``, ``amount``, ``currency`` and ``createdAt``: the list's records carry no
    ``updatedAt`` the policies keep (``jobs.Link`` has none).
    """

    run_id: str
    mode: Mode
    started_at: dt.datetime
    finished_at: dt.datetime
    policies: Mapping[str, object]
    summary: Summary
    items: tuple[ReportItem, ...]
    aborted: str | None = None
    stats: RunStats | None = None
    abort_detail: str | None = None
    environment: str | None = None
    base_url: str | None = None
    organization: str | None = None
    initiator: str | None = None
    version: str | None = None
    exit_code: int | None = None
    paid_twice: tuple[PaidTwice, ...] | None = None

    def with_exit_code(self, code: int) -> Report:
        """This report, saying the process exits with ``code``."""
        return dataclasses.replace(self, exit_code=int(code))

    def to_json_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data; ``aborted``, its detail and ``stats`` only when set."""
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "mode": self.mode,
            "started_at": utc_text(self.started_at),
            "finished_at": utc_text(self.finished_at),
        }
        # Additive header fields (issue 11): the keys above keep their names and meaning.
        for key in _HEADER_KEYS:
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.aborted is not None:
            data["aborted"] = str(self.aborted)
        if self.abort_detail is not None:
            data["abort_detail"] = self.abort_detail
        data["policies"] = json_ready(self.policies)
        data["summary"] = self.summary.to_json_dict()
        if self.stats is not None:
            data["stats"] = self.stats.to_json_dict()
        data["items"] = [item.to_json_dict() for item in self.items]
        if self.paid_twice is not None:
            data["paid_twice"] = [
                {
                    "externalId": group.external_id,
                    "links": [
                        {
                            "id": link.id,
                            "amount": decimal_text(link.amount),
                            "currency": link.currency,
                            "createdAt": utc_text(link.created_at),
                        }
                        for link in group.links
                    ],
                }
                for group in self.paid_twice
            ]
        return data
