"""The environment as settings sources: the variable table, the shard pair, the org keys.

Hand-written instead of pydantic-settings' env source: that one takes one prefix for all
fields and ignores misspelt variables, and a silently ignored ``SWEEPER_MAX_CANCELATIONS``
is a real hazard for an irreversible job. A variable set to the empty string counts as
unset, as in most container tooling.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from worker.errors import ConfigError
from worker.settings._names import (
    API_KEY_ENV,
    ENV_PREFIX,
    SHARD_COUNT_ENV,
    SHARD_ENV,
    SHARD_INDEX_ENV,
)

__all__ = [
    "EnvironSource",
    "OrgKeysSource",
    "set_nested",
    "unknown",
]


class EnvironSource(PydanticBaseSettingsSource):
    """The variables of ``variables`` (field path -> name), nested, and the shard pair.

    An unknown ``SWEEPER_*`` variable is a ``ConfigError``, and so is one of
    ``JOB_COMPLETION_INDEX`` and ``SWEEPER_SHARD_COUNT`` without the other, unless
    ``shard_given`` says a higher layer (the ``--shard`` flag) already chose the shard.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        environ: Mapping[str, str],
        *,
        variables: Mapping[str, str],
        shard_given: bool = False,
    ) -> None:
        super().__init__(settings_cls)
        self._environ = environ
        self._variables = variables
        self._shard_given = shard_given

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ reads the whole table at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        known = {*self._variables.values(), SHARD_COUNT_ENV}
        unknown_names = sorted(
            name for name in self._environ if name.startswith(ENV_PREFIX) and name not in known
        )
        if unknown_names:
            raise ConfigError(
                "\n".join(
                    f"{name}: {unknown('variable', name, known, ENV_PREFIX)}"
                    for name in unknown_names
                )
            )
        data: dict[str, Any] = {}
        for dotted, name in self._variables.items():
            value = self._environ.get(name, "")
            if value == "":
                continue
            # Wrapped at once so that no dict of raw values ever holds the key in clear text.
            set_nested(data, dotted.split("."), SecretStr(value) if name == API_KEY_ENV else value)
        if not self._shard_given and (shard := self._shard()) is not None:
            data["shard"] = shard
        return data

    def _shard(self) -> str | None:
        """``INDEX/COUNT`` from the pair of variables, None when neither is set."""
        index = self._environ.get(SHARD_INDEX_ENV, "")
        count = self._environ.get(SHARD_COUNT_ENV, "")
        if index and count:
            return f"{index}/{count}"
        if index or count:
            only = SHARD_INDEX_ENV if index else SHARD_COUNT_ENV
            raise ConfigError(
                f"{SHARD_ENV}: set both or neither (only {only} is set); "
                "or choose the shard with --shard"
            )
        return None


class OrgKeysSource(PydanticBaseSettingsSource):
    """Another source's values, each ``[[orgs]]`` entry given the key its ``api_key_env`` names.

    The key is read here, when the settings are built, so that a missing one fails the run
    before any request. An entry that already has an ``api_key`` (a direct ``Settings(...)``
    call may pass one) keeps it; a variable that is unset or empty adds nothing, and the
    entry's validation then names the variable.
    """

    def __init__(self, inner: PydanticBaseSettingsSource, environ: Mapping[str, str]) -> None:
        super().__init__(inner.settings_cls)
        self._inner = inner
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        data = self._inner()
        orgs = data.get("orgs")
        if not isinstance(orgs, list | tuple):
            return data
        with_keys = []
        for org in orgs:
            if isinstance(org, Mapping) and "api_key" not in org:
                variable = org.get("api_key_env")
                value = self._environ.get(variable, "") if isinstance(variable, str) else ""
                org = {**org, "api_key": SecretStr(value)} if value else org  # noqa: PLW2901
            with_keys.append(org)
        return {**data, "orgs": with_keys}


def unknown(kind: str, name: str, known: set[str], prefix: str = "") -> str:
    """``unknown <kind>``, with the closest known name; a shared prefix is not a likeness."""
    stems = sorted(k.removeprefix(prefix) for k in known)
    close = difflib.get_close_matches(name.removeprefix(prefix), stems, n=1)
    return f"unknown {kind}" + (f" (did you mean {prefix}{close[0]}?)" if close else "")


def set_nested(data: dict[str, Any], path: Sequence[str], value: object) -> None:
    """``data[path[0]][path[1]]... = value``, making the tables on the way."""
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value
