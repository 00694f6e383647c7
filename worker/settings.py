"""Settings: one frozen object built from defaults, a TOML file, the environment and flags.

Precedence, highest first: flags, environment, the TOML file given with ``--config``,
defaults. Every layer is a pydantic-settings source; ``load_settings`` keeps each layer's raw
values too, so that an error names the input it came from: the file and key path
(``config.toml: policies -> expirng_within: unknown key``), the environment variable, or the
flag (``--rate``). Messages never repeat a value, and the API key is read only from
``HARMONY_API_KEY`` and only ever held as a ``SecretStr``.

Environment variables are nested with ``__`` (``SWEEPER_POLICIES__EXPIRING_WITHIN``) rather
than flattened because ``policies.created_before`` and ``scope.created_before`` would collide.
Relative paths in the file are relative to the file's directory; elsewhere, to the working
directory.
"""

from __future__ import annotations

import difflib
import getpass
import ipaddress
import math
import os
import re
import socket
import tomllib
from collections.abc import Iterator, Mapping
from datetime import UTC, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from worker.durations import as_duration
from worker.errors import ConfigError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "API_KEY_ENV",
    "AUTO",
    "DEFAULT_BASE_URL",
    "ENV_VARS",
    "FLAG_FIELDS",
    "LoggingSettings",
    "PolicySettings",
    "RetrySettings",
    "SafetySettings",
    "ScopeSettings",
    "Settings",
    "default_initiator",
    "load_settings",
]

