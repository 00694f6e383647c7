"""config.example.toml documents every key; these tests keep it from rotting."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.settings.conftest import ENV
from worker.settings import ENV_VARS, FLAG_FIELDS, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
# A commented-out key shows an example value for a key with no default.
COMMENTED_KEY = re.compile(r"^# (?=[a-z_]+ = )", re.MULTILINE)


def _keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in table.items():
        if isinstance(value, dict):
            keys |= _keys(value, f"{prefix}{key}.")
        else:
            keys.add(prefix + key)
    return keys


def test_example_loads_and_matches_the_defaults() -> None:
    assert load_settings(config_file=EXAMPLE, environ=ENV) == load_settings(environ=ENV)


def test_example_values_of_commented_keys_are_valid(tmp_path: Path) -> None:
    uncommented = tmp_path / "config.toml"
    uncommented.write_text(COMMENTED_KEY.sub("", EXAMPLE.read_text(encoding="utf-8")))
    settings = load_settings(config_file=uncommented, environ=ENV)
    assert settings.policies.expiring_within is not None
    assert settings.scope.currencies is not None


def test_example_has_every_key_but_the_api_key() -> None:
    text = COMMENTED_KEY.sub("", EXAMPLE.read_text(encoding="utf-8"))
    assert _keys(tomllib.loads(text)) == set(ENV_VARS) - {"api_key"}


@pytest.mark.parametrize(
    "name",
    [*ENV_VARS.values(), *("--" + flag.replace("_", "-") for flag in FLAG_FIELDS)],
)
def test_example_names_every_variable_and_flag(name: str) -> None:
    assert re.search(rf"{re.escape(name)}\b", EXAMPLE.read_text(encoding="utf-8"))
