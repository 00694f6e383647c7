"""The alert rules docs/metrics.md suggests: valid, and firing on the series pushes leave.

Runs Prometheus' own ``promtool`` (Debian: the ``prometheus`` package); skipped without it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
INSTALL_HINT = (
    "promtool not found: install it to check the suggested alert rules"
    " (Debian/Ubuntu: `apt-get install -y --no-install-recommends prometheus`)"
)
_PROMTOOL_WITHIN = 60.0  # seconds; it answers in well under one

JOB = "harmony-sweeper"
DAY = 86_400
SAMPLES = 73  # one an hour, 0h to 72h


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip(INSTALL_HINT)
    return found


def test_the_rules_are_valid(promtool: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(_rules_text(), encoding="utf-8")

    _run(promtool, "check", "rules", str(rules))


def test_the_rules_fire_on_the_series_pushes_leave(promtool: str, tmp_path: Path) -> None:
    rules = yaml.safe_load(_rules_text())
    # promtool compares annotations too; their wording is for people, not for this test.
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(_unit_tests(rules)), encoding="utf-8")

    _run(promtool, "test", "rules", str(tmp_path / "tests.yaml"))


def _unit_tests(rules: dict[str, Any]) -> dict[str, Any]:
    """Five organizations pushing daily, each in trouble its own way (or in none)."""
    severity = {
        rule["alert"]: rule["labels"]["severity"]
        for group in rules["groups"]
        for rule in group["rules"]
    }

    def fires(alert: str, at: str, *organizations: str, **labels: str) -> dict[str, Any]:
        return {
            "eval_time": at,
            "alertname": alert,
            "exp_alerts": [
                {
                    "exp_labels": {
                        "job": JOB,
                        "organization": organization,
                        "severity": severity[alert],
                        **labels,
                    }
                }
                for organization in organizations
            ],
        }

    series = [
        *_organization("steady"),
        *_organization("stale", completes=False),
        *_organization("failing", succeeds=False, exit_code=1),
        *_organization("declined", succeeds=False, exit_code=4, aborted="declined"),
        *_organization("throttled", answers_429=20),
        *_organization("refunds", paid_twice=2),
    ]
    nothing = [{"series": 'up{job="pushgateway"}', "values": f"1x{SAMPLES - 1}"}]
    return {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1h",
        "tests": [
            {
                "interval": "1h",
                "input_series": series,
                "alert_rule_test": [
                    # Two days have not passed since the last run at 47h; they have at 49h.
                    fires("HarmonySweeperRunMissing", "47h"),
                    fires("HarmonySweeperRunMissing", "49h", "stale"),
                    fires("HarmonySweeperNoSuccess", "47h"),
                    fires("HarmonySweeperNoSuccess", "49h", "declined", "failing", "stale"),
                    fires("HarmonySweeperFailed", "1h", "failing"),
                    fires("HarmonySweeperAborted", "1h", "declined", reason="declined"),
                    fires("HarmonySweeperRateLimited", "1h", "throttled"),
                    fires("HarmonySweeperPaidTwice", "1h", "refunds"),
                    fires("HarmonySweeperNotReporting", "72h"),
                ],
            },
            {
                "interval": "1h",
                "input_series": nothing,
                "alert_rule_test": [
                    fires("HarmonySweeperNotReporting", "47h"),
                    {
                        "eval_time": "49h",
                        "alertname": "HarmonySweeperNotReporting",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "job": JOB,
                                    "severity": severity["HarmonySweeperNotReporting"],
                                }
                            }
                        ],
                    },
                ],
            },
        ],
    }


def _organization(
    name: str,
    *,
    completes: bool = True,
    succeeds: bool = True,
    exit_code: int = 0,
    aborted: str | None = None,
    answers_429: int = 0,
    paid_twice: int = 0,
) -> list[dict[str, str]]:
    """What daily pushes for one organization leave on the gateway, hour by hour."""

    def series(metric: str, values: str, **labels: str) -> dict[str, str]:
        # No instance label: the gateway's instance="" is, to Prometheus, no label at all.
        selector = {"job": JOB, "organization": name, **labels}
        rendered = ",".join(f'{key}="{value}"' for key, value in sorted(selector.items()))
        return {"series": f"harmony_sweeper_{metric}{{{rendered}}}", "values": values}

    return [
        series("last_completion_timestamp_seconds", _timestamps(pushed_daily=completes)),
        series("last_success_timestamp_seconds", _timestamps(pushed_daily=completes and succeeds)),
        series("exit_code", _flat(exit_code)),
        series("aborted", _flat(aborted == "declined"), reason="declined"),
        series("aborted", _flat(0), reason="interrupted"),
        series("requests", _flat(100 - answers_429), status_class="2xx"),
        series("requests", _flat(answers_429), status_class="429"),
        series("rate_limited_requests", _flat(answers_429)),
        series("paid_twice", _flat(paid_twice)),
    ]


def _timestamps(*, pushed_daily: bool) -> str:
    """A timestamp gauge: set at 0h, then again at 24h and 48h when pushed daily."""
    if not pushed_daily:
        return _flat(0)
    return f"0x23 {DAY}x23 {2 * DAY}x24"


def _flat(value: float) -> str:
    return f"{value:g}x{SAMPLES - 1}"


def _rules_text() -> str:
    """The YAML block of docs/metrics.md that holds the rule groups."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    [rules] = [block for block in blocks if block.startswith("groups:")]
    return str(rules)


def _run(promtool: str, *arguments: str) -> None:
    result = subprocess.run(
        [promtool, *arguments],
        capture_output=True,
        text=True,
        timeout=_PROMTOOL_WITHIN,
        check=False,
    )
    assert result.returncode == 0, (
        f"promtool {' '.join(arguments)}:\n{result.stdout}{result.stderr}"
    )
