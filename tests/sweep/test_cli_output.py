"""Off a terminal: JSON lines on stderr as before, the log flags, and ``--output json``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.threaded import ThreadedSandbox
from worker.cli import cli

from .helpers import environ_for, link

SOON = timedelta(minutes=10)


def _run(sandbox: ThreadedSandbox, *args: str) -> Result:
    env = environ_for(sandbox.server)
    return CliRunner().invoke(cli, ["run", *args], env=env, catch_exceptions=False)


def _events(result: Result) -> list[dict[str, Any]]:
    """stderr as JSON lines: every line must parse."""
    return [json.loads(line) for line in result.stderr.splitlines() if line.strip()]


def _two_links(sandbox: ThreadedSandbox) -> list[dict[str, Any]]:
    admin = sandbox.server.admin
    return sandbox.call(
        admin.add_links, [link(expires_in=SOON, amount=amount) for amount in ("10.5", "20")]
    )


def test_off_a_terminal_every_event_is_a_json_line_and_stdout_is_empty(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    rows = _two_links(threaded_sandbox)

    result = _run(threaded_sandbox, "--expiring-within", "1h", "--yes")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # --output text (the default) prints nothing on stdout
    events = _events(result)
    names = [event["event"] for event in events]
    for name in ("run.started", "scan.finished", "plan.ready", "run.finished"):
        assert name in names
    cancelled = [event for event in events if event["event"] == "payment.cancelled"]
    assert sorted(event["id"] for event in cancelled) == sorted(row["id"] for row in rows)
    assert {event["level"] for event in cancelled} == {"info"}
    # The JSON keeps the data: policies as an object, not words.
    [started] = [event for event in events if event["event"] == "run.started"]
    assert started["policies"]["expiring_within"] == "1h"


@pytest.mark.parametrize(
    ("flags", "present", "absent"),
    [
        ([], {"payment.cancelled", "run.finished"}, {"scan.page"}),
        (["--log-level", "debug"], {"payment.cancelled", "scan.page"}, set[str]()),
        (["-v"], {"payment.cancelled", "scan.page"}, set[str]()),
        (["--log-level", "WARNING"], set[str](), {"payment.cancelled", "run.finished"}),
        (["-q"], set[str](), {"payment.cancelled", "run.finished", "scan.page"}),
    ],
    ids=["default-info", "log-level-debug", "verbose", "log-level-warning", "quiet"],
)
def test_the_log_flags_choose_the_events(
    threaded_sandbox: ThreadedSandbox, flags: list[str], present: set[str], absent: set[str]
) -> None:
    _two_links(threaded_sandbox)

    result = _run(threaded_sandbox, "--expiring-within", "1h", "--yes", *flags)

    assert result.exit_code == 0, result.stderr
    names = {event["event"] for event in _events(result)}
    assert present <= names
    assert not absent & names
    state = {row["status"] for row in threaded_sandbox.call(threaded_sandbox.server.admin.links)}
    assert state == {"CANCELLED"}  # quiet logs, same work


def test_a_log_flag_wins_over_the_config_file(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    _two_links(threaded_sandbox)
    config = tmp_path / "config.toml"
    config.write_text('[logging]\nlevel = "error"\n')

    result = _run(
        threaded_sandbox, "--config", str(config), "--expiring-within", "1h", "--dry-run", "-v"
    )

    assert result.exit_code == 0, result.stderr
    assert "scan.page" in {event["event"] for event in _events(result)}


@pytest.mark.parametrize(
    "flags", [["-q", "-v"], ["-q", "--log-level", "info"], ["-v", "--log-level", "debug"]]
)
def test_contradicting_log_flags_exit_2_and_send_nothing(
    threaded_sandbox: ThreadedSandbox, flags: list[str]
) -> None:
    result = _run(threaded_sandbox, "--expiring-within", "1h", "--dry-run", *flags)

    assert result.exit_code == 2
    assert "contradict each other" in result.stderr
    assert threaded_sandbox.call(threaded_sandbox.server.admin.counters)["total"] == 0


@pytest.mark.parametrize(
    ("flags", "counts", "exit_code"),
    [
        (["--dry-run"], {"would_cancel": 2, "cancelled": 0}, 0),
        (["--yes"], {"would_cancel": 0, "cancelled": 2}, 0),
        (["--yes", "--max-cancellations", "1"], {"not_attempted": 2, "cancelled": 0}, 4),
    ],
    ids=["dry-run", "execute", "over-the-cap"],
)
def test_output_json_prints_the_summary_on_stdout(
    threaded_sandbox: ThreadedSandbox,
    tmp_path: Path,
    flags: list[str],
    counts: dict[str, int],
    exit_code: int,
) -> None:
    _two_links(threaded_sandbox)
    report = tmp_path / "report.md"

    result = _run(
        threaded_sandbox, "--expiring-within", "1h", "-o", "json", "--report", str(report), *flags
    )

    assert result.exit_code == exit_code, result.stderr
    document = json.loads(result.stdout)  # one document, nothing else on stdout
    assert document["exit_code"] == exit_code
    assert document["organization"] == "default"
    assert document["base_url"] == threaded_sandbox.server.base_url
    assert document["reports"] == [str(report)]
    assert document["summary"]["planned"] == 2
    assert {key: document["summary"][key] for key in counts} == counts
    assert "items" not in document
    assert document["stats"]["requests"] >= 1
    assert document["policies"]["expiring_within"] == "1h"
    assert ("aborted" in document) is (exit_code != 0)
    # stderr keeps the logs, as JSON lines off a terminal.
    assert "run.finished" in {event["event"] for event in _events(result)}


def test_run_help_gives_three_examples() -> None:
    result = CliRunner().invoke(cli, ["run", "--help"])

    assert result.exit_code == 0
    _, _, examples = result.output.partition("Examples:")
    commands = [line for line in examples.splitlines() if line.strip().startswith("harmony-")]
    assert len(commands) == 3
    assert "--dry-run --report plan.json" in commands[0]
    assert "--manifest plan.json --yes" in commands[1]
    assert "--yes" in commands[2]
    for flag in ("--quiet", "--verbose", "--log-level", "--show", "--output"):
        assert flag in result.output
