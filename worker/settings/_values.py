"""The value types of the settings: rates, counts, durations, paths, URLs, names, the key.

Each is an ``Annotated`` type whose validator raises ``ValueError`` with a message that
describes the problem and never repeats the value: pydantic turns a ``ValueError``, even for
a wrong type (hence the TRY004 waivers), into an error that names the field, while a
``TypeError`` would escape as a crash.

``located_error`` lets a check that sees several fields at once (duplicate organization
names, an organization's merged settings) blame the field it is about rather than the
whole model.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import UTC, timedelta
from pathlib import Path
from typing import Annotated, NamedTuple
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from worker.rate import AUTO, Rate, parse_rate
from worker.settings._names import ENV_PREFIX
from worker.settings.durations import as_duration
from worker.settings.shard import Shard

__all__ = [
    "AUTO",
    "LOCATED",
    "MAX_CONCURRENCY",
    "MAX_TEXT_LENGTH",
    "REPORT_SUFFIXES",
    "BaseUrl",
    "Ceiling",
    "Concurrency",
    "Count",
    "Currencies",
    "Duration",
    "EnvName",
    "FilePath",
    "Initiator",
    "LabelValue",
    "Location",
    "OrgName",
    "PushgatewayUrl",
    "RateSetting",
    "Ratio",
    "ReportPath",
    "ReportPaths",
    "ShardValue",
    "Timestamp",
    "api_environment",
    "located_error",
    "problem_text",
    "usable_key",
]

REPORT_SUFFIXES = (".json", ".csv", ".md")
MAX_CONCURRENCY = 1000
MAX_TEXT_LENGTH = 200
LOCATED = "located"
Location = tuple[str | int, ...]

_HOSTNAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_UNPRINTABLE = re.compile(r"[\s\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A Prometheus label value and a report section heading: short, plain, unambiguous.
_ORG_NAME = re.compile(r"[A-Za-z0-9._-]{1,63}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
# pydantic's wording where it speaks of Python rather than of the configuration.
_PROBLEMS = {
    "timezone_aware": "needs a timezone, like 2026-01-31T00:00:00Z or 2026-01-31T00:00:00-06:00",
    "path_type": "must be a file path",
    "model_type": "must be a table (a [section])",
    "tuple_type": "must be a list of tables ([[orgs]] entries)",
}


def located_error(problems: Sequence[tuple[Location, str]]) -> PydanticCustomError:
    """One error for several ``(location, problem)`` pairs found by a model-wide check.

    ``load_settings`` reports each pair on its own line, blaming the input that set that
    location; a direct ``Settings(...)`` shows the summary.
    """
    summary = "; ".join(" -> ".join(map(str, loc)) + f": {problem}" for loc, problem in problems)
    return PydanticCustomError(
        LOCATED, "{summary}", {"summary": summary, "problems": tuple(problems)}
    )


def problem_text(error: ErrorDetails) -> str:
    """What is wrong, in the configuration's words rather than Python's; no value in it."""
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    if error["type"] in _PROBLEMS:
        return _PROBLEMS[error["type"]]
    return error["msg"][:1].lower() + error["msg"][1:]


def usable_key(value: SecretStr) -> SecretStr:
    """The key without surrounding whitespace; ValueError when no HTTP header could carry it."""
    # Secrets mounted from files often end in a newline, which no HTTP header may carry.
    key = value.get_secret_value().strip()
    if not key:
        raise ValueError("is empty")
    if _UNPRINTABLE.search(key):
        raise ValueError("contains spaces or control characters")
    return SecretStr(key)


def _not_bool(value: object) -> object:
    # pydantic reads `true` as 1 for numbers; in a config file that is always a mistake.
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")  # noqa: TRY004
    return value


def _ceiling(value: object) -> float | None:
    """A rate's upper bound read as a rate is; ``auto`` (or None) means there is none."""
    rate = parse_rate(value)
    return None if rate == AUTO else rate


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


def _report_paths(value: object) -> tuple[Path, ...]:
    """One report path, several (a list, or text separated by commas), or none; no path twice.

    A single string keeps working (``report = "r.json"``, ``--report r.json``); the
    environment has no lists, so ``SWEEPER_REPORT=a.json,b.md`` names two.
    """
    if value is None:
        return ()
    if isinstance(value, str | Path):
        items: list[object] = [value] if isinstance(value, Path) else [*value.split(",")]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError('must be a file path, or a list of them like ["r.json", "r.md"]')  # noqa: TRY004
    paths: list[Path] = []
    for item in items:
        if not isinstance(item, str | Path) or not str(item).strip():
            raise ValueError("must be a file path, or a list of file paths")
        path = _report_path(Path(str(item).strip()) if isinstance(item, str) else item)
        if path in paths:
            # Named: the path is the user's own, not a secret, and says which entry to drop.
            raise ValueError(f"{path} is given twice: each report needs its own file")
        paths.append(path)
    return tuple(paths)


