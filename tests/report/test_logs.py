"""Logging set-up: JSON lines, console lines, levels, and the secret never written."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from worker.errors import ConfigError
from worker.ops.logs import Renderer, configure_logging

CANARY = "hs_canary_7Qx2pLm9"
# A secret with characters JSON and repr() escape: the raw and the escaped form must both go.
QUOTED_CANARY = 'hs"quo\\ted'


def _raise(error: Exception) -> None:
    raise error


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_level_utc_timestamp_and_bound_run_id() -> None:
    stream = io.StringIO()
    configure_logging(renderer="json", stream=stream)
    structlog.contextvars.bind_contextvars(run_id="run-0001")

    structlog.get_logger().info(
        "payment.cancelled", id="link-1", amount=Decimal("10.50"), reasons=["duplicate"]
    )

    [event] = _json_lines(stream)
    assert event["event"] == "payment.cancelled"
    assert event["level"] == "info"
    assert event["run_id"] == "run-0001"
    assert event["amount"] == "10.50"
    assert event["reasons"] == ["duplicate"]
    assert str(event["timestamp"]).endswith("Z")


def test_auto_writes_json_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)

    structlog.get_logger().info("run.started", mode="dry-run")

    assert _json_lines(stream)[0]["mode"] == "dry-run"


def test_the_default_stream_is_the_current_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(renderer="json")

    structlog.get_logger().info("run.finished", cancelled=3)

    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err)["cancelled"] == 3


def test_console_lines_are_plain_under_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")  # NO_COLOR wins
    stream = io.StringIO()
    configure_logging(renderer="console", stream=stream)

    structlog.get_logger().info("scan.page", page=2, items=500)

    line = stream.getvalue()
    assert "scan.page" in line
    assert "page=2" in line
    assert "items=500" in line
    assert "\x1b[" not in line


def test_console_lines_are_coloured_under_force_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    stream = io.StringIO()
    configure_logging(renderer="console", stream=stream)

    structlog.get_logger().warning("pace.paused", seconds=2.5)

    assert "\x1b[" in stream.getvalue()


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        ("debug", ["scan.page", "payment.conflict", "payment.failed"]),
        ("info", ["payment.conflict", "payment.failed"]),
        ("WARNING", ["payment.failed"]),
        ("error", []),
    ],
)
def test_the_level_filters_events(level: str, shown: list[str]) -> None:
    stream = io.StringIO()
    configure_logging(renderer="json", level=level, stream=stream)
    log = structlog.get_logger()

    log.debug("scan.page")
    log.info("payment.conflict")
    log.warning("payment.failed")

    assert [event["event"] for event in _json_lines(stream)] == shown


def test_json_timestamps_are_utc_with_microseconds_and_z() -> None:
    stream = io.StringIO()
    configure_logging(renderer="json", stream=stream)
    before = datetime.now(UTC)
    for n in range(3):
        structlog.get_logger().info("tick", n=n)
    after = datetime.now(UTC)
    stamps = [event["timestamp"] for event in _json_lines(stream)]
    for stamp in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert before - timedelta(seconds=1) <= moment <= after + timedelta(seconds=1)
    assert stamps == sorted(stamps)


def test_an_unknown_level_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="'loud'"):
        configure_logging(level="loud", stream=io.StringIO())


def test_json_exceptions_are_data_without_local_variables() -> None:
    stream = io.StringIO()
    configure_logging(renderer="json", stream=stream)
    api_key = CANARY  # a local a traceback with locals would show

    try:
        _raise(RuntimeError("boom"))
    except RuntimeError:
        structlog.get_logger().exception(
            "run.aborted", reason="unexpected", key_length=len(api_key)
        )

    [event] = _json_lines(stream)
    [exception] = event["exception"]
    assert exception["exc_type"] == "RuntimeError"
    assert exception["exc_value"] == "boom"
    assert all("locals" not in frame or not frame["locals"] for frame in exception["frames"])
    assert CANARY not in stream.getvalue()


@pytest.mark.parametrize("renderer", ["json", "console"])
def test_stack_and_exception_are_rendered_when_asked_and_only_then(renderer: Renderer) -> None:
    # The two renderers run only for an event that carries their key (one per cancel
    # does not): the events that do must still get them.
    stream = io.StringIO()
    configure_logging(renderer=renderer, stream=stream)
    log = structlog.get_logger()
    log.info("plain", n=1)
    log.info("with.stack", stack_info=True)
    try:
        _raise(RuntimeError("boom"))
    except RuntimeError:
        log.info("with.exception", exc_info=True)
    text = stream.getvalue()
    if renderer == "console":
        plain, rest = text.split("with.stack", 1)
        assert "Traceback" not in plain
        assert "Stack (most recent call last)" not in plain
        assert "Stack (most recent call last)" in rest
        assert "RuntimeError: boom" in rest
        return
    plain, stack, failure = _json_lines(stream)
    assert set(plain) == {"event", "n", "level", "timestamp"}
    assert "stack_info" not in stack
    assert "test_logs.py" in stack["stack"]
    assert "exc_info" not in failure
    assert failure["exception"][0]["exc_value"] == "boom"


def test_events_can_be_asserted_as_data_after_configuring() -> None:
    configure_logging(renderer="json", stream=io.StringIO())
    log = structlog.get_logger("worker.sweep.execute")
    log.info("payment.retry", id="link-1", attempt=1)  # first use: the logger must not be pinned

    with capture_logs() as captured:
        log.info("payment.retry", id="link-1", attempt=2)

    assert captured == [
        {"event": "payment.retry", "id": "link-1", "attempt": 2, "log_level": "info"}
    ]


@dataclass(frozen=True)
class _Holder:
    """Stands for any object whose repr() quotes what it holds."""

    key: str


def _log_every_way_a_secret_leaks(secret: str) -> None:
    structlog.contextvars.bind_contextvars(base_url=f"https://api.example/?key={secret}")
    log = structlog.get_logger()
    log.info(f"request to https://api.example/{secret}/cancel")
    log.info(
        "client.request",
        headers={"x-api-key": secret, "nested": [{"deep": f"Bearer {secret}"}]},
        pair=("x-api-key", secret),
        raw=secret.encode(),
        path=PurePosixPath("/keys") / secret,
        error=ValueError(f"bad key {secret}"),
        holder=_Holder(secret),
        **{secret: "as a key"},
    )
    try:
        _raise(PermissionError(f"401 for key {secret}"))
    except PermissionError:
        log.exception("payment.failed")
    log.info("run.finished", cancelled=1)


@pytest.mark.parametrize("renderer", ["json", "console"])
@pytest.mark.parametrize("secret", [CANARY, QUOTED_CANARY])
def test_a_secret_never_reaches_the_log(renderer: Renderer, secret: str) -> None:
    stream = io.StringIO()
    configure_logging(renderer=renderer, secrets=[secret, ""], stream=stream)

    _log_every_way_a_secret_leaks(secret)

    text = stream.getvalue()
    assert secret not in text
    assert json.dumps(secret)[1:-1] not in text
    assert repr(secret)[1:-1] not in text
    assert "hs_canary" not in text
    assert "***" in text
    assert "PermissionError" in text  # the traceback is still there, only the secret is gone
    assert "run.finished" in text  # every event was written


def test_an_empty_secret_changes_nothing() -> None:
    stream = io.StringIO()
    configure_logging(renderer="json", secrets=[""], stream=stream)

    structlog.get_logger().info("scan.finished", links=12)

    [event] = _json_lines(stream)
    assert event["event"] == "scan.finished"
    assert event["links"] == 12


@pytest.mark.parametrize("secret", [CANARY, QUOTED_CANARY])
def test_json_redaction_masks_the_secret_and_keeps_the_rest_of_each_value(secret: str) -> None:
    stream = io.StringIO()
    configure_logging(renderer="json", secrets=[secret], stream=stream)

    _log_every_way_a_secret_leaks(secret)

    request, event, failed, finished = _json_lines(stream)
    assert request["event"] == "request to https://api.example/***/cancel"
    assert request["base_url"] == "https://api.example/?key=***"
    assert {key: event[key] for key in ("headers", "pair", "raw", "path", "error", "holder")} == {
        "headers": {"x-api-key": "***", "nested": [{"deep": "Bearer ***"}]},
        "pair": ["x-api-key", "***"],
        "raw": "***",
        "path": "/keys/***",
        "error": "bad key ***",
        "holder": "_Holder(key='***')",
    }
    assert event["***"] == "as a key"
    assert failed["exception"][0]["exc_value"] == "401 for key ***"
    assert finished["cancelled"] == 1
