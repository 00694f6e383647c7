"""Loading the settings: the TOML file, the environment and the flags, and errors that name
the input each problem came from.

Every layer is a pydantic-settings source; ``load_settings`` keeps each layer's raw values
too, so that an error names the file and key path (``config.toml: policies ->
expirng_within: unknown key``), the environment variable, or the flag (``--rate``).
Messages never repeat a value.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

from worker.errors import ConfigError
from worker.settings._env import EnvironSource, OrgKeysSource, set_nested, unknown
from worker.settings._model import ENV_VARS, FLAG_FIELDS, Settings, nested_model
from worker.settings._names import API_KEY_ENV, SHARD_ENV
from worker.settings._values import LOCATED, Location, problem_text

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["load_settings"]

_Origin = Literal["flag", "env", "file", "default"]
_FLAG_NAMES = {path: "--" + name.replace("_", "-") for name, path in FLAG_FIELDS.items()}
_ENV_NAMES = {**ENV_VARS, "shard": SHARD_ENV}
# Relative paths in the file are relative to the file's directory.
_ORG_FILE_PATHS: tuple[tuple[str, ...], ...] = (("policies", "manifest"), ("policies", "exclude"))
_FILE_PATHS = (("report",), ("lock_file",), ("audit_log",), *_ORG_FILE_PATHS)
# Keys a field has but the file must not set, and why.
_NOT_IN_FILE = {
    "api_key": f"the API key is read only from the {API_KEY_ENV} environment variable; "
    "remove it from the file",
    "shard": f"the shard is chosen per process, with --shard or {SHARD_ENV}; "
    "remove it from the file",
    "org_name": "unknown key: organizations are listed as [[orgs]] entries with a name",
}
_NOT_IN_ORG = {
    "api_key": "an organization's API key is read only from the environment variable its "
    "api_key_env names; remove it from the file",
}
# Keys the file never sets, left out of "did you mean" suggestions.
_HIDDEN_KEYS = frozenset(_NOT_IN_FILE) | frozenset(_NOT_IN_ORG)


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Build the run's settings: flags over the environment over the file over defaults.

    ``flags`` are keyed as in ``FLAG_FIELDS`` (flat: ``expiring_within=`` fills
    ``policies.expiring_within``), a value of None meaning the flag was not given. They take
    the same forms as the file and the environment ("30m", "auto", ISO-8601 text, "0/3") or
    typed values. ``environ`` defaults to ``os.environ``; the keys of ``[[orgs]]`` are read
    from it too, now. Raises ``ConfigError`` naming each bad input, one per line, without
    its value; an unknown flag name is a ``TypeError``.
    """
    environ = os.environ if environ is None else environ
    flag_values: dict[str, Any] = {}
    for name, value in flags.items():
        if name not in FLAG_FIELDS:
            raise TypeError(f"load_settings() got an unknown flag {name!r}")
        if value is not None:
            set_nested(flag_values, FLAG_FIELDS[name].split("."), value)
    sources: list[tuple[_Origin, PydanticBaseSettingsSource]] = [
        ("flag", InitSettingsSource(Settings, flag_values)),
        (
            "env",
            EnvironSource(
                Settings, environ, variables=ENV_VARS, shard_given="shard" in flag_values
            ),
        ),
    ]
    if config_file is not None:
        sources.append(("file", OrgKeysSource(_TomlFileSource(Settings, config_file), environ)))
    layers = [(origin, source()) for origin, source in sources]
    try:
        return Settings(_build_sources=(tuple(source for _, source in sources), {}))
    except ValidationError as exc:
        message = "\n".join(
            dict.fromkeys(
                line
                for error in exc.errors(include_input=False)
                for line in _explain(error, layers, config_file)
            )
        )
    # Raised outside the except block so that no __context__ holds pydantic's error, whose
    # text would include the rejected values.
    raise ConfigError(message)


