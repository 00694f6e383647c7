"""The settings' schema: ``Settings``, and the names by which the environment and the flags
reach each of its fields.

``worker.settings`` is the public face; ``worker.settings._sources`` loads these from the
file, the environment and the flags.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterator, Mapping
from datetime import timedelta
from types import MappingProxyType, UnionType
from typing import Self, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from worker.settings._env import EnvironSource, OrgKeysSource
from worker.settings._names import API_KEY_ENV, ENV_PREFIX
from worker.settings._orgs import DEFAULT_ORG_NAME, OrgRun, organization_runs
from worker.settings._sections import (
    LoggingSettings,
    OrgSettings,
    PolicySettings,
    RetrySettings,
    SafetySettings,
    ScanSettings,
    ScopeSettings,
)
from worker.settings._values import (
    AUTO,
    BaseUrl,
    Ceiling,
    Concurrency,
    Count,
    Duration,
    FilePath,
    Initiator,
    LabelValue,
    Location,
    OrgName,
    PushgatewayUrl,
    RateSetting,
    ReportPaths,
    ShardValue,
    api_environment,
    located_error,
    usable_key,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_MAX_CANCELLATIONS",
    "DEFAULT_METRICS_JOB",
    "DEFAULT_PASSES",
    "DEFAULT_REQUEST_TIMEOUT",
    "DEFAULT_SCAN_DEADLINE",
    "ENV_VARS",
    "FLAG_FIELDS",
    "MAX_PASSES",
    "Settings",
    "default_initiator",
    "nested_model",
]

DEFAULT_BASE_URL = "https://api.harmony.compago.com"
DEFAULT_MAX_CANCELLATIONS = 1000
DEFAULT_PASSES = 3
MAX_PASSES = 10
DEFAULT_GRACE_PERIOD = timedelta(seconds=10)
DEFAULT_REQUEST_TIMEOUT = timedelta(seconds=30)
DEFAULT_CONNECT_TIMEOUT = timedelta(seconds=10)
# Bounds each pass's scan (or look-ups), retries included. A list read at 5 pages a second
# (2,500 links) takes under 7 minutes for a million links; a server that never answers
# is given up on with exit 6 instead of holding the run.
DEFAULT_SCAN_DEADLINE = timedelta(minutes=10)
DEFAULT_METRICS_JOB = "harmony-sweeper"
# The key of a top level with [[orgs]] and no HARMONY_API_KEY: each organization has its
# own. Empty, so it can never pass for a real key (those are never empty).
_NO_API_KEY = SecretStr("")
# Fields that neither the environment nor the file set: the shard comes from --shard or its
# own pair of variables, the orgs from [[orgs]] only, org_name from the entry's name.
_NOT_FROM_ENV = frozenset({"shard", "orgs", "org_name"})


def default_initiator() -> str:
    """``user@host`` of this process: who ran the sweep, for the audit events."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry: containers often run under an arbitrary uid
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


