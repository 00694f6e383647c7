"""The probe's result for people (a rich table) and for machines (one JSON document)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from worker.probe import Level, ProbeResult

_STYLES = {
    Level.OK: "green",
    Level.NOTE: "cyan",
    Level.WARN: "yellow",
    Level.FAIL: "bold red",
    Level.UNCHECKED: "magenta",
}


def probe_table(result: ProbeResult) -> RenderableType:
    """Verdicts, then recommendations, then what the probe sent."""
    table = Table(title=f"harmony-sweeper probe: {result.base_url}", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("verdict", ratio=2)
    table.add_column("evidence · what the sweep does", ratio=3)
    for verdict in result.verdicts:
        style = _STYLES[verdict.level]
        finding = Text.assemble((verdict.level.value, style), f" {verdict.finding}")
        evidence = Text(verdict.evidence)
        if verdict.sweep:
            evidence.append(("\n" if verdict.evidence else "") + f"sweep: {verdict.sweep}", "dim")
        table.add_row(verdict.check, finding, evidence)
    lines = [Text("Recommendations", style="bold")]
    lines += [Text(f"- {line}") for line in result.recommendations]
    held = "everything the sweep relies on holds" if result.holds else "see warn/fail above"
    lines.append(
        Text(
            f"{result.requests} GET requests (cap {result.max_requests}) at {result.rate:g} "
            f"req/s; {held}"
        )
    )
    return Group(table, *lines)


def print_probe_table(result: ProbeResult, console: Console) -> None:
    """Print the table to ``console``."""
    console.print(probe_table(result))


def probe_json(result: ProbeResult) -> dict[str, Any]:
    """The result as a JSON-ready document."""
    return {
        "base_url": result.base_url,
        "holds": result.holds,
        "requests": result.requests,
        "max_requests": result.max_requests,
        "rate": result.rate,
        "capped": result.capped,
        "verdicts": [
            {
                "check": v.check,
                "level": v.level.value,
                "holds": v.holds,
                "finding": v.finding,
                "evidence": v.evidence,
                "sweep": v.sweep,
                "data": v.data,
            }
            for v in result.verdicts
        ],
        "recommendations": list(result.recommendations),
    }


def probe_json_text(result: ProbeResult) -> str:
    """``probe_json`` as indented text."""
    return json.dumps(probe_json(result), indent=2, default=str)
