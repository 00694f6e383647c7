"""Network failures by name: a bad certificate, a host that does not exist, a refused
connection, a server that never answers. Each ends the run as ``unreachable`` (exit 6) with
the cause in words, nothing cancelled; the permanent ones after a single attempt.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from structlog.testing import capture_logs

from sandbox.testing import SandboxServer
from tests.terminal import read_until
from worker.cli.exit_codes import ExitCode, exit_code_for_report
from worker.outcomes import Abort
from worker.report import Report, ReportItem
from worker.settings import Settings, load_settings
from worker.sweep import NoObserver, sweep
from worker.sweep.policies import policies_from_settings

from .helpers import FAST_RETRIES, link, settings_for, statuses
from .netfaults import MISSING_HOST, SilentServer, free_port, missing_host_fails_fast

CANARY = "hs_canary_net_5Jq8wZ"
_SCRIPT = Path(sys.executable).with_name("harmony-sweeper")
_QUICK = {
    **FAST_RETRIES,
    "SWEEPER_RETRY__ATTEMPTS": "3",
    "SWEEPER_REQUEST_TIMEOUT": "1s",
    "SWEEPER_CONNECT_TIMEOUT": "1s",
    "SWEEPER_SCAN_DEADLINE": "30s",
}


def _environ(base_url: str, **extra: str) -> dict[str, str]:
    return {"HARMONY_API_KEY": CANARY, "HARMONY_BASE_URL": base_url, **_QUICK, **extra}


def _settings(base_url: str, *, manifest: Path | None = None, **extra: str) -> Settings:
    # A live run (no dry run): it must still cancel nothing.
    policy = {"expiring_within": "1h"} if manifest is None else {"manifest": str(manifest)}
    return load_settings(environ=_environ(base_url, **extra), rate="50", **policy)


async def _run(settings: Settings, observer: Any = None) -> tuple[Report, list[dict[str, Any]]]:
    with capture_logs() as logs:
        report = await sweep(settings, policies_from_settings(settings), observer=observer)
    return report, logs


def _events(logs: Sequence[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


def _assert_unreachable(report: Report, logs: list[dict[str, Any]], cause: str, words: str) -> None:
    assert report.aborted == Abort.UNREACHABLE
    assert exit_code_for_report(report) is ExitCode.UNREACHABLE
    assert report.abort_detail is not None
    assert words in report.abort_detail, report.abort_detail
    assert report.summary.planned == 0
    assert report.summary.cancelled == 0
    [event] = _events(logs, "api.unreachable")  # named once, not once per attempt
    assert event["cause"] == cause
    [finished] = _events(logs, "run.finished")
    assert finished["aborted"] == Abort.UNREACHABLE
    assert finished["abort_detail"] == report.abort_detail
    everything = json.dumps(report.to_json_dict()) + repr(logs)
    assert CANARY not in everything


@pytest.fixture
def untrusted_tls() -> Any:
    """HTTPS on 127.0.0.1 with a certificate from a CA nobody trusts."""
    with SilentServer(trustme.CA().issue_cert("127.0.0.1")) as server:
        yield server


@pytest.mark.parametrize("gathering", ["scan", "manifest look-ups"])
async def test_an_untrusted_certificate_is_named_and_not_retried(
    untrusted_tls: SilentServer, tmp_path: Path, gathering: str
) -> None:
    manifest = None
    if gathering != "scan":  # ids alone: one GET each, and the first one stops the run
        manifest = tmp_path / "approved.csv"
        manifest.write_text("id\n" + "".join(f"{uuid.uuid4()}\n" for _ in range(3)))

    report, logs = await _run(_settings(untrusted_tls.base_url, manifest=manifest))

    _assert_unreachable(report, logs, "certificate", "TLS certificate verify failed for 127.0.0.1")
    assert report.stats is not None
    assert report.stats.retries == 0
    if manifest is None:
        assert untrusted_tls.connections == 1
        assert report.stats.requests_by_class == {"no_answer": 1}
    else:  # look-ups run concurrently: at most one attempt per id, and no item failed
        assert untrusted_tls.connections <= 3
        assert report.stats.requests_by_class["no_answer"] <= 3
        assert report.summary.failed == 0


async def test_a_host_that_does_not_exist_is_named_and_not_retried() -> None:
    why_not = missing_host_fails_fast()
    if why_not is not None:
        pytest.skip(why_not)

    report, logs = await _run(_settings(f"https://{MISSING_HOST}"))

    _assert_unreachable(report, logs, "dns", f"DNS lookup failed for host {MISSING_HOST}")
    assert report.stats is not None
    assert report.stats.requests_by_class == {"no_answer": 1}


async def test_a_refused_connection_is_retried_briefly_then_named() -> None:
    port = free_port()

    report, logs = await _run(_settings(f"http://127.0.0.1:{port}"))

    _assert_unreachable(report, logs, "refused", f"connection refused by 127.0.0.1:{port}")
    assert report.stats is not None
    assert report.stats.requests_by_class == {"no_answer": 3}  # SWEEPER_RETRY__ATTEMPTS


async def test_a_server_that_never_answers_is_bounded_by_the_request_timeout() -> None:
    with SilentServer() as server:
        report, logs = await _run(_settings(server.base_url))

        _assert_unreachable(
            report, logs, "timeout", f"no answer from 127.0.0.1:{server.port} within 1s"
        )
        assert server.connections == 3


@pytest.mark.timeout(60)
async def test_a_server_that_never_answers_is_bounded_by_the_scan_deadline() -> None:
    # Each request may take 30 s; the scan as a whole may take 2.
    slow = {"SWEEPER_REQUEST_TIMEOUT": "30s", "SWEEPER_SCAN_DEADLINE": "2s"}
    with SilentServer() as server:
        report, logs = await _run(_settings(server.base_url, **slow))

    _assert_unreachable(report, logs, "deadline", "within the scan deadline (2s)")


async def test_a_later_pass_that_cannot_scan_after_cancels_is_an_incomplete_scan(
    sandbox: SandboxServer,
) -> None:
    # Exit 6 promises that nothing was cancelled. Once pass 1 has cancelled, a pass 2 whose
    # scan gets no answer is an incomplete scan (exit 4), its cause still named.
    rows = await sandbox.admin.add_links([link(expires_in=timedelta(minutes=10))])

    async def confirm(items: Sequence[ReportItem]) -> bool:
        # Asked after pass 1's scan, before its cancels: from now on every list resets.
        await sandbox.admin.set_knobs(reset_rate=1.0, fault_routes=["list"])
        return True

    settings = settings_for(sandbox, expiring_within="1h")
    with capture_logs() as logs:
        report = await sweep(settings, policies_from_settings(settings), confirm=confirm)

    assert report.summary.cancelled == 1
    assert set((await statuses(sandbox)).values()) == {"CANCELLED"}
    assert [row["id"] for row in rows] == [item.id for item in report.items]
    assert report.aborted == Abort.SCAN_INCOMPLETE
    assert exit_code_for_report(report) is ExitCode.SAFETY_ABORT
    assert report.abort_detail is not None
    assert "127.0.0.1" in report.abort_detail
    [event] = _events(logs, "api.unreachable")
    assert event["cause"] == "reset"


class _Recorder(NoObserver):
    """A SweepObserver that keeps what it is told about waiting."""

    def __init__(self) -> None:
        self.waiting_reasons: list[str | None] = []

    def waiting(self, reason: str | None) -> None:
        self.waiting_reasons.append(reason)


@pytest.mark.timeout(60)
async def test_the_observer_hears_that_the_run_is_waiting_and_why() -> None:
    slow = {"SWEEPER_REQUEST_TIMEOUT": "30s", "SWEEPER_SCAN_DEADLINE": "8s"}
    recorder = _Recorder()
    with SilentServer() as server:
        report, _ = await _run(_settings(server.base_url, **slow), observer=recorder)

    assert report.aborted == Abort.UNREACHABLE
    shown = [reason for reason in recorder.waiting_reasons if reason is not None]
    assert shown, recorder.waiting_reasons
    assert all(reason.startswith("no answer yet (") for reason in shown)
    assert recorder.waiting_reasons[-1] is None  # taken away when the gathering ended


# --- Through the console script: exit 6, the cause on stderr, in the report ------------------


def _cli(
    base_url: str, tmp_path: Path, *, trust: trustme.CA | None = None, **extra: str
) -> tuple[int, str, dict[str, Any]]:
    env = {**os.environ, **_environ(base_url, **extra)}
    env.pop("SSL_CERT_DIR", None)
    if trust is not None:
        # Standard OpenSSL variable: how an operator trusts a private CA, too.
        bundle = tmp_path / "ca.pem"
        trust.cert_pem.write_to_path(str(bundle))
        env["SSL_CERT_FILE"] = str(bundle)
    report = tmp_path / "report.json"
    done = subprocess.run(
        [str(_SCRIPT), "run", "--duplicates", "--dry-run", "--report", str(report)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert CANARY not in output
    assert "Traceback" not in output
    return done.returncode, done.stderr, json.loads(report.read_text())


def _logged(stderr: str, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == name]


@pytest.mark.parametrize(
    ("certificate_for", "trusted", "cause", "words"),
    [
        ("127.0.0.1", False, "certificate", "TLS certificate verify failed for 127.0.0.1"),
        ("api.other.example", True, "hostname", "TLS certificate does not match 127.0.0.1"),
        # The control: a trusted certificate for the right host gets past TLS, to silence.
        ("127.0.0.1", True, "timeout", "no answer from 127.0.0.1"),
    ],
    ids=["untrusted", "other-host", "trusted-but-silent"],
)
def test_tls_failures_through_the_cli(
    tmp_path: Path, certificate_for: str, trusted: bool, cause: str, words: str
) -> None:
    ca = trustme.CA()
    with SilentServer(ca.issue_cert(certificate_for)) as server:
        code, stderr, report = _cli(server.base_url, tmp_path, trust=ca if trusted else None)
        connections = server.connections

    assert code == ExitCode.UNREACHABLE == 6, stderr
    assert report["aborted"] == "unreachable"
    assert words in report["abort_detail"]
    [event] = _logged(stderr, "api.unreachable")
    assert event["cause"] == cause
    # A certificate problem is not retried; silence is (SWEEPER_RETRY__ATTEMPTS=3).
    assert connections == (3 if cause == "timeout" else 1)


@pytest.mark.parametrize("case", ["refused", "dns"])
def test_refused_and_dns_failures_through_the_cli(tmp_path: Path, case: str) -> None:
    if case == "dns":
        why_not = missing_host_fails_fast()
        if why_not is not None:
            pytest.skip(why_not)
        base_url, words = f"https://{MISSING_HOST}", "DNS lookup failed for host"
    else:
        port = free_port()
        base_url, words = f"http://127.0.0.1:{port}", f"connection refused by 127.0.0.1:{port}"

    code, stderr, report = _cli(base_url, tmp_path)

    assert code == 6, stderr
    assert report["aborted"] == "unreachable"
    assert words in report["abort_detail"]
    assert report["summary"]["planned"] == 0
    [finished] = _logged(stderr, "run.finished")
    assert words in finished["abort_detail"]


@pytest.mark.timeout(90)
def test_a_terminal_shows_the_wait_and_then_the_cause() -> None:
    with SilentServer() as server:
        env = {
            **os.environ,
            **_environ(server.base_url),
            "SWEEPER_REQUEST_TIMEOUT": "30s",
            "SWEEPER_SCAN_DEADLINE": "8s",
            "COLUMNS": "160",
        }
        env.pop("CI", None)
        controller, terminal = pty.openpty()
        with subprocess.Popen(
            [str(_SCRIPT), "run", "--duplicates", "--dry-run"],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env=env,
        ) as process:
            os.close(terminal)
            try:
                shown = read_until(controller, b"waiting for the API", limit_s=40)
                shown += read_until(controller, b"\x00", limit_s=40)  # until the child exits
                code = process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                os.close(controller)

    text = shown.decode(errors="replace")
    assert code == 6, text
    assert "waiting for the API: no answer yet (" in text
    assert "unreachable" in text  # the summary: stopped early ...
    assert "within the scan deadline (8s)" in text  # ... and why
    assert CANARY not in text
