"""The CLI through the real command object: exit codes, messages, and nothing sent on bad input."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.threaded import ThreadedSandbox
from worker.cli import cli

from .helpers import environ_for, link

SOON = timedelta(minutes=10)


def invoke(sandbox: ThreadedSandbox, *args: str, api_key: str | None = None) -> tuple[int, str]:
    env = environ_for(sandbox.server, api_key=api_key)
    result = CliRunner().invoke(cli, ["run", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def requests_seen(sandbox: ThreadedSandbox) -> int:
    counters = sandbox.call(sandbox.server.admin.counters)
    return int(counters["total"])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--dry-run", "--rate", "fast", "--duplicates"], "--rate"),
        (["--dry-run", "--expiring-within", "5 minutes"], "--expiring-within"),
        (["--dry-run", "--created-before", "2026-01-01T00:00:00"], "--created-before"),
        (["--dry-run", "--duplicates", "--report", "out.txt"], "--report"),
        (["--dry-run", "--manifest", "no-such-file.csv"], "no-such-file.csv"),
        (["--duplicates", "--yes", "--dry-run"], "--dry-run"),
        (["--dry-run", "--max-cancellations", "-1", "--duplicates"], "--max-cancellations"),
        (["--dry-run"], "no policy"),
        (["--dry-run", "--duplicates", "--base-url", "http://api.example.com"], "https"),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value) or "none",
)
def test_bad_flags_exit_2_naming_the_problem_and_send_nothing(
    threaded_sandbox: ThreadedSandbox, args: list[str], named: str
) -> None:
    code, output = invoke(threaded_sandbox, *args)
    assert code == 2, output
    assert named in output
    assert requests_seen(threaded_sandbox) == 0


@pytest.mark.parametrize(
    "bad_id",
    ["../../_sandbox/reset", "a/b", "%2e%2e", "3fa85f64-5717-4562-b3fc-2c963f66afa6?x=1", "x"],
)
def test_path_injection_in_a_manifest_is_refused_before_any_request(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path, bad_id: str
) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"id\n{uuid.uuid4()}\n{bad_id}\n")

    code, output = invoke(threaded_sandbox, "--manifest", str(manifest), "--yes")

    assert code == 2, output
    assert "manifest.csv" in output
    assert "line 3" in output
    assert requests_seen(threaded_sandbox) == 0


def test_config_file_unknown_key_is_named(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    config = tmp_path / "sweeper.toml"
    config.write_text("[policies]\nexpirng_within = '30m'\n")

    code, output = invoke(threaded_sandbox, "--config", str(config), "--dry-run")

    assert code == 2
    assert "expirng_within" in output
    assert "sweeper.toml" in output
    assert requests_seen(threaded_sandbox) == 0


def test_without_a_terminal_a_live_run_needs_yes(threaded_sandbox: ThreadedSandbox) -> None:
    threaded_sandbox.call(threaded_sandbox.server.admin.add_links, [link(expires_in=SOON)])

    code, output = invoke(threaded_sandbox, "--expiring-within", "1h")

    assert code == 2
    assert "--yes" in output
    assert requests_seen(threaded_sandbox) == 0


def test_approved_dry_run_report_is_applied_exactly(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    admin = threaded_sandbox.server.admin
    first = threaded_sandbox.call(admin.add_links, [link(expires_in=SOON) for _ in range(4)])
    approved = tmp_path / "approved.json"

    code, output = invoke(
        threaded_sandbox, "--expiring-within", "1h", "--dry-run", "--report", str(approved)
    )
    assert code == 0, output
    # A link that became eligible after finance approved the plan must not be cancelled.
    [late] = threaded_sandbox.call(admin.add_links, [link(expires_in=SOON)])
    code, output = invoke(threaded_sandbox, "--manifest", str(approved), "--yes")

    assert code == 0, output
    state = {row["id"]: row["status"] for row in threaded_sandbox.call(admin.links)}
    assert all(state[row["id"]] == "CANCELLED" for row in first)
    assert state[late["id"]] == "PENDING"
    report = json.loads(approved.read_text())
    assert {item["id"] for item in report["items"]} == {row["id"] for row in first}


@pytest.mark.parametrize("suffix", [".json", ".csv", ".md"])
def test_canary_key_never_appears_in_any_output(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path, suffix: str
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    admin = threaded_sandbox.server.admin
    org = threaded_sandbox.call(admin.create_org, "canary-org", api_key=canary)
    threaded_sandbox.call(
        admin.add_links, [link(expires_in=SOON) for _ in range(3)], api_key=org["api_key"]
    )
    threaded_sandbox.call(admin.set_knobs, race_rate=0.5, fault_rate=0.2)
    report = tmp_path / f"report{suffix}"

    code, output = invoke(
        threaded_sandbox,
        "--expiring-within",
        "1h",
        "--yes",
        "--report",
        str(report),
        api_key=canary,
    )
    wrong_code, wrong_output = invoke(
        threaded_sandbox, "--expiring-within", "1h", "--yes", api_key=canary + "-revoked"
    )

    assert code in (0, 1), output
    assert wrong_code == 3, wrong_output
    for text in (output, wrong_output, report.read_text()):
        assert canary not in text