class _TomlFileSource(TomlConfigSettingsSource):
    """pydantic-settings' TOML source for a file chosen at run time, strict about reading it."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        # The base class silently skips a missing file; a --config that is not there must fail.
        if not path.is_file():
            problem = "not a regular file" if path.exists() else "no such file"
            raise ConfigError(f"{path}: cannot read the configuration file: {problem}")
        self._path = path
        super().__init__(settings_cls, toml_file=path)

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        try:
            data = super()._read_file(file_path)
        except tomllib.TOMLDecodeError as exc:  # its message carries the line and column
            raise ConfigError(f"{self._path}: not valid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{self._path}: not valid TOML: not UTF-8 text") from None
        except OSError as exc:
            problem = exc.strerror
            raise ConfigError(
                f"{self._path}: cannot read the configuration file: {problem}"
            ) from exc
        forbidden = [
            f"{self._path}: {' -> '.join(map(str, loc))}: {problem}"
            for loc, problem in _forbidden_keys(data)
        ]
        if forbidden:
            raise ConfigError("\n".join(forbidden))
        base = self._path.parent
        _resolve_paths(data, _FILE_PATHS, base)
        for _, org in _org_tables(data):
            _resolve_paths(org, _ORG_FILE_PATHS, base)
        return data


def _forbidden_keys(data: dict[str, Any]) -> Iterator[tuple[Location, str]]:
    for key, problem in _NOT_IN_FILE.items():
        if key in data:
            yield (key,), problem
    for index, org in _org_tables(data):
        for key, problem in _NOT_IN_ORG.items():
            if key in org:
                yield ("orgs", index, key), problem


def _org_tables(data: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each ``[[orgs]]`` table and its position; anything else is left to validation."""
    orgs = data.get("orgs")
    if isinstance(orgs, list):
        yield from ((index, org) for index, org in enumerate(orgs) if isinstance(org, dict))


def _resolve_paths(data: dict[str, Any], paths: tuple[tuple[str, ...], ...], base: Path) -> None:
    for path in paths:
        found, value = _get(data, path)
        if found and isinstance(value, str) and value.strip():
            set_nested(data, path, str(base / value))  # absolute values stay as given
        elif found and isinstance(value, list):  # report = ["a.json", "b.md"]
            resolved = [str(base / v) if isinstance(v, str) and v.strip() else v for v in value]
            set_nested(data, path, resolved)


def _get(data: object, path: Location) -> tuple[bool, object]:
    for key in path:
        in_table = isinstance(data, Mapping) and key in data
        in_array = isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data)
        if not (in_table or in_array):
            return False, None
        data = data[key]  # type: ignore[index]
    return True, data


def _explain(
    error: ErrorDetails, layers: list[tuple[_Origin, dict[str, Any]]], config_file: Path | None
) -> Iterator[str]:
    """``<input>: <problem>`` for one pydantic error, the input being the layer that set it."""
    if error["type"] == LOCATED:
        for loc, problem in error["ctx"]["problems"]:
            yield _blame(loc, problem, layers, config_file)
        return
    loc = error["loc"]
    if error["type"] == "extra_forbidden":
        problem = unknown("key", str(loc[-1]), _known_keys(loc[:-1]))
    else:
        problem = problem_text(error)
    yield _blame(loc, problem, layers, config_file)


def _blame(
    loc: Location,
    problem: str,
    layers: list[tuple[_Origin, dict[str, Any]]],
    config_file: Path | None,
) -> str:
    if loc == ("api_key",):  # only ever from the environment, or Settings(api_key=...)
        return f"{API_KEY_ENV}: {problem}"
    if len(loc) == 3 and loc[0] == "orgs" and loc[2] == "api_key":
        return problem  # it names the variable and the organization
    # The layer that set the value, or the deepest part of it: a default that fails a
    # cross-field check is blamed on the layer that set its section or its counterpart.
    for length in range(len(loc), 0, -1):
        for origin, data in layers:
            if _get(data, loc[:length])[0]:
                return f"{_describe(origin, loc, config_file)}: {problem}"
    return f"{_describe('default', loc, config_file)}: {problem}"


def _describe(origin: _Origin, loc: Location, config_file: Path | None) -> str:
    dotted = ".".join(str(key) for key in loc)
    key_path = " -> ".join(str(key) for key in loc)
    if origin == "flag":
        return _FLAG_NAMES.get(dotted, "flags")
    if origin == "env":
        return _ENV_NAMES.get(dotted, "environment")
    return f"{config_file}: {key_path}" if origin == "file" else key_path


def _known_keys(loc: Location) -> set[str]:
    """The keys the file may set at ``loc``: for "did you mean" suggestions."""
    model: type[BaseModel] | None = Settings
    for key in loc:
        if model is None:
            break
        if isinstance(key, int):  # an entry of [[orgs]]: same model as the list
            continue
        field = model.model_fields.get(key)
        model = nested_model(field.annotation) if field is not None else None
    return set(model.model_fields) - _HIDDEN_KEYS if model is not None else set()