class Settings(BaseSettings):
    """Everything a run needs, validated before any request. Build it with ``load_settings``.

    Direct construction (``Settings(api_key=...)``) reads keyword arguments over the process
    environment and raises pydantic's ``ValidationError``; ``load_settings`` adds the file,
    flags, and errors that name their input. With ``[[orgs]]``, ``organizations()`` holds
    each organization's settings and key; ``api_key`` is then HARMONY_API_KEY if set, else
    empty, and is used by none of them.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        case_sensitive=True,
        hide_input_in_errors=True,
        validate_default=True,
    )

    api_key: SecretStr = _NO_API_KEY
    base_url: BaseUrl = DEFAULT_BASE_URL
    rate: RateSetting = AUTO
    rate_ceiling: Ceiling = None
    concurrency: Concurrency = None
    max_cancellations: Count = Field(DEFAULT_MAX_CANCELLATIONS, ge=0)
    passes: Count = Field(DEFAULT_PASSES, ge=1, le=MAX_PASSES)
    dry_run: bool = False
    report: ReportPaths = ()
    initiator: Initiator = Field(default_factory=default_initiator)
    grace_period: Duration = DEFAULT_GRACE_PERIOD
    request_timeout: Duration = DEFAULT_REQUEST_TIMEOUT
    connect_timeout: Duration = DEFAULT_CONNECT_TIMEOUT
    scan_deadline: Duration = DEFAULT_SCAN_DEADLINE
    lock_file: FilePath | None = None
    audit_log: FilePath | None = None
    pushgateway: PushgatewayUrl | None = None
    metrics_job: LabelValue = DEFAULT_METRICS_JOB
    shard: ShardValue | None = None
    policies: PolicySettings = Field(default_factory=PolicySettings)
    scope: ScopeSettings = Field(default_factory=ScopeSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    scan: ScanSettings = Field(default_factory=ScanSettings)
    orgs: tuple[OrgSettings, ...] = ()
    org_name: OrgName = DEFAULT_ORG_NAME

    # Built once, with the settings: a bad merge fails the load, not the sweep.
    _organizations: tuple[OrgRun, ...] = PrivateAttr(default=())

    def organizations(self) -> tuple[OrgRun, ...]:
        """Each organization to sweep, in file order, with its complete settings.

        Without ``[[orgs]]``: one run, named ``org_name`` (``default``), of these settings.
        Every organization is listed; a sharded caller keeps those ``shard.owns(name)``.
        """
        return self._organizations or (OrgRun(self.org_name, self),)

    def api_environment(self) -> str:
        """What ``base_url`` points at: ``production``, ``demo``, ``sandbox`` or ``other``.

        ``sandbox`` is any loopback host: the only one plain http may reach.
        """
        return api_environment(self.base_url)

    @field_validator("api_key")
    @classmethod
    def _usable_key(cls, value: SecretStr) -> SecretStr:
        # Empty is "not given": whether that is allowed depends on [[orgs]] (see orgs).
        return value if value.get_secret_value() == "" else usable_key(value)

    @field_validator("rate_ceiling")
    @classmethod
    def _ceiling_not_below_rate(cls, value: float | None, info: ValidationInfo) -> float | None:
        rate = info.data.get("rate", AUTO)
        if value is not None and rate != AUTO and value < rate:
            raise ValueError("rate_ceiling must not be less than rate")
        return value

    @field_validator("connect_timeout")
    @classmethod
    def _connect_within_request(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        request_timeout = info.data.get("request_timeout")
        if request_timeout is not None and value > request_timeout:
            raise ValueError("connect_timeout must not be more than request_timeout")
        return value

    @field_validator("orgs")
    @classmethod
    def _key_unless_orgs(
        cls, orgs: tuple[OrgSettings, ...], info: ValidationInfo
    ) -> tuple[OrgSettings, ...]:
        # Declared after api_key, so the check sees both; an invalid key has its own error.
        key = info.data.get("api_key")
        if not orgs and key is not None and not key.get_secret_value():
            raise located_error(
                [(("api_key",), "not set; export the API key in this environment variable")]
            )
        return orgs

    @field_validator("orgs")
    @classmethod
    def _distinct_orgs(cls, orgs: tuple[OrgSettings, ...]) -> tuple[OrgSettings, ...]:
        problems: list[tuple[Location, str]] = []
        for index, org in enumerate(orgs):
            clash = next(filter(None, (_clash(org, earlier) for earlier in orgs[:index])), None)
            if clash is not None:
                problems.append((("orgs", index, clash[0]), clash[1]))
        if problems:
            raise located_error(problems)
        return orgs

    @model_validator(mode="after")
    def _resolve_organizations(self) -> Self:
        if self.orgs:
            self._organizations = organization_runs(self)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only our own variable table: the default source would read any variable named like
        # a field (RATE, PASSES) and no dotenv or secrets directory is wanted.
        return (
            OrgKeysSource(init_settings, os.environ),
            EnvironSource(
                settings_cls,
                os.environ,
                variables=ENV_VARS,
                shard_given="shard" in init_settings(),
            ),
        )


def _clash(org: OrgSettings, earlier: OrgSettings) -> tuple[str, str] | None:
    """The field ``org`` shares with an earlier entry, and the problem; None if none.

    Two entries with one name would share a report section and a metrics series; two with
    one key variable would sweep one organization twice, each under its own rate limit.
    """
    if org.name == earlier.name:
        return "name", "already the name of an earlier entry: names must be unique"
    if org.api_key_env == earlier.api_key_env:
        return "api_key_env", f"already the key variable of organization {earlier.name}"
    return None


def nested_model(annotation: object) -> type[BaseModel] | None:
    """The model behind ``M``, ``M | None`` or ``tuple[M, ...]``; None for a plain value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, UnionType, tuple):
        for arg in get_args(annotation):
            if (model := nested_model(arg)) is not None:
                return model
    return None


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        section = nested_model(field.annotation)
        if section is None:
            yield (*prefix, name)
        else:
            yield from _leaf_paths(section, (*prefix, name))


ENV_VARS: Mapping[str, str] = MappingProxyType(
    {
        ".".join(path): {"api_key": API_KEY_ENV, "base_url": "HARMONY_BASE_URL"}.get(
            ".".join(path), ENV_PREFIX + "__".join(path).upper()
        )
        for path in _leaf_paths(Settings)
        if path[0] not in _NOT_FROM_ENV
    }
)
"""Field path (``policies.expiring_within``) -> environment variable, in field order.

The shard is not here: it comes from two variables, ``JOB_COMPLETION_INDEX`` and
``SWEEPER_SHARD_COUNT`` (``SHARD_ENV``), both or neither.
"""

FLAG_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "base_url": "base_url",
        "rate": "rate",
        "concurrency": "concurrency",
        "max_cancellations": "max_cancellations",
        "report": "report",
        "dry_run": "dry_run",
        "expiring_within": "policies.expiring_within",
        "duplicates": "policies.duplicates",
        "created_before": "policies.created_before",
        "manifest": "policies.manifest",
        "exclude": "policies.exclude",
        "paid_siblings": "policies.paid_siblings",
        "lock_file": "lock_file",
        "audit_log": "audit_log",
        "pushgateway": "pushgateway",
        "shard": "shard",
    }
)
"""``load_settings`` keyword (the flag without ``--``, dashes as underscores) -> field path."""
