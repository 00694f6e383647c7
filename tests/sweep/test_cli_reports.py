"""Several reports from one run, through the real CLI against the sandbox; the finance fields."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.terminal import read_all
from tests.threaded import ThreadedSandbox
from worker.__about__ import __version__
from worker.cli import cli

from .helpers import environ_for, link

SOON = timedelta(minutes=10)
_SCRIPT = Path(sys.executable).with_name("harmony-sweeper")


def invoke(
    sandbox: ThreadedSandbox, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str]:
    environ = {**environ_for(sandbox.server), **(env or {})}
    result = CliRunner().invoke(cli, ["run", *args], env=environ, catch_exceptions=False)
    return result.exit_code, result.output


def requests_seen(sandbox: ThreadedSandbox) -> int:
    return int(sandbox.call(sandbox.server.admin.counters)["total"])


def _markdown_item_ids(text: str) -> list[str]:
    section = text.split("## Items\n", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [re.split(r"(?<!\\)\|", row)[1].strip() for row in rows]


def test_one_run_writes_every_report_asked_for_with_one_plan(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    added = threaded_sandbox.call(
        threaded_sandbox.server.admin.add_links, [link(expires_in=SOON) for _ in range(6)]
    )
    paths = [tmp_path / "plan.json", tmp_path / "plan.md", tmp_path / "plan.csv"]

    code, output = invoke(
        threaded_sandbox,
        "--expiring-within",
        "1h",
        "--dry-run",
        *(arg for path in paths for arg in ("--report", str(path))),
    )

    assert code == 0, output
    document = json.loads(paths[0].read_text(encoding="utf-8"))
    planned = [item["id"] for item in document["items"]]
    assert sorted(planned) == sorted(row["id"] for row in added)
    assert _markdown_item_ids(paths[1].read_text(encoding="utf-8")) == planned
    with paths[2].open(newline="", encoding="utf-8") as stream:
        assert [row["id"] for row in csv.DictReader(stream)] == planned
    # One run, one run id, in every file.
    assert document["run_id"] in paths[1].read_text(encoding="utf-8")
    # Off a terminal the logs are JSON lines on stderr: the last says where each report went.
    logs = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    (written,) = [event for event in logs if event["event"] == "report.written"]
    assert written["paths"] == [str(path) for path in paths]


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--report", "{dir}/r.json", "--report", "{dir}/r.json"], {}),
        ([], {"SWEEPER_REPORT": "{dir}/r.json,{dir}/r.json"}),
    ],
    ids=["flags", "environment"],
)
def test_the_same_report_path_twice_is_exit_2_naming_it(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    code, output = invoke(
        threaded_sandbox,
        "--duplicates",
        "--dry-run",
        *(arg.format(dir=tmp_path) for arg in args),
        env={name: value.format(dir=tmp_path) for name, value in env.items()},
    )

    assert code == 2, output
    assert f"{tmp_path / 'r.json'} is given twice" in output
    assert "Traceback" not in output
    assert requests_seen(threaded_sandbox) == 0
    assert list(tmp_path.iterdir()) == []


def test_every_report_path_is_checked_before_any_request(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-folder" / "r.md"

    code, output = invoke(
        threaded_sandbox,
        "--duplicates",
        "--dry-run",
        "--report",
        str(tmp_path / "r.json"),
        "--report",
        str(missing),
    )

    assert code == 2, output
    assert str(missing) in output
    assert requests_seen(threaded_sandbox) == 0


def test_the_written_reports_carry_the_header_and_the_exit_code(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    threaded_sandbox.call(
        threaded_sandbox.server.admin.add_links, [link(expires_in=SOON) for _ in range(3)]
    )
    json_path, md_path = tmp_path / "r.json", tmp_path / "r.md"

    # Over the cap: a safety abort, exit 4, decided after the sweep and still in the report.
    code, output = invoke(
        threaded_sandbox,
        "--expiring-within",
        "1h",
        "--yes",
        "--max-cancellations",
        "2",
        "--report",
        str(json_path),
        "--report",
        str(md_path),
        env={"SWEEPER_INITIATOR": "ana@finance"},
    )

    assert code == 4, output
    document = json.loads(json_path.read_text(encoding="utf-8"))
    assert {key: document[key] for key in ("environment", "organization", "initiator")} == {
        "environment": "sandbox",
        "organization": "default",
        "initiator": "ana@finance",
    }
    assert document["base_url"] == threaded_sandbox.server.base_url
    assert document["version"] == __version__
    assert (document["exit_code"], document["aborted"]) == (4, "plan_over_cap")
    text = md_path.read_text(encoding="utf-8")
    assert "- **Exit code:** 4 (safety abort)" in text
    assert "- **Stopped early:** plan\\_over\\_cap" in text
    assert "- **Environment:** sandbox (a loopback host, not production)" in text
    assert "- **Initiated by:** ana@finance" in text


def test_a_duplicate_row_names_the_newest_link_of_its_order(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    order = [link(external_id="ORD-7", created_ago=timedelta(hours=hours)) for hours in (5, 3, 1)]
    oldest, middle, newest = threaded_sandbox.call(threaded_sandbox.server.admin.add_links, order)
    json_path, csv_path = tmp_path / "r.json", tmp_path / "r.csv"

    code, output = invoke(
        threaded_sandbox,
        "--duplicates",
        "--yes",
        "--report",
        str(json_path),
        "--report",
        str(csv_path),
    )

    assert code == 0, output
    items = {item["id"]: item for item in json.loads(json_path.read_text())["items"]}
    assert set(items) == {oldest["id"], middle["id"]}
    assert {item["keptLinkId"] for item in items.values()} == {newest["id"]}
    with csv_path.open(newline="", encoding="utf-8") as stream:
        assert {row["keptLinkId"] for row in csv.DictReader(stream)} == {newest["id"]}
    state = threaded_sandbox.call(threaded_sandbox.server.admin.link, newest["id"])
    assert state["status"] == "PENDING"


def test_a_terminal_is_told_where_each_report_went(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    threaded_sandbox.call(threaded_sandbox.server.admin.add_links, [link(expires_in=SOON)])
    paths = [tmp_path / "plan.json", tmp_path / "plan.md"]
    env = {**os.environ, **environ_for(threaded_sandbox.server), "COLUMNS": "200"}
    env.pop("CI", None)
    controller, terminal = pty.openpty()
    args = [str(_SCRIPT), "run", "--expiring-within", "1h", "--dry-run"]
    with subprocess.Popen(
        [*args, *(arg for path in paths for arg in ("--report", str(path)))],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
    ) as process:
        os.close(terminal)
        try:
            shown = read_all(controller, limit_s=60)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
            os.close(controller)

    text = shown.decode(errors="replace")
    for path in paths:
        assert f"Report: {path}" in text, text
        assert path.is_file()
