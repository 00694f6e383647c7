from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.settings.conftest import ENV, KEY, WriteConfig, config_error
from worker.settings import (
    AUTO,
    DEFAULT_BASE_URL,
    DEFAULT_GRACE_PERIOD,
    DEFAULT_MAX_CANCELLATIONS,
    DEFAULT_METRICS_JOB,
    DEFAULT_ORG_NAME,
    DEFAULT_PASSES,
    DEFAULT_RETRY_INITIAL,
    ENV_VARS,
    FLAG_FIELDS,
    OrgRun,
    Settings,
    load_settings,
)


class Field(NamedTuple):
    """One field, a value for it in each layer, and what each layer's value reads as."""

    path: str
    file_line: str  # under its section
    env_value: str
    flag_value: object
    expected: tuple[object, object, object, object]  # default, file, env, flag


FIELDS = [
    Field("rate", "rate = 1", "2", 3, (AUTO, 1.0, 2.0, 3.0)),
    Field(
        "base_url",
        'base_url = "http://127.0.0.1:1"',
        "http://127.0.0.1:2",
        "http://127.0.0.1:3/",
        (DEFAULT_BASE_URL, "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"),
    ),
    Field(
        "max_cancellations",
        "max_cancellations = 10",
        "20",
        30,
        (DEFAULT_MAX_CANCELLATIONS, 10, 20, 30),
    ),
    Field(
        "policies.expiring_within",
        'expiring_within = "1h"',
        "2h",
        "3h",
        (None, timedelta(hours=1), timedelta(hours=2), timedelta(hours=3)),
    ),
    Field("policies.duplicates", "duplicates = false", "true", False, (False, False, True, False)),
    Field("concurrency", "concurrency = 4", "auto", 6, (None, 4, None, 6)),
    Field(
        "lock_file",
        'lock_file = "/run/1.lock"',
        "/run/2.lock",
        Path("/run/3.lock"),
        (None, Path("/run/1.lock"), Path("/run/2.lock"), Path("/run/3.lock")),
    ),
    Field(
        "audit_log",
        'audit_log = "/var/1.jsonl"',
        "/var/2.jsonl",
        "/var/3.jsonl",
        (None, Path("/var/1.jsonl"), Path("/var/2.jsonl"), Path("/var/3.jsonl")),
    ),
    Field(
        "pushgateway",
        'pushgateway = "http://gw1:9091"',
        "http://gw2:9091/",
        "https://gw3.example.com/push/",
        (None, "http://gw1:9091", "http://gw2:9091", "https://gw3.example.com/push"),
    ),
]


def _value(settings: Settings, dotted: str) -> Any:
    value: Any = settings
    for key in dotted.split("."):
        value = getattr(value, key)
    return value


def _flag_name(dotted: str) -> str:
    return next(name for name, path in FLAG_FIELDS.items() if path == dotted)


@pytest.mark.parametrize("field", FIELDS, ids=[field.path for field in FIELDS])
@pytest.mark.parametrize(
    ("in_file", "in_env", "in_flag"), list(itertools.product([False, True], repeat=3))
)
def test_flag_beats_env_beats_file_beats_default(
    write_config: WriteConfig, field: Field, in_file: bool, in_env: bool, in_flag: bool
) -> None:
    section = f"[{field.path.split('.', maxsplit=1)[0]}]\n" if "." in field.path else ""
    config = write_config(section + field.file_line + "\n") if in_file else None
    environ = {**ENV, ENV_VARS[field.path]: field.env_value} if in_env else ENV
    flags = {_flag_name(field.path): field.flag_value} if in_flag else {}
    settings = load_settings(config_file=config, environ=environ, **flags)
    winner = 3 if in_flag else 2 if in_env else 1 if in_file else 0
    assert _value(settings, field.path) == field.expected[winner]


def test_defaults_are_the_named_constants() -> None:
    settings = load_settings(environ=ENV)
    assert settings.api_key.get_secret_value() == KEY
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.passes == DEFAULT_PASSES
    assert settings.grace_period == DEFAULT_GRACE_PERIOD
    assert settings.retry.initial == DEFAULT_RETRY_INITIAL
    assert (settings.rate, settings.concurrency, settings.report) == (AUTO, None, ())
    assert settings.policies.expiring_within is None
    assert settings.logging.format == "auto"
    assert "@" in settings.initiator


def test_sections_merge_across_layers(write_config: WriteConfig) -> None:
    config = write_config("[policies]\nduplicates = true\n[retry]\nattempts = 2\n")
    environ = {**ENV, "SWEEPER_RETRY__INITIAL": "1s", "SWEEPER_SCOPE__CURRENCIES": "mxn, usd"}
    settings = load_settings(config_file=config, environ=environ, expiring_within="30m")
    assert settings.policies.duplicates is True
    assert settings.policies.expiring_within == timedelta(minutes=30)
    assert (settings.retry.attempts, settings.retry.initial) == (2, timedelta(seconds=1))
    assert settings.scope.currencies == frozenset({"MXN", "USD"})


def test_none_flags_are_not_given(write_config: WriteConfig) -> None:
    config = write_config("rate = 7\ndry_run = true\n")
    settings = load_settings(config_file=config, environ=ENV, rate=None, dry_run=None)
    assert (settings.rate, settings.dry_run) == (7.0, True)


def test_empty_env_variable_counts_as_unset(write_config: WriteConfig) -> None:
    config = write_config("passes = 5\n")
    settings = load_settings(config_file=config, environ={**ENV, "SWEEPER_PASSES": ""})
    assert settings.passes == 5


