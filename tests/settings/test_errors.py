from __future__ import annotations

from pathlib import Path

import pytest

from tests.settings.conftest import ENV, WriteConfig, config_error
from worker.settings import ENV_VARS, FLAG_FIELDS

# field path, a bad value as TOML, as env/flag text, and the problem the message states.
BAD_VALUES: list[tuple[str, str, str, str]] = [
    ("rate", "-1", "-1", "must be 'auto' or a number greater than 0"),
    ("rate", '"fast"', "fast", "must be 'auto' or a number greater than 0"),
    ("concurrency", "0", "0", "greater than or equal to 1"),
    ("concurrency", "1001", "1001", "less than or equal to 1000"),
    ("max_cancellations", "-1", "-1", "greater than or equal to 0"),
    ("passes", "11", "11", "less than or equal to 10"),
    ("passes", "true", "lots", "expected a number, not true/false|valid integer"),
    ("dry_run", '"maybe"', "maybe", "valid boolean"),
    ("report", '"r.txt"', "r.txt", "must end in .json, .csv, .md"),
    ("report", '["r.json", "r.txt"]', "r.json,r.txt", "must end in .json, .csv, .md"),
    ("report", '["r.json", "r.json"]', "r.json,r.json", "r.json is given twice"),
    ("grace_period", '"10 seconds"', "10 seconds", "not a duration"),
    ("request_timeout", "0", "0", "greater than zero"),
    ("base_url", '"http://example.com"', "http://example.com", "must use https"),
    ("policies.expiring_within", '"5x"', "5x", "not a duration"),
    ("policies.created_before", '"2026-01-31T00:00:00"', "2026-01-31T00:00:00", "timezone"),
    ("policies.created_before", '"yesterday"', "yesterday", "valid datetime"),
    ("policies.manifest", '""', " ", "must be a file path"),
    ("scope.currencies", '["MX"]', "MX,USD", "three letters"),
    ("scope.created_before", "2026-01-31T00:00:00", "2026-01-31", "timezone"),
    ("retry.attempts", "0", "0", "greater than or equal to 1"),
    ("retry.quota", "-1", "-1", "greater than or equal to 0"),
    ("safety.failure_ratio", "0", "0", "greater than 0"),
    ("safety.expiry_margin", '"0s"', "0s", "greater than zero"),
    ("logging.format", '"xml"', "xml", "'auto', 'json' or 'console'"),
    ("initiator", '"tab\\there"', "tab\there", "printable characters"),
    ("initiator", '"   "', "   ", "printable characters"),
    ("lock_file", '""', " ", "must be a file path"),
    ("audit_log", '"  "', " ", "must be a file path"),
    ("pushgateway", '"gw:9091"', "gw:9091", "must be an http or https URL"),
    ("pushgateway", '"http://u:p@gw"', "http://u:p@gw", "must not carry credentials"),
    ("metrics_job", '""', "\t", "printable characters"),
]
# Wrong types that only a TOML file can express.
FILE_ONLY: list[tuple[str, str, str, str]] = [
    ("report", "5", "", "must be a file path"),
    ("policies", "5", "", "must be a table"),
    ("base_url", "5", "", "valid string"),
    ("scope.currencies", "5", "", "list of currency codes"),
    ("policies.expiring_within", "true", "", "not a duration"),
    ("rate", "[1]", "", "must be 'auto' or a number greater than 0"),
    ("policies.created_before", "2026-01-31", "", "timezone"),
    ("metrics_job", "1", "", "valid string"),
    ("lock_file", "true", "", "must be a file path"),
]


def _toml(dotted: str, value: str) -> str:
    *section, key = dotted.split(".")
    return (f"[{section[0]}]\n" if section else "") + f"{key} = {value}\n"


@pytest.mark.parametrize(("field", "toml_value", "text", "problem"), BAD_VALUES + FILE_ONLY)
def test_file_error_names_file_and_key_path(
    write_config: WriteConfig, field: str, toml_value: str, text: str, problem: str
) -> None:
    config = write_config(_toml(field, toml_value))
    message = config_error(config_file=config, environ=ENV)
    key_path = field.replace(".", " -> ")
    assert message.startswith(f"{config}: {key_path}: ")
    assert "\n" not in message
    assert _matches(problem, message)


@pytest.mark.parametrize(("field", "toml_value", "text", "problem"), BAD_VALUES)
def test_env_error_names_the_variable(field: str, toml_value: str, text: str, problem: str) -> None:
    message = config_error(environ={**ENV, ENV_VARS[field]: text})
    assert message.startswith(f"{ENV_VARS[field]}: ")
    assert _matches(problem, message)


