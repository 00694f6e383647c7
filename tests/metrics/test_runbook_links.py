"""Every alert rule links to a section of docs/runbook.md that exists; every exit code has one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from worker.cli.exit_codes import ExitCode

DOCS = Path(__file__).resolve().parents[2] / "docs"
RUNBOOK = DOCS / "runbook.md"


def _rules() -> list[dict[str, Any]]:
    blocks = re.findall(
        r"```yaml\n(.*?)```", (DOCS / "metrics.md").read_text(encoding="utf-8"), re.DOTALL
    )
    [text] = [block for block in blocks if block.startswith("groups:")]
    groups = yaml.safe_load(text)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors() -> set[str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    # Headings outside code blocks only: a "# comment" in a shell block is not one.
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", prose, re.MULTILINE)}


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_each_alert_links_to_a_runbook_section_that_exists(rule: dict[str, Any]) -> None:
    url = urlsplit(rule["annotations"]["runbook_url"])

    assert url.path.endswith("/docs/runbook.md")
    assert url.fragment in _anchors()
    assert url.fragment == _slug(rule["alert"])


@pytest.mark.parametrize("code", list(ExitCode), ids=lambda code: str(int(code)))
def test_each_exit_code_has_a_runbook_section(code: ExitCode) -> None:
    assert f"exit-code-{int(code)}" in _anchors()


def test_the_runbooks_own_links_lead_to_its_headings() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    own = re.findall(r"\]\(#([^)]+)\)", text)

    assert own
    assert set(own) <= _anchors()


def test_the_exit_1_alert_says_that_exit_1_covers_crashes_too() -> None:
    [failed] = [rule for rule in _rules() if rule["alert"] == "HarmonySweeperFailed"]
    description = failed["annotations"]["description"]

    assert "failed cancels and crashes" in description
    assert "run.crashed" in description


def test_slug_follows_github() -> None:
    assert _slug("Exit code 130") == "exit-code-130"
    assert _slug("Pausing and resuming the CronJob") == "pausing-and-resuming-the-cronjob"
    assert _slug("First look, whatever happened") == "first-look-whatever-happened"
