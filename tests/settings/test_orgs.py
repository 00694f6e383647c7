"""``[[orgs]]``: several organizations in one file, each merged over the top level."""

from __future__ import annotations

import json
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.settings.conftest import WriteConfig, config_error
from worker.errors import ConfigError
from worker.settings import (
    API_KEY_ENV,
    AUTO,
    DEFAULT_ORG_NAME,
    OrgRun,
    Settings,
    Shard,
    load_settings,
)

CANARY = "CANARY-org-5d2e8b"
KEYS = {"KEY_ACME": "key-acme", "KEY_GLOBEX": "key-globex"}
ACME = '[[orgs]]\nname = "acme"\napi_key_env = "KEY_ACME"\n'
GLOBEX = '[[orgs]]\nname = "globex"\napi_key_env = "KEY_GLOBEX"\n'


def _runs(config: Path, environ: dict[str, str] | None = None) -> dict[str, Settings]:
    settings = load_settings(config_file=config, environ=KEYS if environ is None else environ)
    return {run.name: run.settings for run in settings.organizations()}


def _all_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(error)


def test_each_entry_becomes_a_complete_single_organization_run(write_config: WriteConfig) -> None:
    config = write_config("max_cancellations = 7\n" + ACME + GLOBEX)
    settings = load_settings(config_file=config, environ=KEYS)
    runs = settings.organizations()
    assert [run.name for run in runs] == ["acme", "globex"]  # file order
    for run, key in zip(runs, KEYS.values(), strict=True):
        assert isinstance(run, OrgRun)
        assert run.settings.org_name == run.name
        assert run.settings.api_key.get_secret_value() == key
        assert run.settings.orgs == ()
        assert run.settings.max_cancellations == 7
        assert run.settings.organizations() == (run,)  # what the single-org engine sees
    assert settings.org_name == DEFAULT_ORG_NAME


def test_without_orgs_one_default_run_of_the_settings_themselves() -> None:
    settings = load_settings(environ={API_KEY_ENV: "top-key"})
    (run,) = settings.organizations()
    assert run == OrgRun(DEFAULT_ORG_NAME, settings)
    assert run.settings is settings


def test_the_shard_does_not_filter_the_organizations(write_config: WriteConfig) -> None:
    config = write_config(ACME + GLOBEX)
    settings = load_settings(config_file=config, environ=KEYS, shard="1/3")
    assert settings.shard == Shard(1, 3)
    assert [run.name for run in settings.organizations()] == ["acme", "globex"]
    assert all(run.settings.shard == Shard(1, 3) for run in settings.organizations())


# field, top-level line, the override in the first org, read back: top-level, overridden.
SCALARS = [
    ("rate", "rate = 2", "rate = 5", 2.0, 5.0),
    ("rate", "rate = 2", 'rate = "auto"', 2.0, AUTO),  # auto overrides a fixed rate
    ("rate_ceiling", "rate_ceiling = 20", "rate_ceiling = 30", 20.0, 30.0),
    ("concurrency", "concurrency = 4", "concurrency = 9", 4, 9),
    ("concurrency", "concurrency = 4", 'concurrency = "auto"', 4, None),
    ("max_cancellations", "max_cancellations = 10", "max_cancellations = 0", 10, 0),
    (
        "base_url",
        'base_url = "https://api.example.com"',
        'base_url = "HTTPS://Other.Example.com/"',
        "https://api.example.com",
        "https://other.example.com",
    ),
]


@pytest.mark.parametrize(("field", "top", "override", "inherited", "overridden"), SCALARS)
def test_scalars_are_inherited_unless_overridden(
    write_config: WriteConfig,
    field: str,
    top: str,
    override: str,
    inherited: object,
    overridden: object,
) -> None:
    runs = _runs(write_config(f"{top}\n{ACME}{override}\n{GLOBEX}"))
    assert getattr(runs["acme"], field) == overridden
    assert getattr(runs["globex"], field) == inherited


def test_everything_else_is_inherited(write_config: WriteConfig) -> None:
    config = write_config(
        'passes = 2\ngrace_period = "5s"\nreport = "r.json"\npushgateway = "http://gw:9091"\n'
        "[retry]\nattempts = 3\n" + ACME
    )
    acme = _runs(config)["acme"]
    assert (acme.passes, acme.grace_period, acme.retry.attempts) == (2, timedelta(seconds=5), 3)
    assert acme.report == (config.parent / "r.json",)
    assert acme.pushgateway == "http://gw:9091"


