"""Settings of unattended runs: lock file, audit log, Pushgateway and its job label."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.settings.conftest import ENV, WriteConfig, config_error
from worker.settings import ENV_VARS, load_settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://pushgateway.monitoring.svc:9091", "http://pushgateway.monitoring.svc:9091"),
        ("http://pushgateway.monitoring.svc:9091/", "http://pushgateway.monitoring.svc:9091"),
        ("http://10.0.0.7:9091", "http://10.0.0.7:9091"),  # http is fine off loopback
        ("HTTPS://Metrics.Example.com", "https://metrics.example.com"),
        ("https://metrics.example.com/pushgateway/", "https://metrics.example.com/pushgateway"),
        ("https://metrics.example.com/a/b", "https://metrics.example.com/a/b"),
        ("http://[::1]:9091", "http://[::1]:9091"),
        ("http://127.0.0.1:9091", "http://127.0.0.1:9091"),
    ],
)
def test_pushgateway_accepted_and_normalised(url: str, expected: str) -> None:
    assert load_settings(environ=ENV, pushgateway=url).pushgateway == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("pushgateway:9091", "must be an http or https URL"),
        ("ftp://pushgateway", "must be an http or https URL"),
        ("http://", "must be an http or https URL"),
        ("http://:9091", "must be an http or https URL"),
        ("http://gw:99999", "must be an http or https URL"),
        ("http://gw?job=x", "must be an http or https URL"),
        ("http://gw/#top", "must be an http or https URL"),
        ("http://gw /push", "must be an http or https URL"),
        ("http://-gw-", "must be an http or https URL"),
        ("", "must be an http or https URL"),
        ("http://user:secret@gw:9091", "must not carry credentials"),
        ("https://token@gw", "must not carry credentials"),
    ],
)
def test_pushgateway_rejected_naming_the_flag(url: str, problem: str) -> None:
    message = config_error(environ=ENV, pushgateway=url)
    assert message.startswith(f"--pushgateway: {problem}")
    assert "secret" not in message
    assert "token" not in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("harmony-sweeper", "harmony-sweeper"), (" nightly sweep ", "nightly sweep"), ("ü/ß", "ü/ß")],
)
def test_metrics_job_is_any_printable_label_value(value: str, expected: str) -> None:
    settings = load_settings(environ={**ENV, "SWEEPER_METRICS_JOB": value})
    assert settings.metrics_job == expected


@pytest.mark.parametrize("value", ["   ", "a\x00b", "x" * 201])
def test_metrics_job_rejected(value: str) -> None:
    assert config_error(environ={**ENV, "SWEEPER_METRICS_JOB": value}) == (
        "SWEEPER_METRICS_JOB: must be 1 to 200 printable characters"
    )


@pytest.mark.parametrize("field", ["lock_file", "audit_log"])
@pytest.mark.parametrize(
    ("source", "value"),
    [("flag", "state/sweep"), ("flag", Path("/abs/sweep")), ("env", "/abs/sweep")],
)
def test_lock_file_and_audit_log_from_flag_or_env(field: str, source: str, value: object) -> None:
    if source == "flag":
        settings = load_settings(environ=ENV, **{field: value})
    else:
        settings = load_settings(environ={**ENV, ENV_VARS[field]: str(value)})
    assert getattr(settings, field) == Path(str(value))


@pytest.mark.parametrize(
    ("field", "flag"), [("lock_file", "--lock-file"), ("audit_log", "--audit-log")]
)
def test_lock_file_and_audit_log_must_be_paths(field: str, flag: str) -> None:
    assert config_error(environ=ENV, **{field: " "}) == f"{flag}: must be a file path"


def test_the_flag_beats_the_file_for_the_lock(write_config: WriteConfig) -> None:
    config = write_config('lock_file = "from-file.lock"\n')
    settings = load_settings(config_file=config, environ=ENV, lock_file="from-flag.lock")
    assert settings.lock_file == Path("from-flag.lock")
