"""``harmony-sweeper run --paid-siblings --dry-run``: the orders at risk and those paid twice,
at a terminal and as ``--output json``."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from click.testing import CliRunner

from tests.threaded import ThreadedSandbox
from worker.cli import cli

from .helpers import environ_for, link
from .test_terminal_view import _at_terminal


def _paid_orders(sandbox: ThreadedSandbox) -> dict[str, dict[str, Any]]:
    """ORD-1 paid with a live sibling; ORD-2 paid twice; a link nobody paid for."""
    named = {
        "paid": link(external_id="ORD-1", status="CONFIRMED", created_ago=timedelta(hours=3)),
        "sibling": link(external_id="ORD-1"),
        "twice-1": link(external_id="ORD-2", status="CONFIRMED", created_ago=timedelta(hours=5)),
        "twice-2": link(external_id="ORD-2", status="CONFIRMED", created_ago=timedelta(hours=4)),
        "unpaid": link(external_id="ORD-3"),
    }
    sandbox.call(sandbox.server.admin.add_links, list(named.values()))
    return named


def test_a_dry_run_as_json_names_the_paid_link_and_the_orders_paid_twice(
    threaded_sandbox: ThreadedSandbox, tmp_path: Any
) -> None:
    named = _paid_orders(threaded_sandbox)
    report = tmp_path / "plan.json"

    result = CliRunner().invoke(
        cli,
        ["run", "--paid-siblings", "--dry-run", "-o", "json", "--report", str(report)],
        env=environ_for(threaded_sandbox.server),
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["summary"]["would_cancel"] == 1
    assert [group["externalId"] for group in summary["paid_twice"]] == ["ORD-2"]
    [item] = json.loads(report.read_text(encoding="utf-8"))["items"]
    assert (item["id"], item["reasons"], item["paidLinkId"]) == (
        named["sibling"]["id"],
        ["paid_sibling"],
        named["paid"]["id"],
    )
    statuses = {
        row["id"]: row["status"]
        for row in threaded_sandbox.call(threaded_sandbox.server.admin.links)
    }
    assert statuses[named["sibling"]["id"]] == "PENDING"  # a dry run


def test_at_a_terminal_the_plan_names_the_policy_and_the_summary_counts_orders_paid_twice(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    named = _paid_orders(threaded_sandbox)

    code, shown = _at_terminal(threaded_sandbox, ["--paid-siblings", "--dry-run"])

    assert code == 0, shown
    assert "other live links of an order already paid (paid within 30d)" in shown
    assert named["sibling"]["id"][:8] in shown
    assert named["unpaid"]["id"][:8] not in shown
    [line] = [row for row in shown.splitlines() if "orders paid twice" in row]
    assert [cell.strip() for cell in line.strip().strip("│").split("│")] == [
        "orders paid twice",
        "1",
    ]
