"""``harmony-sweeper demo``: its plan shows the paid_sibling policy beside the others."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from worker.cli.demo import run_demo


async def test_the_demo_plans_with_the_paid_sibling_policy(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=160, no_color=True)

    report = await run_demo(console, reports=tmp_path, links=600)

    assert "paid_sibling" in report.policies
    plan = (tmp_path / "demo-dry-run.md").read_text(encoding="utf-8")
    assert "- Other live links of an order already paid (paid within the last 30 days)" in plan
    assert "## Orders paid twice" in plan
    items = json.loads((tmp_path / "demo.json").read_text(encoding="utf-8"))["items"]
    paid = [item for item in items if "paid_sibling" in item["reasons"]]
    assert paid
    assert all(item["paidLinkId"] for item in paid)