# [orgs.policies] / [orgs.scope]: each key given replaces that key, the rest are inherited.
SECTION_TOP = (
    '[policies]\nexpiring_within = "30m"\nduplicates = true\n'
    '[scope]\ncurrencies = ["MXN"]\ncreated_before = 2026-01-01T00:00:00Z\n'
)
SECTION_CASES = [
    (
        '[orgs.policies]\nexpiring_within = "2h"\n',
        {"policies.expiring_within": timedelta(hours=2), "policies.duplicates": True},
    ),
    (
        "[orgs.policies]\nduplicates = false\n",
        {"policies.expiring_within": timedelta(minutes=30), "policies.duplicates": False},
    ),
    (
        "[orgs.policies]\ncreated_before = 2025-06-01T00:00:00Z\n",
        {
            "policies.created_before": datetime(2025, 6, 1, tzinfo=UTC),
            "policies.expiring_within": timedelta(minutes=30),
        },
    ),
    (
        '[orgs.scope]\ncurrencies = ["usd", "MXN"]\n',
        {
            "scope.currencies": frozenset({"USD", "MXN"}),
            "scope.created_before": datetime(2026, 1, 1, tzinfo=UTC),
        },
    ),
    (
        '[orgs.policies]\nexpiring_within = "1h"\n[orgs.scope]\ncurrencies = ["USD"]\n',
        {
            "policies.expiring_within": timedelta(hours=1),
            "policies.duplicates": True,
            "scope.currencies": frozenset({"USD"}),
            "scope.created_before": datetime(2026, 1, 1, tzinfo=UTC),
        },
    ),
    ("[orgs.policies]\n", {"policies.expiring_within": timedelta(minutes=30)}),
]


@pytest.mark.parametrize(("override", "expected"), SECTION_CASES)
def test_section_keys_are_replaced_one_by_one(
    write_config: WriteConfig, override: str, expected: dict[str, object]
) -> None:
    runs = _runs(write_config(SECTION_TOP + ACME + override + GLOBEX))
    for dotted, value in expected.items():
        section, key = dotted.split(".")
        assert getattr(getattr(runs["acme"], section), key) == value
    top = load_settings(config_file=write_config(SECTION_TOP + GLOBEX), environ=KEYS)
    assert runs["globex"].policies == top.policies
    assert runs["globex"].scope == top.scope