FLAGGED = [case for case in BAD_VALUES if case[0] in FLAG_FIELDS.values()]


@pytest.mark.parametrize(("field", "toml_value", "text", "problem"), FLAGGED)
def test_flag_error_names_the_flag(field: str, toml_value: str, text: str, problem: str) -> None:
    name = next(name for name, path in FLAG_FIELDS.items() if path == field)
    message = config_error(environ=ENV, **{name: text})
    assert message.startswith(f"--{name.replace('_', '-')}: ")
    assert _matches(problem, message)


def _matches(problem: str, message: str) -> bool:
    return any(part in message for part in problem.split("|"))


def test_every_bad_input_is_reported_on_its_own_line(write_config: WriteConfig) -> None:
    config = write_config("passes = 0\n[retry]\nattempts = 0\n")
    message = config_error(
        config_file=config, environ={**ENV, "SWEEPER_RATE": "-1"}, expiring_within="soon"
    )
    assert message.splitlines() == [
        "SWEEPER_RATE: must be 'auto' or a number greater than 0",
        f"{config}: passes: input should be greater than or equal to 1",
        "--expiring-within: not a duration: expected a number and a unit (d, h, m, s, ms, us) "
        "like 90s, 30m, 2h or 1h30m",
        f"{config}: retry -> attempts: input should be greater than or equal to 1",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ratee = 1\n", "ratee: unknown key (did you mean rate?)"),
        ("colour = 1\n", "colour: unknown key"),
        ("[polices]\nduplicates = true\n", "polices: unknown key (did you mean policies?)"),
        (
            "[policies]\nexpirng_within = '30m'\n",
            "policies -> expirng_within: unknown key (did you mean expiring_within?)",
        ),
        ("[retry]\nattempts = 2\njitter = true\n", "retry -> jitter: unknown key"),
        ("[policies]\napi_key = 'x'\n", "policies -> api_key: unknown key"),
        ("RATE = 1\n", "RATE: unknown key"),
    ],
)
def test_unknown_keys_are_named(write_config: WriteConfig, text: str, expected: str) -> None:
    config = write_config(text)
    assert config_error(config_file=config, environ=ENV) == f"{config}: {expected}"


def test_unknown_sweeper_variable_is_named() -> None:
    environ = {**ENV, "SWEEPER_MAX_CANCELATIONS": "5", "SWEEPER_COLOUR": "red", "OTHER": "x"}
    assert config_error(environ=environ).splitlines() == [
        "SWEEPER_COLOUR: unknown variable",
        "SWEEPER_MAX_CANCELATIONS: unknown variable (did you mean SWEEPER_MAX_CANCELLATIONS?)",
    ]


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        (
            "[retry]\ninitial = '20s'\n",
            {},
            "{config}: retry -> maximum: retry.maximum must not be less than retry.initial",
        ),
        (
            "",
            {"SWEEPER_REQUEST_TIMEOUT": "5s"},
            "connect_timeout: connect_timeout must not be more than request_timeout",
        ),
        (
            "rate = 10\n",
            {"SWEEPER_RATE_CEILING": "5"},
            "SWEEPER_RATE_CEILING: rate_ceiling must not be less than rate",
        ),
    ],
)
def test_cross_field_checks(
    write_config: WriteConfig, text: str, environ: dict[str, str], expected: str
) -> None:
    config = write_config(text)
    message = config_error(config_file=config, environ={**ENV, **environ})
    assert message == expected.format(config=config)


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert config_error(config_file=missing, environ=ENV) == (
        f"{missing}: cannot read the configuration file: no such file"
    )


def test_directory_is_not_a_config_file(tmp_path: Path) -> None:
    assert config_error(config_file=tmp_path, environ=ENV) == (
        f"{tmp_path}: cannot read the configuration file: not a regular file"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rate = 1\n[policies\n", "(at line 2, column 10)"),
        ("rate = 1\nrate = 2\n", "line 2"),
        ("passes = \n", "line 1"),
    ],
)
def test_unparsable_file_names_the_line(
    write_config: WriteConfig, text: str, expected: str
) -> None:
    config = write_config(text)
    message = config_error(config_file=config, environ=ENV)
    assert message.startswith(f"{config}: not valid TOML: ")
    assert expected in message


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"rate = '\xff'\n")
    assert config_error(config_file=config, environ=ENV) == (
        f"{config}: not valid TOML: not UTF-8 text"
    )