def _printable(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TEXT_LENGTH or _CONTROL.search(value):
        raise ValueError(f"must be 1 to {MAX_TEXT_LENGTH} printable characters")
    return value


def _org_name(value: str) -> str:
    if not _ORG_NAME.fullmatch(value):
        raise ValueError("must be 1 to 63 letters, digits, dots, dashes or underscores")
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "must be the name of an environment variable: capital letters, digits and "
            "underscores, like HARMONY_API_KEY_ACME"
        )
    # The environment source rejects unknown SWEEPER_* variables: this one would be one.
    if value.startswith(ENV_PREFIX):
        raise ValueError(f"must not start with {ENV_PREFIX}: those name settings")
    return value


def _as_shard(value: object) -> Shard:
    if isinstance(value, Shard):
        return value
    if not isinstance(value, str):
        raise ValueError("expected INDEX/COUNT like 0/3")  # noqa: TRY004
    return Shard.parse(value)


def _base_url(value: str) -> str:
    """The URL reduced to ``scheme://host[:port]`` (a trailing ``/api`` dropped); https unless
    the host is loopback."""
    shape = "must be scheme, host and optional port only, like https://api.harmony.compago.com"
    url = _split_url(value, shape, credentials="the API key goes in HARMONY_API_KEY")
    # "/api" is accepted and dropped: the sandbox prints its URL that way, and the API's
    # own paths all start with it (the client adds it to every request).
    if url.path not in ("", "/", "/api", "/api/"):
        raise ValueError(shape)
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ValueError("must use https (http only to loopback: 127.0.0.0/8, ::1, localhost)")
    return url.origin


def _pushgateway_url(value: str) -> str:
    """``scheme://host[:port][/path]`` without a trailing slash; http is fine anywhere.

    It carries metrics, never a secret, and an in-cluster Pushgateway rarely has TLS.
    """
    shape = (
        "must be an http or https URL with a host and an optional path, "
        "like http://pushgateway.monitoring.svc:9091"
    )
    url = _split_url(value, shape, credentials="metrics are pushed without any")
    return url.origin + url.path.rstrip("/")


class _Url(NamedTuple):
    scheme: str
    host: str
    port: int | None
    path: str

    @property
    def origin(self) -> str:
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{netloc}" + (f":{self.port}" if self.port is not None else "")


def _split_url(value: str, shape: str, *, credentials: str) -> _Url:
    """An http or https URL with a valid host, no credentials, query or fragment."""
    if _UNPRINTABLE.search(value) or "?" in value or "#" in value:
        raise ValueError(shape)
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(shape) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        raise ValueError(shape)
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"must not carry credentials: {credentials}")
    if not _is_ip(host) and not _HOSTNAME.fullmatch(host):
        raise ValueError(shape)
    return _Url(scheme, host, port, parts.path)


# The hosts ../shared/harmony-api.md names; any other is "other", said as such in reports.
_KNOWN_HOSTS = {"api.harmony.compago.com": "production", "demo.api.harmony.compago.com": "demo"}


def api_environment(base_url: str) -> str:
    """Which API a validated base URL points at: production, demo, sandbox (loopback), other."""
    host = urlsplit(base_url).hostname or ""
    if _is_loopback(host):
        return "sandbox"
    return _KNOWN_HOSTS.get(host.rstrip("."), "other")


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


Duration = Annotated[timedelta, BeforeValidator(as_duration)]
Timestamp = Annotated[AwareDatetime, AfterValidator(lambda moment: moment.astimezone(UTC))]
RateSetting = Annotated[Rate, BeforeValidator(parse_rate)]
Ceiling = Annotated[float | None, BeforeValidator(_ceiling)]
Count = Annotated[int, BeforeValidator(_not_bool)]
Ratio = Annotated[float, BeforeValidator(_not_bool)]
FilePath = Annotated[Path, AfterValidator(_path)]
ReportPath = Annotated[FilePath, AfterValidator(_report_path)]
ReportPaths = Annotated[tuple[Path, ...], BeforeValidator(_report_paths)]
Concurrency = Annotated[
    Annotated[Count, Field(ge=1, le=MAX_CONCURRENCY)] | None, BeforeValidator(_auto_to_none)
]
Currencies = Annotated[frozenset[str], BeforeValidator(_currencies)]
Initiator = Annotated[str, AfterValidator(_printable)]
LabelValue = Annotated[str, AfterValidator(_printable)]
OrgName = Annotated[str, AfterValidator(_org_name)]
EnvName = Annotated[str, AfterValidator(_env_name)]
BaseUrl = Annotated[str, AfterValidator(_base_url)]
PushgatewayUrl = Annotated[str, AfterValidator(_pushgateway_url)]
# Dumped as its text, so that a dump validates again.
ShardValue = Annotated[Shard, PlainValidator(_as_shard), PlainSerializer(str)]