def test_unknown_flag_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="api_key"):
        load_settings(environ=ENV, api_key="x")


@pytest.mark.parametrize(
    ("toml", "env", "flag", "expected"),
    [
        ('report = "a.json"', None, None, ("{dir}/a.json",)),
        ('report = ["a.json", "b.md"]', None, None, ("{dir}/a.json", "{dir}/b.md")),
        (None, "a.json,b.md", None, ("a.json", "b.md")),
        (None, " a.json , c.csv ", None, ("a.json", "c.csv")),
        (None, None, ("a.json", "b.md"), ("a.json", "b.md")),
        ('report = ["x.csv"]', "a.json", ("b.md",), ("b.md",)),
    ],
)
def test_report_takes_one_path_or_several(
    write_config: WriteConfig,
    tmp_path: Path,
    toml: str | None,
    env: str | None,
    flag: tuple[str, ...] | None,
    expected: tuple[str, ...],
) -> None:
    config = write_config(toml + "\n") if toml is not None else None
    environ = {**ENV, **({"SWEEPER_REPORT": env} if env is not None else {})}
    settings = load_settings(config_file=config, environ=environ, report=flag)
    assert settings.report == tuple(Path(p.format(dir=tmp_path)) for p in expected)


def test_paths_in_the_file_are_relative_to_it(write_config: WriteConfig, tmp_path: Path) -> None:
    config = write_config(
        'report = "out/r.json"\n[policies]\nmanifest = "m.csv"\nexclude = "/abs/x.csv"\n'
    )
    settings = load_settings(config_file=config, environ=ENV)
    assert settings.report == (tmp_path / "out" / "r.json",)
    assert settings.policies.manifest == tmp_path / "m.csv"
    assert settings.policies.exclude == Path("/abs/x.csv")
    flagged = load_settings(config_file=config, environ=ENV, manifest="here.csv")
    assert flagged.policies.manifest == Path("here.csv")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("created_before = 2026-01-31T00:00:00Z", "2026-01-31T00:00:00+00:00"),
        ('created_before = "2026-01-31T00:00:00-06:00"', "2026-01-31T06:00:00+00:00"),
    ],
)
def test_timestamps_are_aware_utc(write_config: WriteConfig, line: str, expected: str) -> None:
    settings = load_settings(config_file=write_config(f"[policies]\n{line}\n"), environ=ENV)
    assert settings.policies.created_before is not None
    assert settings.policies.created_before.isoformat() == expected


@pytest.mark.parametrize("value", ["auto", "AUTO", " Auto "])
def test_auto_is_auto(value: str) -> None:
    environ = {**ENV, "SWEEPER_RATE": value, "SWEEPER_CONCURRENCY": value}
    settings = load_settings(environ=environ)
    assert (settings.rate, settings.concurrency) == (AUTO, None)


def test_settings_are_frozen() -> None:
    settings = load_settings(environ=ENV)
    with pytest.raises(ValueError, match="frozen"):
        settings.rate = 5  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        settings.policies.duplicates = True  # type: ignore[misc]


def test_env_vars_name_every_field_once() -> None:
    assert ENV_VARS["api_key"] == "HARMONY_API_KEY"
    assert ENV_VARS["base_url"] == "HARMONY_BASE_URL"
    assert ENV_VARS["policies.expiring_within"] == "SWEEPER_POLICIES__EXPIRING_WITHIN"
    assert ENV_VARS["scope.created_before"] == "SWEEPER_SCOPE__CREATED_BEFORE"
    assert ENV_VARS["lock_file"] == "SWEEPER_LOCK_FILE"
    assert ENV_VARS["pushgateway"] == "SWEEPER_PUSHGATEWAY"
    assert ENV_VARS["metrics_job"] == "SWEEPER_METRICS_JOB"
    assert ENV_VARS["audit_log"] == "SWEEPER_AUDIT_LOG"
    assert len(set(ENV_VARS.values())) == len(ENV_VARS)
    # The shard's environment is a pair of variables (test_shard.py); [[orgs]] is file-only.
    assert set(FLAG_FIELDS.values()) - {"shard"} <= set(ENV_VARS)
    assert not {"shard", "orgs", "org_name"} & {key.split(".")[0] for key in ENV_VARS}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('shard = "0/3"', "shard: the shard is chosen per process"),
        ('org_name = "acme"', "org_name: unknown key"),
    ],
)
def test_per_process_keys_are_not_in_the_file(
    write_config: WriteConfig, line: str, problem: str
) -> None:
    config = write_config(line + "\n")
    assert config_error(config_file=config, environ=ENV).startswith(f"{config}: {problem}")


def test_defaults_of_the_unattended_settings() -> None:
    settings = load_settings(environ=ENV)
    assert (settings.lock_file, settings.audit_log, settings.pushgateway) == (None, None, None)
    assert (settings.shard, settings.metrics_job) == (None, DEFAULT_METRICS_JOB)
    assert settings.org_name == DEFAULT_ORG_NAME
    assert settings.organizations() == (OrgRun(DEFAULT_ORG_NAME, settings),)


def test_unattended_paths_in_the_file_are_relative_to_it(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    config = write_config('lock_file = "run/sweep.lock"\naudit_log = "audit.jsonl"\n')
    settings = load_settings(config_file=config, environ=ENV)
    assert settings.lock_file == tmp_path / "run" / "sweep.lock"
    assert settings.audit_log == tmp_path / "audit.jsonl"
