"""Local failures: unusable paths stop the run before any request; a lost report is not lost.

Through the installed console script (the outermost ``main()`` included), as cron runs it.
The tests run as root, where mode bits do not stop a write: "cannot write" here is a
missing folder, a directory, a path under a regular file, or the read-only ``/proc``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.sweep.helpers import environ_for, link
from tests.threaded import ThreadedSandbox
from worker.cli.deliver import deliver_report
from worker.cli.exit_codes import ExitCode
from worker.errors import ConfigError
from worker.ops.lock import exclusive_lock

_SCRIPT = Path(sys.executable).with_name("harmony-sweeper")
SOON = timedelta(minutes=10)


def run_cli(
    sandbox: ThreadedSandbox,
    *args: str,
    api_key: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environ_for(sandbox.server, api_key=api_key)}
    return subprocess.run(
        [str(_SCRIPT), "run", "--expiring-within", "1h", "--yes", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=preexec_fn,
    )


def events(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def requests_seen(sandbox: ThreadedSandbox) -> int:
    counters: Mapping[str, Any] = sandbox.call(sandbox.server.admin.counters)
    return int(counters["total"])


def _missing_folder(tmp: Path, name: str) -> Path:
    return tmp / "no-such-folder" / name


def _a_directory(tmp: Path, name: str) -> Path:
    (tmp / name).mkdir()
    return tmp / name


def _under_a_file(tmp: Path, name: str) -> Path:
    (tmp / "plain-file").write_text("")
    return tmp / "plain-file" / name


def _a_fifo(tmp: Path, name: str) -> Path:
    os.mkfifo(tmp / name)
    return tmp / name


def _read_only_fs(tmp: Path, name: str) -> Path:
    return Path("/proc") / f"{uuid.uuid4().hex}-{name}"


_PATH_KINDS = {
    "missing folder": (_missing_folder, "does not exist"),
    "a directory": (_a_directory, "is a directory"),
    "under a regular file": (_under_a_file, "is not a directory"),
    "a FIFO": (_a_fifo, "is not a regular file"),
    "read-only file system": (_read_only_fs, "cannot create a file in /proc"),
}
_OPTIONS = {"--report": "report.json", "--audit-log": "audit.jsonl", "--lock-file": "run.lock"}


@pytest.mark.parametrize("kind", _PATH_KINDS)
@pytest.mark.parametrize("option", _OPTIONS)
def test_an_unusable_path_exits_2_naming_it_before_any_request(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path, option: str, kind: str
) -> None:
    threaded_sandbox.call(threaded_sandbox.server.admin.add_links, [link(expires_in=SOON)])
    make_path, problem = _PATH_KINDS[kind]
    path = make_path(tmp_path, _OPTIONS[option])

    result = run_cli(threaded_sandbox, option, str(path))

    assert result.returncode == ExitCode.USAGE, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert f"{option} {path}" in line
    assert problem in line
    assert "Traceback" not in result.stderr
    assert requests_seen(threaded_sandbox) == 0


def test_a_lock_held_by_another_process_still_exits_5(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    threaded_sandbox.call(threaded_sandbox.server.admin.add_links, [link(expires_in=SOON)])
    lock = tmp_path / "sweeper.lock"
    holder = subprocess.Popen(  # another process, not only another descriptor
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX);"
            " print('held', flush=True); sys.stdin.read()",
            str(lock),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        result = run_cli(threaded_sandbox, "--lock-file", str(lock))
    finally:
        holder.communicate(input="", timeout=30)

    assert result.returncode == ExitCode.LOCKED, result.stderr
    assert [event["event"] for event in events(result.stderr)] == ["run.locked"]
    assert "Traceback" not in result.stderr
    assert requests_seen(threaded_sandbox) == 0


@pytest.mark.parametrize("kind", ["missing folder", "a directory"])
def test_a_lock_file_that_cannot_be_opened_is_a_config_error(tmp_path: Path, kind: str) -> None:
    make_path, _ = _PATH_KINDS[kind]
    path = make_path(tmp_path, "run.lock")

    with pytest.raises(ConfigError, match=f"--lock-file {path}: cannot open"), exclusive_lock(path):
        pass


_REPORT_LIMIT = 4096
"""Bytes a file may grow to in the "disk full" run: the lock's pid fits, the report not."""


def _small_disk() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (_REPORT_LIMIT, _REPORT_LIMIT))