def test_paths_in_an_org_are_relative_to_the_file(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    config = write_config(ACME + '[orgs.policies]\nmanifest = "acme.csv"\nexclude = "/abs.csv"\n')
    acme = _runs(config)["acme"]
    assert acme.policies.manifest == tmp_path / "acme.csv"
    assert acme.policies.exclude == Path("/abs.csv")


def test_the_top_level_key_is_not_needed_with_orgs(write_config: WriteConfig) -> None:
    settings = load_settings(config_file=write_config(ACME), environ=KEYS)
    assert settings.api_key.get_secret_value() == ""  # no key of its own: each org has one


def test_the_top_level_key_is_not_used_for_the_orgs(write_config: WriteConfig) -> None:
    runs = _runs(write_config(ACME), {**KEYS, API_KEY_ENV: "top-key"})
    assert runs["acme"].api_key.get_secret_value() == "key-acme"


def test_an_empty_list_of_orgs_is_no_orgs(write_config: WriteConfig) -> None:
    config = write_config("orgs = []\n")
    assert config_error(config_file=config, environ=KEYS) == (
        f"{API_KEY_ENV}: not set; export the API key in this environment variable"
    )
    settings = load_settings(config_file=config, environ={API_KEY_ENV: "top-key"})
    assert [run.name for run in settings.organizations()] == [DEFAULT_ORG_NAME]


def test_keys_come_from_the_environ_given(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEY_ACME", "from-os-environ")
    config = write_config(ACME)
    assert _runs(config)["acme"].api_key.get_secret_value() == "key-acme"
    from_process = load_settings(config_file=config)  # environ=None: os.environ
    assert from_process.organizations()[0].settings.api_key.get_secret_value() == (
        "from-os-environ"
    )


def test_direct_construction_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEY_ACME", "from-os-environ")
    settings = Settings(
        orgs=[
            {"name": "acme", "api_key_env": "KEY_ACME"},
            {"name": "globex", "api_key_env": "KEY_GLOBEX", "api_key": "given"},
        ]
    )
    keys = [run.settings.api_key.get_secret_value() for run in settings.organizations()]
    assert keys == ["from-os-environ", "given"]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (ACME + "expirng_within = '1h'\n", "orgs -> 0 -> expirng_within: unknown key"),
        (
            ACME + "rat = 1\n",
            "orgs -> 0 -> rat: unknown key (did you mean rate?)",
        ),
        (
            ACME + "[orgs.policies]\nexpirng_within = '1h'\n",
            "orgs -> 0 -> policies -> expirng_within: unknown key (did you mean expiring_within?)",
        ),
        (
            ACME + "[orgs.scope]\ncurrency = ['MXN']\n",
            "orgs -> 0 -> scope -> currency: unknown key (did you mean currencies?)",
        ),
        (ACME + "[orgs.retry]\nattempts = 2\n", "orgs -> 0 -> retry: unknown key"),
        (ACME + "passes = 2\n", "orgs -> 0 -> passes: unknown key"),
        (
            ACME + "api_key_envs = 'X'\n",
            "orgs -> 0 -> api_key_envs: unknown key (did you mean api_key_env?)",
        ),
    ],
)
def test_unknown_keys_in_an_org_are_named_with_their_path(
    write_config: WriteConfig, entry: str, expected: str
) -> None:
    config = write_config(GLOBEX + GLOBEX.replace("globex", "initech") + entry)
    message = config_error(config_file=config, environ={**KEYS, "KEY_INITECH": "k"})
    assert message == f"{config}: {expected.replace('orgs -> 0', 'orgs -> 2')}"


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            ACME + ACME.replace("KEY_ACME", "KEY_GLOBEX"),
            ["orgs -> 1 -> name: already the name of an earlier entry: names must be unique"],
        ),
        (
            ACME + GLOBEX.replace("KEY_GLOBEX", "KEY_ACME"),
            ["orgs -> 1 -> api_key_env: already the key variable of organization acme"],
        ),
        (
            ACME + GLOBEX + ACME + GLOBEX,
            [
                "orgs -> 2 -> name: already the name of an earlier entry: names must be unique",
                "orgs -> 3 -> name: already the name of an earlier entry: names must be unique",
            ],
        ),
    ],
)
def test_names_and_key_variables_are_unique(
    write_config: WriteConfig, entries: str, expected: list[str]
) -> None:
    config = write_config(entries)
    assert config_error(config_file=config, environ=KEYS).splitlines() == [
        f"{config}: {line}" for line in expected
    ]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("acme", True),
        ("Acme_MX.2-b", True),
        ("a" * 63, True),
        ("", False),
        ("a" * 64, False),
        ("acme mx", False),
        ("acme/mx", False),
        ("ácme", False),
        ("acme\n", False),
    ],
)
def test_org_names(write_config: WriteConfig, name: str, ok: bool) -> None:
    # A JSON string is a TOML basic string: escapes and all.
    config = write_config(f"[[orgs]]\nname = {json.dumps(name)}\napi_key_env = 'KEY_ACME'\n")
    if ok:
        assert _runs(config).keys() == {name}
    else:
        assert config_error(config_file=config, environ=KEYS) == (
            f"{config}: orgs -> 0 -> name: "
            "must be 1 to 63 letters, digits, dots, dashes or underscores"
        )


@pytest.mark.parametrize(
    ("variable", "problem"),
    [
        ("key_acme", "must be the name of an environment variable"),
        ("1KEY", "must be the name of an environment variable"),
        ("KEY-ACME", "must be the name of an environment variable"),
        ("", "must be the name of an environment variable"),
        ("SWEEPER_KEY_ACME", "must not start with SWEEPER_"),
    ],
)
def test_key_variable_names(write_config: WriteConfig, variable: str, problem: str) -> None:
    config = write_config(f'[[orgs]]\nname = "acme"\napi_key_env = "{variable}"\n')
    message = config_error(config_file=config, environ=KEYS)
    assert message.startswith(f"{config}: orgs -> 0 -> api_key_env: {problem}")
    assert "\n" not in message  # and no complaint about a key it could not look up


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "not set or empty; export the API key of organization globex in this variable"),
        ("", "not set or empty; export the API key of organization globex in this variable"),
        (" \n", "is empty (the API key of organization globex)"),
        (
            f"{CANARY} {CANARY}",
            "contains spaces or control characters (the API key of organization globex)",
        ),
        (
            f"{CANARY}\x00",
            "contains spaces or control characters (the API key of organization globex)",
        ),
    ],
)
def test_unusable_key_names_the_org_and_the_variable(
    write_config: WriteConfig, value: str | None, problem: str
) -> None:
    environ = {"KEY_ACME": "key-acme"} | ({} if value is None else {"KEY_GLOBEX": value})
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=write_config(ACME + GLOBEX), environ=environ)
    assert str(info.value) == f"KEY_GLOBEX: {problem}"
    assert CANARY not in _all_text(info.value)
    assert info.value.__context__ is None


