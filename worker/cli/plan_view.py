"""The plan at a terminal, as ``terraform plan`` shows one: what will go, what stays, and why.

Shown after a dry run and before the y/N question of an attended run: the links to cancel
by policy and by currency (counts and decimal sums), the expiry range, a sample of links,
what was left alone, the host and organization, and the command that applies the plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from worker.cli.progress import money, plan_table
from worker.outcomes import Outcome
from worker.report import ReportItem
from worker.settings import DEFAULT_BASE_URL
from worker.sweep import PlanContext

DEFAULT_SHOW = 10
"""Links the plan view lists by default; ``--show N`` lists more."""

# The outcomes of a link the plan will cancel: before the question, and in a dry run.
_WILL_CANCEL = frozenset({Outcome.NOT_ATTEMPTED, Outcome.WOULD_CANCEL})


def host(base_url: str) -> str:
    """The host (and port, when one is given) that a run sends its requests to."""
    return urlsplit(base_url).netloc or base_url


def totals_by_currency(items: Sequence[ReportItem]) -> dict[str, tuple[int, Decimal]]:
    """Links and the exact sum of their amounts per currency, currencies in order."""
    totals: dict[str, tuple[int, Decimal]] = {}
    for item in items:
        if item.currency is None or item.amount is None:
            continue
        count, total = totals.get(item.currency, (0, Decimal(0)))
        totals[item.currency] = (count + 1, total + Decimal(item.amount))
    return dict(sorted(totals.items()))


def confirm_question(items: Sequence[ReportItem], base_url: str) -> str:
    """The y/N question: how many links, how much money per currency, on which host."""
    sums = "; ".join(
        f"{currency} {money(total)}" for currency, (_, total) in totals_by_currency(items).items()
    )
    amounts = f" ({sums})" if sums else ""
    return f"This cannot be undone. Cancel {len(items)} links{amounts} on {host(base_url)}?"


def policy_words(reason: str, described: Mapping[str, object]) -> str:
    """One policy (or the scope, or the exclusions) as a phrase, from its ``describe()``."""
    value = described.get(reason)
    if reason == "expiring_within":
        return f"expiring within {value}"
    if reason == "duplicate":
        return "duplicates of an externalId (the newest kept)"
    if reason == "created_before":
        return f"created before {value}"
    if reason in ("paid_sibling", "paid_siblings"):
        lookback = value.get("lookback") if isinstance(value, Mapping) else None
        paid = f" (paid within {lookback})" if lookback else ""
        return f"other live links of an order already paid{paid}"
    if reason == "manifest" and isinstance(value, Mapping):
        return f"listed in {value.get('file')}"
    return reason


def policies_in_words(described: object) -> str:
    """The run's policies, scope and exclusions as one line of words, not a dict."""
    if not isinstance(described, Mapping):
        return str(described)
    phrases = [
        policy_words(name, described) for name in described if name not in ("scope", "exclude")
    ]
    scope = described.get("scope")
    if isinstance(scope, Mapping):
        currencies = scope.get("currencies")
        if isinstance(currencies, list | tuple) and currencies:
            phrases.append(f"only in {', '.join(map(str, currencies))}")
        if scope.get("created_before"):
            phrases.append(f"only links created before {scope['created_before']}")
    exclude = described.get("exclude")
    if isinstance(exclude, Mapping) and exclude.get("file"):
        phrases.append(f"never the links {exclude['file']} lists")
    return "; ".join(phrases)


def apply_command(base_url: str, report: Path | None) -> str:
    """How to apply this very plan: its dry-run JSON report as the manifest, confirmed."""
    target = "" if base_url == DEFAULT_BASE_URL else f" --base-url {base_url}"
    if report is not None and report.suffix.lower() == ".json":
        return f"To apply exactly this plan: harmony-sweeper run{target} --manifest {report} --yes"
    return (
        "To apply exactly this plan, add --report plan.json to this dry run, review it, then: "
        f"harmony-sweeper run{target} --manifest plan.json --yes"
    )


def plan_view(
    items: Sequence[ReportItem],
    context: PlanContext,
    *,
    show: int = DEFAULT_SHOW,
    dry_run: bool,
    report: Path | None = None,
    width: int = 200,
    apply_hint: bool = True,
) -> RenderableType:
    """The whole plan view of one organization, for ``console.print``.

    ``apply_hint=False`` leaves out the command that applies the plan: a combined report of
    several organizations is no manifest.
    """
    cancel = [item for item in items if item.outcome in _WILL_CANCEL]
    parts: list[RenderableType] = [
        Text.assemble(
            ("Plan", "bold"),
            f" for organization {context.organization} on {host(context.base_url)} ",
            (f"({context.base_url})", "dim"),
            " — dry run" if dry_run else "",
        ),
        Text(f"Policies: {policies_in_words(context.policies)}"),
        Text(""),
        _will_cancel(cancel, context.policies),
        Text(""),
        _left_alone(items, context),
    ]
    if cancel:
        shown = min(max(show, 0), len(cancel))
        table = plan_table(cancel, limit=shown, width=width)
        table.title = f"{shown} of {len(cancel)} links, soonest expiring first"
        if shown < len(cancel):
            table.caption = (
                f"{len(cancel) - shown} more: --show {len(cancel)} lists them all, "
                "--report FILE writes every link"
            )
        parts += [Text(""), table]
    if dry_run:
        parts += [Text(""), Text("Dry run: no cancel was sent.", style="bold")]
        if apply_hint:
            parts.append(Text(apply_command(context.base_url, report)))
    parts.append(Text(""))
    return Group(*parts)


def _will_cancel(cancel: Sequence[ReportItem], policies: Mapping[str, object]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.title = f"Will cancel {len(cancel)} links"
    grid.title_justify = "left"
    grid.title_style = "bold"
    for _ in range(4):
        grid.add_column()
    grid.columns[2].justify = "right"
    grid.columns[3].justify = "right"
    by_reason = Counter(str(reason) for item in cancel for reason in item.reasons)
    for index, (reason, count) in enumerate(sorted(by_reason.items())):
        label = "by policy" if index == 0 else ""
        grid.add_row(label, policy_words(reason, policies), f"{count} links", "")
    for index, (currency, (count, total)) in enumerate(totals_by_currency(cancel).items()):
        grid.add_row("by currency" if index == 0 else "", currency, f"{count} links", money(total))
    expiries = [item.expires_at for item in cancel if item.expires_at is not None]
    if expiries:
        earliest, latest = min(expiries), max(expiries)
        grid.add_row("expiring", f"from {earliest:%Y-%m-%d %H:%M} UTC", "", "")
        grid.add_row("", f"to {latest:%Y-%m-%d %H:%M} UTC", "", "")
    return grid


def _left_alone(items: Sequence[ReportItem], context: PlanContext) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.title = "Left alone"
    grid.title_justify = "left"
    grid.title_style = "bold"
    grid.add_column(justify="right")
    grid.add_column()
    counts = Counter(item.outcome for item in items)
    expired = max(context.skipped_expired, counts[Outcome.SKIPPED_EXPIRED])
    selected = context.cancel + context.skipped_expired + context.excluded
    rows = [
        (expired, "expired, or expiring within the safety margin: never sent"),
        (context.excluded, "excluded by --exclude"),
        (max(context.scanned - selected, 0), "not selected by any policy, or out of scope"),
        (counts[Outcome.NOT_FOUND], "listed, but not found"),
        (counts[Outcome.CONFLICT], "listed, but no longer PENDING"),
    ]
    for count, why in rows:
        if count or not why.startswith("listed"):
            grid.add_row(str(count), why)
    return grid
