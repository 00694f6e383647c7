"""What a person at a real terminal (a pty) sees: the plan view, the question, quiet logs."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from tests.terminal import ANSI, read_until
from tests.threaded import ThreadedSandbox

from .helpers import environ_for, link

SOON = timedelta(minutes=10)
_SCRIPT = Path(sys.executable).with_name("harmony-sweeper")


def _at_terminal(
    sandbox: ThreadedSandbox, args: Sequence[str], *, answer: bytes | None = None
) -> tuple[int, str]:
    """Run ``harmony-sweeper run ARGS`` on a pty; answer the question if given; its text."""
    env = {**os.environ, **environ_for(sandbox.server), "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("CI", None)
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [str(_SCRIPT), "run", *args], stdin=terminal, stdout=terminal, stderr=terminal, env=env
    ) as process:
        os.close(terminal)
        try:
            shown = b""
            if answer is not None:
                shown = read_until(controller, b"[y/N]", limit_s=30)
                assert b"[y/N]" in ANSI.sub(b"", shown), shown.decode(errors="replace")
                os.write(controller, answer + b"\n")
            shown += read_until(controller, b"\x00", limit_s=60)  # until the child exits
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            os.close(controller)
    return code, ANSI.sub(b"", shown).decode(errors="replace")


def _links(sandbox: ThreadedSandbox) -> list[dict[str, object]]:
    admin = sandbox.server.admin
    return sandbox.call(
        admin.add_links,
        [
            link(expires_in=SOON, amount="1200.50"),
            link(expires_in=SOON, amount="99.50"),
            link(expires_in=SOON),  # excluded by id in the dry-run test
            link(expires_in=timedelta(days=3)),  # not selected
        ],
    )


def test_a_dry_run_shows_the_plan_and_how_to_apply_it(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    rows = _links(threaded_sandbox)
    report = tmp_path / "plan.json"
    exclude = tmp_path / "never.csv"
    exclude.write_text(f"id\n{rows[2]['id']}\n")

    code, shown = _at_terminal(
        threaded_sandbox,
        [
            "--expiring-within",
            "1h",
            "--dry-run",
            "--report",
            str(report),
            "--exclude",
            str(exclude),
        ],
    )

    assert code == 0, shown
    host = threaded_sandbox.server.base_url.split("://", 1)[1]
    assert f"organization default on {host}" in shown
    assert "Policies: expiring within 1h" in shown
    assert "Will cancel 2 links" in shown
    assert re.search(r"MXN\s+2 links\s+1,300\.00", shown), shown
    assert "will cancel" in shown
    assert str(rows[0]["id"]) in shown
    assert str(rows[1]["id"]) in shown
    assert str(rows[2]["id"]) not in shown
    assert str(rows[3]["id"]) not in shown
    assert "Left alone" in shown
    assert re.search(r"\b0\s+expired, or expiring within the safety margin", shown), shown
    assert re.search(r"\b1\s+excluded by --exclude", shown), shown
    assert f"never the links {exclude} lists" in shown
    assert re.search(r"\b1\s+not selected by any policy", shown), shown
    assert "Dry run: no cancel was sent." in shown
    assert f"--manifest {report} --yes" in shown
    # Quiet by default at a terminal: no info events, no raw policy dict.
    assert "plan.ready" not in shown
    assert "{'expiring_within'" not in shown


def test_show_lists_that_many_links_and_says_how_many_more(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    _links(threaded_sandbox)

    code, shown = _at_terminal(
        threaded_sandbox, ["--expiring-within", "1h", "--dry-run", "--show", "1"]
    )

    assert code == 0, shown
    assert "1 of 3 links" in shown
    assert "2 more: --show 3 lists them all" in shown
    assert "add --report plan.json" in shown  # no JSON report asked for: say how to get one


def test_the_question_names_count_amount_and_host_before_anything_is_sent(
    threaded_sandbox: ThreadedSandbox,
) -> None:
    rows = _links(threaded_sandbox)

    code, shown = _at_terminal(threaded_sandbox, ["--expiring-within", "1h"], answer=b"y")

    assert code == 0, shown
    host = threaded_sandbox.server.base_url.split("://", 1)[1]
    question = f"This cannot be undone. Cancel 3 links (MXN 1,450.00) on {host}? [y/N]"
    assert question in shown
    before, _, after = shown.partition(question)
    assert "Will cancel 3 links" in before
    assert "not_attempted" not in before
    assert "Dry run" not in shown
    # Each cancel is in the audit log and the report, not on the operator's screen.
    assert "payment.cancelled" not in after
    assert "Summary (execute)" in after
    state = {
        row["id"]: row["status"]
        for row in threaded_sandbox.call(threaded_sandbox.server.admin.links)
    }
    assert [state[row["id"]] for row in rows] == ["CANCELLED", "CANCELLED", "CANCELLED", "PENDING"]


@pytest.mark.parametrize(
    ("flags", "shown_events", "hidden_events"),
    [
        ([], [], ["run.started", "plan.ready", "scan.page"]),
        (["-q"], [], ["run.started", "plan.ready", "scan.page"]),
        (["--log-level", "info"], ["run.started", "plan.ready"], ["scan.page"]),
        (["-v"], ["run.started", "plan.ready", "scan.page"], []),
    ],
    ids=["default", "quiet", "log-level-info", "verbose"],
)
def test_the_log_flags_choose_what_a_terminal_shows(
    threaded_sandbox: ThreadedSandbox,
    flags: list[str],
    shown_events: list[str],
    hidden_events: list[str],
) -> None:
    _links(threaded_sandbox)

    code, shown = _at_terminal(threaded_sandbox, ["--expiring-within", "1h", "--dry-run", *flags])

    assert code == 0, shown
    assert "Will cancel 3 links" in shown  # the plan view is not a log: always shown
    assert [event for event in shown_events if event not in shown] == []
    assert [event for event in hidden_events if event in shown] == []
    if "run.started" in shown_events:
        [started] = [line for line in shown.splitlines() if "run.started" in line]
        assert "policies='expiring within 1h'" in started  # in words, not a dict