def test_a_key_from_a_mounted_file_loses_its_newline(write_config: WriteConfig) -> None:
    runs = _runs(write_config(ACME), {"KEY_ACME": f"  {CANARY}\n"})
    assert runs["acme"].api_key.get_secret_value() == CANARY


def test_org_keys_never_show(write_config: WriteConfig) -> None:
    environ = {"KEY_ACME": CANARY, "KEY_GLOBEX": CANARY[::-1]}
    settings = load_settings(config_file=write_config(ACME + GLOBEX), environ=environ)
    runs = settings.organizations()
    shown = [repr(settings), str(settings), settings.model_dump_json(), repr(runs), str(runs)]
    shown += [run.settings.model_dump_json() for run in runs]
    for text in shown:
        assert CANARY not in text
        assert CANARY[::-1] not in text


def test_a_key_in_an_org_of_the_file_is_refused_without_echoing_it(
    write_config: WriteConfig,
) -> None:
    config = write_config(ACME + f'api_key = "{CANARY}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=config, environ=KEYS)
    assert str(info.value) == (
        f"{config}: orgs -> 0 -> api_key: an organization's API key is read only from the "
        "environment variable its api_key_env names; remove it from the file"
    )
    assert CANARY not in _all_text(info.value)


def test_canary_in_every_org_key_never_reaches_an_error(write_config: WriteConfig) -> None:
    # Every override set to the key: each fails, none repeats it.
    lines = [
        f'{key} = "{CANARY}"'
        for key in ("base_url", "rate", "rate_ceiling", "concurrency", "max_cancellations")
    ]
    sections = (
        f'[orgs.policies]\nexpiring_within = "{CANARY}"\n[orgs.scope]\ncurrencies = "{CANARY}"\n'
    )
    config = write_config(ACME + "\n".join(lines) + "\n" + sections)
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=config, environ={"KEY_ACME": f"{CANARY} x"})
    assert len(str(info.value).splitlines()) == 8
    assert CANARY not in _all_text(info.value)


def test_a_merge_that_breaks_a_cross_field_rule_is_blamed_on_the_org(
    write_config: WriteConfig,
) -> None:
    config = write_config("rate_ceiling = 8\n" + ACME + "rate = 10\n" + GLOBEX)
    assert config_error(config_file=config, environ=KEYS) == (
        f"{config}: orgs -> 0 -> rate_ceiling: rate_ceiling must not be less than rate "
        "(in this organization's values merged over the top-level ones)"
    )


def test_orgs_come_only_from_the_file() -> None:
    assert config_error(environ={**KEYS, "SWEEPER_ORGS": "x"}) == ("SWEEPER_ORGS: unknown variable")


def test_direct_construction_raises_validation_error_without_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEY_ACME", f"{CANARY} {CANARY}")
    with pytest.raises(ValidationError) as info:
        Settings(orgs=[{"name": "acme", "api_key_env": "KEY_ACME"}])
    assert "KEY_ACME: contains spaces" in str(info.value)
    assert CANARY not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("orgs = 5\n", "orgs: must be a list of tables ([[orgs]] entries)"),
        ('orgs = "acme"\n', "orgs: must be a list of tables ([[orgs]] entries)"),
        ('[orgs]\nname = "acme"\n', "orgs: must be a list of tables ([[orgs]] entries)"),
        ("orgs = [1]\n", "orgs -> 0: must be a table (a [section])"),
        ("[[orgs]]\n", "orgs -> 0 -> name: field required"),
    ],
)
def test_orgs_of_the_wrong_shape(write_config: WriteConfig, text: str, expected: str) -> None:
    config = write_config(text)
    assert config_error(config_file=config, environ=KEYS).splitlines()[0] == (
        f"{config}: {expected}"
    )
