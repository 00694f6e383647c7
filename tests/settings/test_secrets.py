from __future__ import annotations

import traceback

import pytest
from pydantic import ValidationError

from tests.settings.conftest import ENV, WriteConfig, config_error
from worker.errors import ConfigError
from worker.settings import ENV_VARS, FLAG_FIELDS, Settings, load_settings

CANARY = "CANARY-7f3a9c1e5b"


def _all_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(error)


def test_key_is_masked_in_repr_str_and_dumps() -> None:
    settings = load_settings(environ={"HARMONY_API_KEY": CANARY})
    assert settings.api_key.get_secret_value() == CANARY
    for text in (repr(settings), str(settings), settings.model_dump_json(), str(settings.api_key)):
        assert CANARY not in text


def test_key_from_a_mounted_file_loses_its_newline() -> None:
    settings = load_settings(environ={"HARMONY_API_KEY": f"  {CANARY}\n"})
    assert settings.api_key.get_secret_value() == CANARY


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "HARMONY_API_KEY: not set; export the API key in this environment variable"),
        ("", "HARMONY_API_KEY: not set; export the API key in this environment variable"),
        ("   ", "HARMONY_API_KEY: is empty"),
        (f"{CANARY} {CANARY}", "HARMONY_API_KEY: contains spaces or control characters"),
        (f"{CANARY}\x00", "HARMONY_API_KEY: contains spaces or control characters"),
    ],
)
def test_unusable_key_names_the_variable(value: str | None, expected: str) -> None:
    environ = {} if value is None else {"HARMONY_API_KEY": value}
    assert config_error(environ=environ) == expected


def test_key_in_the_file_is_refused_without_echoing_it(write_config: WriteConfig) -> None:
    config = write_config(f'api_key = "{CANARY}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config_file=config, environ=ENV)
    assert str(info.value) == (
        f"{config}: api_key: the API key is read only from the HARMONY_API_KEY "
        "environment variable; remove it from the file"
    )
    assert CANARY not in _all_text(info.value)


def test_canary_in_every_input_never_reaches_an_error(write_config: WriteConfig) -> None:
    # The key pasted into every wrong place at once: each place fails, none repeats it.
    sections: dict[str, list[str]] = {}
    for dotted in ENV_VARS:
        *section, key = dotted.split(".")
        if key != "api_key":
            sections.setdefault(section[0] if section else "", []).append(f'{key} = "{CANARY}"')
    text = "\n".join(sections.pop("")) + "\n"
    text += "".join(f"[{name}]\n" + "\n".join(lines) + "\n" for name, lines in sections.items())
    environ = dict.fromkeys(ENV_VARS.values(), CANARY)
    flags = dict.fromkeys(FLAG_FIELDS, CANARY)
    for kwargs in (
        {"config_file": write_config(text), "environ": ENV},
        {"environ": environ},
        {"environ": {**environ, "HARMONY_BASE_URL": f"https://{CANARY}:x@example.com"}},
        {"environ": ENV, **flags},
    ):
        with pytest.raises(ConfigError) as info:
            load_settings(**kwargs)
        assert len(str(info.value).splitlines()) > 5
        assert CANARY not in _all_text(info.value)
        assert info.value.__cause__ is None
        assert info.value.__context__ is None


def test_direct_construction_hides_inputs_too() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(api_key=f"{CANARY} {CANARY}", rate=CANARY)
    assert CANARY not in str(info.value)