def test_a_full_disk_exits_7_with_the_report_on_stderr(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    admin = threaded_sandbox.server.admin
    org = threaded_sandbox.call(admin.create_org, "full-disk-org", api_key=canary)
    added = threaded_sandbox.call(
        admin.add_links, [link(expires_in=SOON) for _ in range(30)], api_key=org["api_key"]
    )
    report = tmp_path / "last.json"
    lock = tmp_path / "run.lock"
    audit = tmp_path / "audit.jsonl"

    result = run_cli(
        threaded_sandbox,
        "--report",
        str(report),
        "--lock-file",
        str(lock),
        "--audit-log",
        str(audit),
        api_key=canary,
        preexec_fn=_small_disk,
    )

    assert result.returncode == ExitCode.REPORT_FALLBACK, result.stderr
    assert "Traceback" not in result.stderr
    assert canary not in result.stderr + result.stdout
    assert not report.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("last.", ".last."))]
    logged = events(result.stderr)
    failed = [event for event in logged if event["event"] == "report.write_failed"]
    assert [event["path"] for event in failed] == [
        str(report),
        str(report.parent),
        tempfile.gettempdir(),  # the child inherits this process's TMPDIR
    ]
    assert {event["error"] for event in failed} == {"File too large"}
    (fallback,) = [event for event in logged if event["event"] == "report.fallback"]
    assert (fallback["path"], fallback["written_to"]) == (str(report), "stderr")
    recovered = fallback["report"]
    assert recovered["summary"]["cancelled"] == len(added)
    ids = {row["id"] for row in added}
    assert {item["id"] for item in recovered["items"]} == ids
    assert {item["outcome"] for item in recovered["items"]} == {"cancelled"}
    for link_id in ids:
        state = threaded_sandbox.call(admin.link, link_id)
        assert state["status"] == "CANCELLED"
    # The audit file filled up mid-run: said once, cut back to whole lines, run unharmed.
    (audit_failed,) = [event for event in logged if event["event"] == "audit.write_failed"]
    assert audit_failed["path"] == str(audit)
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert 0 < len(lines) < len(added)
    assert {line["id"] for line in lines} <= ids
    assert audit.read_text().endswith("\n")


def _render(stream: Any) -> None:
    stream.write('{"run_id": "r1"}\n')


@pytest.mark.parametrize(
    ("make_path", "fallback_in"),
    [
        (_a_directory, "beside"),
        (_under_a_file, "temp"),
    ],
    ids=["path became a directory", "folder became a file"],
)
def test_a_report_that_cannot_go_where_asked_goes_to_a_named_fallback_file(
    tmp_path: Path, make_path: Callable[[Path, str], Path], fallback_in: str
) -> None:
    path = make_path(tmp_path, "last.json")

    with capture_logs() as logs:
        where_asked = deliver_report(path, _render, lambda: {"run_id": "r1"})

    assert where_asked is False
    (fallback,) = [event for event in logs if event["event"] == "report.fallback"]
    written = Path(fallback["written_to"])
    try:
        expected = path.parent if fallback_in == "beside" else Path(tempfile.gettempdir())
        assert written.parent == expected
        assert written.name.startswith("last.fallback-")
        assert written.suffix == ".json"
        assert json.loads(written.read_text()) == {"run_id": "r1"}
    finally:
        written.unlink()
    assert fallback["path"] == str(path)
    assert logs[0]["event"] == "report.write_failed"
    assert logs[0]["path"] == str(path)


def test_several_organizations_on_a_full_disk_exit_7_with_the_combined_report(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    admin = threaded_sandbox.server.admin
    config = ["rate = 200", "[policies]", 'expiring_within = "1h"']
    keys: dict[str, str] = {}
    ids: dict[str, set[str]] = {}
    for org in ("acme-mx", "globex-mx"):
        created = threaded_sandbox.call(admin.create_org, org, api_key=f"key-{uuid.uuid4().hex}")
        rows = threaded_sandbox.call(
            admin.add_links, [link(expires_in=SOON) for _ in range(15)], api_key=created["api_key"]
        )
        ids[org] = {row["id"] for row in rows}
        env_name = "KEY_" + org.upper().replace("-", "_")
        keys[env_name] = created["api_key"]
        config += ["", "[[orgs]]", f'name = "{org}"', f'api_key_env = "{env_name}"']
    config_file = tmp_path / "orgs.toml"
    config_file.write_text("\n".join(config) + "\n")
    report = tmp_path / "combined.json"

    result = subprocess.run(
        [str(_SCRIPT), "run", "--config", str(config_file), "--yes", "--report", str(report)],
        env={**os.environ, "HARMONY_BASE_URL": threaded_sandbox.server.base_url, **keys},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_small_disk,
    )

    assert result.returncode == ExitCode.REPORT_FALLBACK, result.stderr
    assert "Traceback" not in result.stderr
    for key in keys.values():
        assert key not in result.stderr + result.stdout
    (fallback,) = [e for e in events(result.stderr) if e["event"] == "report.fallback"]
    assert fallback["written_to"] == "stderr"
    sections = {s["organization"]: s for s in fallback["report"]["organizations"]}
    assert {org: {item["id"] for item in s["items"]} for org, s in sections.items()} == ids
    assert fallback["report"]["summary"]["cancelled"] == sum(len(v) for v in ids.values())