DEFAULT_BASE_URL = "https://api.harmony.compago.com"
DEFAULT_MAX_CANCELLATIONS = 1000
DEFAULT_PASSES = 3
MAX_PASSES = 10
MAX_CONCURRENCY = 1000
DEFAULT_GRACE_PERIOD = timedelta(seconds=10)
DEFAULT_REQUEST_TIMEOUT = timedelta(seconds=30)
DEFAULT_CONNECT_TIMEOUT = timedelta(seconds=10)
DEFAULT_RETRY_ATTEMPTS = 5
MAX_RETRY_ATTEMPTS = 100
DEFAULT_RETRY_INITIAL = timedelta(milliseconds=200)
DEFAULT_RETRY_MAXIMUM = timedelta(seconds=10)
DEFAULT_RETRY_BUDGET_RATIO = 0.2
DEFAULT_RETRY_BUDGET_MIN = 20
DEFAULT_FAILURE_RATIO = 0.2
DEFAULT_FAILURE_MIN = 20
LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]
DEFAULT_LOG_FORMAT: LogFormat = "auto"
DEFAULT_LOG_LEVEL: LogLevel = "info"
REPORT_SUFFIXES = (".json", ".csv", ".md")
AUTO = "auto"
API_KEY_ENV = "HARMONY_API_KEY"
_ENV_PREFIX = "SWEEPER_"
_MAX_INITIATOR_LENGTH = 200
_HOSTNAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_UNPRINTABLE = re.compile(r"[\s\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def default_initiator() -> str:
    """``user@host`` of this process: who ran the sweep, for the audit events."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry: containers often run under an arbitrary uid
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


# Validators raise ValueError even for a wrong type (TRY004): pydantic turns only ValueError
# into a validation error that names the field; a TypeError would escape as a crash.


def _not_bool(value: object) -> object:
    # pydantic reads `true` as 1 for numbers; in a config file that is always a mistake.
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")  # noqa: TRY004
    return value


def _auto_or_positive(value: object) -> float | None:
    """``auto`` (or None) means the sweeper decides; otherwise a positive, finite number."""
    problem = "must be 'auto' or a number greater than 0"
    if value is None or (isinstance(value, str) and value.strip().lower() == AUTO):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(problem)  # noqa: TRY004
    try:
        number = float(value)
    except ValueError:
        raise ValueError(problem) from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(problem)
    return number


def _auto_to_none(value: object) -> object:
    return None if isinstance(value, str) and value.strip().lower() == AUTO else _not_bool(value)


def _currencies(value: object) -> frozenset[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set | frozenset) or not all(
        isinstance(item, str) for item in items
    ):
        raise ValueError('expected a list of currency codes like ["MXN", "USD"]')
    codes = frozenset(item.strip().upper() for item in items)
    if not codes:
        raise ValueError("is empty: leave it out to allow every currency")
    if not all(_CURRENCY.fullmatch(code) for code in codes):
        raise ValueError("currency codes are three letters (ISO 4217), like MXN")
    return codes


def _path(value: Path) -> Path:
    if not str(value).strip() or value == Path():
        raise ValueError("must be a file path")
    return value


def _report_path(value: Path) -> Path:
    if value.suffix.lower() not in REPORT_SUFFIXES:
        raise ValueError(f"the file name must end in {', '.join(REPORT_SUFFIXES)} (the format)")
    return value


Duration = Annotated[timedelta, BeforeValidator(as_duration)]
Timestamp = Annotated[AwareDatetime, AfterValidator(lambda moment: moment.astimezone(UTC))]
Rate = Annotated[float | None, BeforeValidator(_auto_or_positive)]
Count = Annotated[int, BeforeValidator(_not_bool)]
Ratio = Annotated[float, BeforeValidator(_not_bool)]
FilePath = Annotated[Path, AfterValidator(_path)]


class _Section(BaseModel):
    # validate_default: cross-field checks (retry.maximum >= retry.initial) must also run
    # when one side keeps its default.
    model_config = ConfigDict(
        frozen=True, extra="forbid", hide_input_in_errors=True, validate_default=True
    )


class PolicySettings(_Section):
    """``[policies]``: which links to cancel. They combine as a union."""

    expiring_within: Duration | None = None
    duplicates: bool = False
    created_before: Timestamp | None = None
    manifest: FilePath | None = None
    exclude: FilePath | None = None


class ScopeSettings(_Section):
    """``[scope]``: narrows whatever the policies selected."""

    currencies: Annotated[frozenset[str], BeforeValidator(_currencies)] | None = None
    created_before: Timestamp | None = None


class RetrySettings(_Section):
    """``[retry]``: capped exponential backoff with full jitter, and a budget for the run."""

    attempts: Count = Field(DEFAULT_RETRY_ATTEMPTS, ge=1, le=MAX_RETRY_ATTEMPTS)
    initial: Duration = DEFAULT_RETRY_INITIAL
    maximum: Duration = DEFAULT_RETRY_MAXIMUM
    budget_ratio: Ratio = Field(DEFAULT_RETRY_BUDGET_RATIO, ge=0, le=1)
    budget_min: Count = Field(DEFAULT_RETRY_BUDGET_MIN, ge=0)

    @field_validator("maximum")
    @classmethod
    def _maximum_not_below_initial(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        initial = info.data.get("initial")
        if initial is not None and value < initial:
            raise ValueError("retry.maximum must not be less than retry.initial")
        return value


class SafetySettings(_Section):
    """``[safety]``: stop launching cancels when more than a share of enough of them fail."""

    failure_ratio: Ratio = Field(DEFAULT_FAILURE_RATIO, gt=0, le=1)
    failure_min: Count = Field(DEFAULT_FAILURE_MIN, ge=1)


class LoggingSettings(_Section):
    """``[logging]``: ``auto`` is JSON lines when stderr is not a TTY, console when it is."""

    format: LogFormat = DEFAULT_LOG_FORMAT
    level: LogLevel = DEFAULT_LOG_LEVEL

    @field_validator("format", "level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class Settings(BaseSettings):
    """Everything a run needs, validated before any request. Build it with ``load_settings``.

    Direct construction (``Settings(api_key=...)``) reads keyword arguments over the process
    environment and raises pydantic's ``ValidationError``; ``load_settings`` adds the file,
    flags, and errors that name their input.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        case_sensitive=True,
        hide_input_in_errors=True,
        validate_default=True,
    )

    api_key: SecretStr
    base_url: str = DEFAULT_BASE_URL
    rate: Rate = None
    rate_ceiling: Rate = None
    concurrency: Annotated[
        Annotated[Count, Field(ge=1, le=MAX_CONCURRENCY)] | None, BeforeValidator(_auto_to_none)
    ] = None
    max_cancellations: Count = Field(DEFAULT_MAX_CANCELLATIONS, ge=0)
    passes: Count = Field(DEFAULT_PASSES, ge=1, le=MAX_PASSES)
    dry_run: bool = False
    report: Annotated[FilePath, AfterValidator(_report_path)] | None = None
    initiator: str = Field(default_factory=default_initiator)
    grace_period: Duration = DEFAULT_GRACE_PERIOD
    request_timeout: Duration = DEFAULT_REQUEST_TIMEOUT
    connect_timeout: Duration = DEFAULT_CONNECT_TIMEOUT
    policies: PolicySettings = Field(default_factory=PolicySettings)
    scope: ScopeSettings = Field(default_factory=ScopeSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    @field_validator("api_key")
    @classmethod
    def _usable_key(cls, value: SecretStr) -> SecretStr:
        # Secrets mounted from files often end in a newline, which no HTTP header may carry.
        key = value.get_secret_value().strip()
        if not key:
            raise ValueError("is empty")
        if _UNPRINTABLE.search(key):
            raise ValueError("contains spaces or control characters")
        return SecretStr(key)

    @field_validator("base_url")
    @classmethod
    def _safe_base_url(cls, value: str) -> str:
        return _check_base_url(value)

    @field_validator("rate_ceiling")
    @classmethod
    def _ceiling_not_below_rate(cls, value: float | None, info: ValidationInfo) -> float | None:
        rate = info.data.get("rate")
        if value is not None and rate is not None and value < rate:
            raise ValueError("rate_ceiling must not be less than rate")
        return value

    @field_validator("initiator")
    @classmethod
    def _printable_initiator(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > _MAX_INITIATOR_LENGTH or _CONTROL.search(value):
            raise ValueError(f"must be 1 to {_MAX_INITIATOR_LENGTH} printable characters")
        return value

    @field_validator("connect_timeout")
    @classmethod
    def _connect_within_request(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        request_timeout = info.data.get("request_timeout")
        if request_timeout is not None and value > request_timeout:
            raise ValueError("connect_timeout must not be more than request_timeout")
        return value

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
        return init_settings, _EnvironSource(settings_cls, os.environ)


def _check_base_url(value: str) -> str:
    """The URL reduced to ``scheme://host[:port]``; https unless the host is loopback."""
    shape = "must be scheme, host and optional port only, like https://api.harmony.compago.com"
    if _UNPRINTABLE.search(value) or "?" in value or "#" in value:
        raise ValueError(shape)
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(shape) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or parts.path not in ("", "/"):
        raise ValueError(shape)
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials: the API key goes in HARMONY_API_KEY")
    if not _is_ip(host) and not _HOSTNAME.fullmatch(host):
        raise ValueError(shape)
    if scheme == "http" and not _is_loopback(host):
        raise ValueError("must use https (http only to loopback: 127.0.0.0/8, ::1, localhost)")
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}" + (f":{port}" if port is not None else "")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host.rstrip(".") == "localhost":
        return True
    return _is_ip(host) and ipaddress.ip_address(host).is_loopback


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        section = _section_model(field)
        if section is None:
            yield (*prefix, name)
        else:
            yield from _leaf_paths(section, (*prefix, name))


def _section_model(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


ENV_VARS: Mapping[str, str] = MappingProxyType(
    {
        ".".join(path): {"api_key": API_KEY_ENV, "base_url": "HARMONY_BASE_URL"}.get(
            ".".join(path), _ENV_PREFIX + "__".join(path).upper()
        )
        for path in _leaf_paths(Settings)
    }
)
"""Field path (``policies.expiring_within``) -> environment variable, in field order."""

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
    }
)
"""``load_settings`` keyword (the flag without ``--``, dashes as underscores) -> field path."""

_Origin = Literal["flag", "env", "file", "default"]
_FLAG_NAMES = {path: "--" + name.replace("_", "-") for name, path in FLAG_FIELDS.items()}
_FILE_PATH_FIELDS = (("report",), ("policies", "manifest"), ("policies", "exclude"))


def _set(data: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def _get(data: object, path: tuple[str | int, ...]) -> tuple[bool, object]:
    for key in path:
        in_table = isinstance(data, Mapping) and key in data
        in_array = isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data)
        if not (in_table or in_array):
            return False, None
        data = data[key]  # type: ignore[index]
    return True, data


class _EnvironSource(PydanticBaseSettingsSource):
    """The variables of ``ENV_VARS``, nested; an unknown ``SWEEPER_*`` variable is an error.

    Hand-written instead of pydantic-settings' env source: that one takes one prefix for all
    fields and ignores misspelt variables, and a silently ignored
    ``SWEEPER_MAX_CANCELATIONS`` is a real hazard for an irreversible job.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ reads the whole table at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        known = set(ENV_VARS.values())
        unknown = sorted(n for n in self._environ if n.startswith(_ENV_PREFIX) and n not in known)
        if unknown:
            problems = (f"{n}: {_unknown('variable', n, known, _ENV_PREFIX)}" for n in unknown)
            raise ConfigError("\n".join(problems))
        data: dict[str, Any] = {}
        for dotted, name in ENV_VARS.items():
            value = self._environ.get(name, "")
            if value == "":  # set but empty counts as unset, as in most container tooling
                continue
            # Wrapped at once so that no dict of raw values ever holds the key in clear text.
            _set(data, tuple(dotted.split(".")), SecretStr(value) if name == API_KEY_ENV else value)
        return data


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
        if "api_key" in data:
            raise ConfigError(
                f"{self._path}: api_key: the API key is read only from the {API_KEY_ENV} "
                "environment variable; remove it from the file"
            )
        for path in _FILE_PATH_FIELDS:
            found, value = _get(data, path)
            if found and isinstance(value, str) and value.strip():
                _set(data, path, str(self._path.parent / value))  # absolute values stay as given
        return data


def load_settings(
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Build the run's settings: flags over the environment over the file over defaults.

    ``flags`` are keyed as in ``FLAG_FIELDS`` (flat: ``expiring_within=`` fills
    ``policies.expiring_within``), a value of None meaning the flag was not given. They take
    the same forms as the file and the environment ("30m", "auto", ISO-8601 text) or typed
    values. ``environ`` defaults to ``os.environ``. Raises ``ConfigError`` naming each bad
    input, one per line, without its value; an unknown flag name is a ``TypeError``.
    """
    flag_values: dict[str, Any] = {}
    for name, value in flags.items():
        if name not in FLAG_FIELDS:
            raise TypeError(f"load_settings() got an unknown flag {name!r}")
        if value is not None:
            _set(flag_values, tuple(FLAG_FIELDS[name].split(".")), value)
    sources: list[tuple[_Origin, PydanticBaseSettingsSource]] = [
        ("flag", InitSettingsSource(Settings, flag_values)),
        ("env", _EnvironSource(Settings, os.environ if environ is None else environ)),
    ]
    if config_file is not None:
        sources.append(("file", _TomlFileSource(Settings, config_file)))
    layers = [(origin, source()) for origin, source in sources]
    try:
        return Settings(_build_sources=(tuple(source for _, source in sources), {}))
    except ValidationError as exc:
        message = "\n".join(
            dict.fromkeys(
                _explain(error, layers, config_file) for error in exc.errors(include_input=False)
            )
        )
    # Raised outside the except block so that no __context__ holds pydantic's error, whose
    # text would include the rejected values.
    raise ConfigError(message)


# pydantic's wording where it speaks of Python rather than of the configuration.
_PROBLEMS = {
    "timezone_aware": "needs a timezone, like 2026-01-31T00:00:00Z or 2026-01-31T00:00:00-06:00",
    "path_type": "must be a file path",
    "model_type": "must be a table (a [section])",
}


def _explain(
    error: ErrorDetails, layers: list[tuple[_Origin, dict[str, Any]]], config_file: Path | None
) -> str:
    """``<input>: <problem>`` for one pydantic error, the input being the layer that set it."""
    loc = error["loc"]
    if error["type"] == "extra_forbidden":
        problem = _unknown("key", str(loc[-1]), _known_keys(loc[:-1]))
    elif error["type"] == "value_error":
        problem = str(error["ctx"]["error"])
    elif error["type"] in _PROBLEMS:
        problem = _PROBLEMS[error["type"]]
    else:
        problem = error["msg"][:1].lower() + error["msg"][1:]
    if loc == ("api_key",) and error["type"] == "missing":
        return f"{API_KEY_ENV}: not set; export the API key in this environment variable"
    # The layer that set the value, or the deepest part of it: a default that fails a
    # cross-field check is blamed on the layer that set its section or its counterpart.
    for length in range(len(loc), 0, -1):
        for origin, data in layers:
            if _get(data, loc[:length])[0]:
                return f"{_describe(origin, loc, config_file)}: {problem}"
    return f"{_describe('default', loc, config_file)}: {problem}"


def _describe(origin: _Origin, loc: tuple[str | int, ...], config_file: Path | None) -> str:
    dotted = ".".join(str(key) for key in loc)
    key_path = " -> ".join(str(key) for key in loc)
    if origin == "flag":
        return _FLAG_NAMES.get(dotted, "flags")
    if origin == "env":
        return ENV_VARS.get(dotted, "environment")
    return f"{config_file}: {key_path}" if origin == "file" else key_path


def _known_keys(loc: tuple[str | int, ...]) -> set[str]:
    model: type[BaseModel] | None = Settings
    for key in loc:
        field = model.model_fields.get(str(key)) if model is not None else None
        model = _section_model(field) if field is not None else None
    return set(model.model_fields) - {"api_key"} if model is not None else set()


def _unknown(kind: str, name: str, known: set[str], prefix: str = "") -> str:
    """``unknown <kind>``, with the closest known name; a shared prefix is not a likeness."""
    stems = sorted(k.removeprefix(prefix) for k in known)
    close = difflib.get_close_matches(name.removeprefix(prefix), stems, n=1)
    return f"unknown {kind}" + (f" (did you mean {prefix}{close[0]}?)" if close else "")
