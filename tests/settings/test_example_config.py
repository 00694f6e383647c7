"""config.example.toml documents every key; these tests keep it from rotting."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.settings.conftest import ENV
from worker.settings import (
    ENV_VARS,
    FLAG_FIELDS,
    SHARD_COUNT_ENV,
    SHARD_INDEX_ENV,
    OrgSettings,
    load_settings,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
# A commented-out key shows an example value for a key with no default; a commented-out
# table header ([[orgs]], [orgs.policies]) starts the example organization.
COMMENTED_KEY = re.compile(r"^# (?=[a-z_]+ = |\[\[?[a-z_.]+\]\]?$)", re.MULTILINE)
# The example organization's key variable, as the uncommented example names it.
ORG_KEY_ENV = "HARMONY_API_KEY_ACME_MX"


def _keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in table.items():
        if isinstance(value, dict):
            keys |= _keys(value, f"{prefix}{key}.")
        else:
            keys.add(prefix + key)
    return keys


def _uncommented() -> str:
    return COMMENTED_KEY.sub("", EXAMPLE.read_text(encoding="utf-8"))


def test_example_loads_and_matches_the_defaults() -> None:
    assert load_settings(config_file=EXAMPLE, environ=ENV) == load_settings(environ=ENV)


def test_example_values_of_commented_keys_are_valid(tmp_path: Path) -> None:
    uncommented = tmp_path / "config.toml"
    uncommented.write_text(_uncommented(), encoding="utf-8")
    settings = load_settings(config_file=uncommented, environ={ORG_KEY_ENV: "org-key"})
    assert settings.policies.expiring_within is not None
    assert settings.scope.currencies is not None
    assert settings.pushgateway is not None
    (org,) = settings.organizations()
    assert org.settings.api_key.get_secret_value() == "org-key"
    assert org.settings.policies.expiring_within == timedelta(hours=2)


def test_example_has_every_key_but_the_api_key() -> None:
    document = tomllib.loads(_uncommented())
    (org,) = document.pop("orgs")
    assert _keys(document) == set(ENV_VARS) - {"api_key"}
    # The example organization shows every key an entry may have, sections in full.
    documented = _keys(org)
    assert {key.split(".")[0] for key in documented} == set(OrgSettings.model_fields) - {"api_key"}
    sections = {key for key in documented if "." in key}
    assert sections == {key for key in ENV_VARS if key.startswith(("policies.", "scope."))}


@pytest.mark.parametrize(
    "name",
    [
        *ENV_VARS.values(),
        SHARD_INDEX_ENV,
        SHARD_COUNT_ENV,
        *("--" + flag.replace("_", "-") for flag in FLAG_FIELDS),
    ],
)
def test_example_names_every_variable_and_flag(name: str) -> None:
    assert re.search(rf"{re.escape(name)}\b", EXAMPLE.read_text(encoding="utf-8"))
