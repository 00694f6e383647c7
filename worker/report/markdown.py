"""The Markdown report, written for finance: who ran what where, what happened, and the money.

A header (environment and host, organization, run id, initiator, version, mode, times, exit
code, why it stopped), the policies in words, the counts by outcome with the difference
between planned and cancelled said in a sentence, amounts per outcome and currency with
totals, then every item, then (with ``paid_siblings`` on) the orders paid twice. Amounts
are shown to two decimals with thousands separators and right-aligned; currencies are
never added together. Times read ``2026-12-03 12:26 UTC``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from worker.outcomes import Outcome
from worker.report._encoding import markdown_cell, money_text, time_text
from worker.report._policy_words import policy_lines
from worker.report.items import ReportItem

if TYPE_CHECKING:
    from worker.report.report import Report

_ENVIRONMENTS = {
    "production": "production",
    "demo": "demo host",
    "sandbox": "sandbox (a loopback host, not production)",
    "other": "other host (neither production nor a loopback sandbox)",
}
# The words of worker.cli.exit_codes' table, which this layer may not import (it is above).
_EXIT_WORDS = {
    0: "done",
    1: "some cancellations failed, or the run crashed",
    2: "usage or configuration error, nothing sent",
    3: "the API refused the key",
    4: "safety abort",
    5: "another run held the lock",
    6: "the API could not be reached, nothing cancelled",
    7: "finished, but this report went to a fallback",
    8: "probe: the API needs a workaround",
    130: "interrupted (SIGINT)",
    143: "interrupted (SIGTERM)",
}
# What each outcome means to a reader who has not read the code.
_OUTCOME_WORDS = {
    Outcome.CANCELLED: "cancelled at the API",
    Outcome.WOULD_CANCEL: "would be cancelled (dry run: nothing was sent)",
    Outcome.CONFLICT: "not cancellable any more (paid, cancelled or changed meanwhile)",
    Outcome.NOT_FOUND: "gone from the API",
    Outcome.FAILED: "cancel failed after retries",
    Outcome.SKIPPED_EXPIRED: "expired before a cancel could be sent; none was sent",
    Outcome.NOT_ATTEMPTED: "not attempted: the run stopped first",
}
_ITEM_HEADER = (
    "ID",
    "External ID",
    "Amount",
    "Currency",
    "Expires (UTC)",
    "Created (UTC)",
    "Reasons",
    "Outcome",
    "HTTP",
    "Attempts",
    "Message",
    "Kept link",
    "Paid link",
)
_PAID_TWICE_HEADER = ("External ID", "Paid links", "Link", "Amount", "Currency", "Created (UTC)")
_RIGHT = frozenset({"Amount", "Links", "HTTP", "Attempts", "Paid links"})


class MarkdownReportWriter:
    """A report for finance: header, policies in words, summary, amounts, then every item."""

    def write(self, report: Report, stream: TextIO) -> None:
        """Write ``report`` as Markdown."""
        stream.write("\n".join(self._lines(report)) + "\n")

    def _lines(self, report: Report) -> list[str]:
        mode = "dry run" if report.mode == "dry-run" else "execution"
        lines = [f"# harmony-sweeper {report.mode} report `{report.run_id}`", ""]
        lines += [f"- **{label}:** {value}" for label, value in _header(report)]
        lines += ["", "## Policies", ""]
        lines += list(policy_lines(report.policies)) or ["- (none)"]
        lines += ["", "## Summary", ""]
        lines += _summary(report, mode)
        lines += ["", "## Amounts by outcome and currency", ""]
        lines += _table(("Outcome", "Currency", "Links", "Amount"), _totals(report))
        lines += ["", "## Items", ""]
        # A kept link that another policy selects is cancelled too: the row says so.
        planned = {item.id for item in report.items}
        lines += _table(_ITEM_HEADER, [_item_row(item, planned) for item in report.items])
        if report.paid_twice is not None:
            lines += ["", "## Orders paid twice", ""]
            lines += _paid_twice(report)
        return lines


def _header(report: Report) -> Iterator[tuple[str, str]]:
    if report.environment is not None:
        where = _ENVIRONMENTS.get(report.environment, report.environment)
        host = f": {markdown_cell(report.base_url)}" if report.base_url else ""
        yield "Environment", f"{markdown_cell(where)}{host}"
    if report.organization is not None:
        yield "Organization", markdown_cell(report.organization)
    yield "Run id", f"`{report.run_id}`"
    if report.initiator is not None:
        yield "Initiated by", markdown_cell(report.initiator)
    if report.version is not None:
        yield "Tool version", f"harmony-sweeper {markdown_cell(report.version)}"
    yield (
        "Mode",
        (
            "dry run: nothing was cancelled"
            if report.mode == "dry-run"
            else "execute: links were cancelled"
        ),
    )
    yield "Started", time_text(report.started_at, seconds=True)
    took = (report.finished_at - report.started_at).total_seconds()
    yield "Finished", f"{time_text(report.finished_at, seconds=True)} (after {took:.1f} s)"
    if report.exit_code is not None:
        words = _EXIT_WORDS.get(report.exit_code)
        yield "Exit code", f"{report.exit_code}" + (f" ({words})" if words else "")
    if report.aborted is not None:
        yield "Stopped early", markdown_cell(str(report.aborted))
    if report.abort_detail is not None:
        yield "Cause", markdown_cell(report.abort_detail)
    if report.stats is not None and report.stats.scan is not None:
        scan = report.stats.scan
        # The last pass's scan: after cancels it lists fewer links than "scanned" counts.
        yield (
            "Last scan",
            (
                f"{scan['links_seen']} distinct PENDING links seen of"
                f" {scan['count_announced']} the server announced (pages read:"
                f" {scan['pages_read']}, re-reads: {scan['rereads']})"
                + _SCAN_ENDINGS.get(str(scan.get("ended")), "")
            ),
        )
    paid_scan = None if report.stats is None else report.stats.paid_scan
    if paid_scan is not None:
        if paid_scan.get("complete"):
            text = (
                f"{paid_scan.get('links_seen')} CONFIRMED links read in"
                f" {paid_scan.get('pages_read')} pages (ended: {paid_scan.get('ended')})"
            )
        else:
            text = (
                f"not all read ({paid_scan.get('error')}): the paid_sibling policy selected"
                " nothing that pass"
            )
        yield "Paid links", markdown_cell(text)


def _paid_twice(report: Report) -> list[str]:
    """Each order with two or more CONFIRMED links: one row per paid link, for refunds."""
    groups = report.paid_twice or ()
    if not groups:
        return ["No order was found paid twice within the lookback."]
    rows = [
        [
            markdown_cell(group.external_id) if index == 0 else "",
            str(len(group.links)) if index == 0 else "",
            markdown_cell(link.id),
            money_text(link.amount),
            markdown_cell(link.currency),
            time_text(link.created_at),
        ]
        for group in groups
        for index, link in enumerate(group.links)
    ]
    lead = (
        f"{len(groups)} order(s) have two or more CONFIRMED links: the customer paid more "
        "than once, and finance has a refund to make."
    )
    return [lead, "", *_table(_PAID_TWICE_HEADER, rows)]


# How a scan ended, after its figures: a horizon scan reads a prefix, so its "seen" is short
# of "announced" by design (``worker.sweep.horizon``).
_SCAN_ENDINGS = {
    "horizon": "; stopped at the lifetime horizon: the links past it expired before the run",
    "fallback": "; read in full after the lifetime horizon failed a check",
}


def _summary(report: Report, mode: str) -> list[str]:
    """Counts by outcome (no zero rows) and a sentence on how they add up."""
    summary = report.summary
    rows = [
        ["scanned", "distinct PENDING links listed", str(summary.scanned)],
        ["planned", "selected by policy; each ends in one outcome below", str(summary.planned)],
    ]
    counts = {outcome: getattr(summary, outcome.value) for outcome in Outcome}
    rows += [
        [outcome.value, _OUTCOME_WORDS[outcome], str(count)]
        for outcome, count in counts.items()
        if count
    ]
    lines = _table(("", "Meaning", "Links"), rows)
    return [*lines, "", _explanation(summary.scanned, summary.planned, counts, mode)]


def _explanation(scanned: int, planned: int, counts: Mapping[Outcome, int], mode: str) -> str:
    """Why planned and cancelled (or would_cancel) differ, in one sentence."""
    left = scanned - planned
    head = (
        f"The policies selected {planned} of the {scanned} PENDING links listed"
        f" ({left} left alone: no policy selected them, or they were out of scope or"
        " excluded)."
        if left > 0
        else f"The policies selected {planned} of the {scanned} PENDING links listed."
    )
    done = Outcome.WOULD_CANCEL if mode == "dry run" else Outcome.CANCELLED
    others = [
        f"{count} {outcome.value} ({_OUTCOME_WORDS[outcome]})"
        for outcome, count in counts.items()
        if count and outcome is not done
    ]
    verb = "would be cancelled" if done is Outcome.WOULD_CANCEL else "were cancelled"
    tail = f" Of those, {counts[done]} {verb}"
    if not others:
        return head + tail + "."
    return head + tail + "; the other " + f"{planned - counts[done]}: " + "; ".join(others) + "."


def _totals(report: Report) -> list[list[str]]:
    """Links and amounts per outcome and currency, a total per outcome, then per currency.

    Currencies are never added up: a total over several lists each currency's sum. Links
    known only by their id count under an empty currency and add nothing.
    """
    counts: defaultdict[tuple[str, str], int] = defaultdict(int)
    sums: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for item in report.items:
        key = (item.outcome.value, item.currency or "")
        counts[key] += 1
        if item.amount is not None:
            sums[key] += Decimal(item.amount)
    rows: list[list[str]] = []
    outcomes = [o.value for o in Outcome if any(key[0] == o.value for key in counts)]
    for outcome in outcomes:
        currencies = sorted(c for o, c in counts if o == outcome)
        for currency in currencies:
            key = (outcome, currency)
            rows.append([outcome, markdown_cell(currency), str(counts[key]), money_text(sums[key])])
        total = sum(counts[(outcome, c)] for c in currencies)
        rows.append(
            [
                f"**Total {outcome}**",
                "",
                f"**{total}**",
                _per_currency({c: sums[(outcome, c)] for c in currencies if c}),
            ]
        )
    by_currency: defaultdict[str, Decimal] = defaultdict(Decimal)
    links_by_currency: defaultdict[str, int] = defaultdict(int)
    for key, count in counts.items():
        links_by_currency[key[1]] += count
        by_currency[key[1]] += sums[key]
    if len(outcomes) > 1:
        for currency in sorted(links_by_currency):
            rows.append(
                [
                    "**All planned**",
                    markdown_cell(currency),
                    f"**{links_by_currency[currency]}**",
                    f"**{money_text(by_currency[currency])}**",
                ]
            )
    return rows


def _per_currency(sums: Mapping[str, Decimal]) -> str:
    """``**1,234.50 MXN**``, or each currency's sum when there are several."""
    if not sums:
        return ""
    return "**" + " + ".join(f"{money_text(s)} {markdown_cell(c)}" for c, s in sums.items()) + "**"


def _item_row(item: ReportItem, planned: set[str]) -> list[str]:
    kept = item.kept_link or ""
    if kept in planned:
        kept += " (itself planned, see its row)"
    return [
        markdown_cell(item.id),
        markdown_cell(item.external_id or ""),
        "" if item.amount is None else money_text(item.amount),
        markdown_cell(item.currency or ""),
        "" if item.expires_at is None else time_text(item.expires_at),
        "" if item.created_at is None else time_text(item.created_at),
        markdown_cell(", ".join(item.reasons)),
        item.outcome.value,
        "" if item.http_status is None else str(item.http_status),
        str(item.attempts),
        markdown_cell(item.message or ""),
        markdown_cell(kept),
        markdown_cell(item.paid_link or ""),
    ]


def _table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    rule = "|".join("---:" if name in _RIGHT else "---" for name in header)
    lines = ["| " + " | ".join(header) + " |", f"|{rule}|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines
