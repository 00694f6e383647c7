"""Settings: one frozen object built from defaults, a TOML file, the environment and flags.

Precedence, highest first: flags, environment, the TOML file given with ``--config``,
defaults. An error names the input it came from: the file and key path
(``config.toml: policies -> expirng_within: unknown key``), the environment variable, or the
flag (``--rate``). Messages never repeat a value, and API keys are only ever held as
``SecretStr``: the top-level one read from ``HARMONY_API_KEY``, each ``[[orgs]]`` entry's
from the variable its ``api_key_env`` names.

Environment variables are nested with ``__`` (``SWEEPER_POLICIES__EXPIRING_WITHIN``) rather
than flattened because ``policies.created_before`` and ``scope.created_before`` would collide.
Relative paths in the file are relative to the file's directory; elsewhere, to the working
directory.

This module is the public face; the work is split by concept:

- ``worker.settings._model``: ``Settings``, ``ENV_VARS`` and ``FLAG_FIELDS``;
- ``worker.settings._sections``: its tables, ``[policies]`` to ``[scan]``, and ``[[orgs]]``;
- ``worker.settings._values``: the value types and their checks (URLs, durations, names);
- ``worker.settings._env``: the environment sources (variables, shard pair, org keys);
- ``worker.settings._orgs``: ``[[orgs]]`` merged over the top level, ``OrgRun``;
- ``worker.settings._sources``: the TOML file, ``load_settings`` and its error messages.
"""

from __future__ import annotations

from worker.settings._model import (
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_GRACE_PERIOD,
    DEFAULT_MAX_CANCELLATIONS,
    DEFAULT_METRICS_JOB,
    DEFAULT_PASSES,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_SCAN_DEADLINE,
    ENV_VARS,
    FLAG_FIELDS,
    MAX_PASSES,
    Settings,
    default_initiator,
)
from worker.settings._names import API_KEY_ENV, SHARD_COUNT_ENV, SHARD_ENV, SHARD_INDEX_ENV
from worker.settings._orgs import DEFAULT_ORG_NAME, OrgRun
from worker.settings._sections import (
    DEFAULT_EXPIRY_MARGIN,
    DEFAULT_FAILURE_MIN,
    DEFAULT_FAILURE_RATIO,
    DEFAULT_HORIZON_MARGIN,
    DEFAULT_LOG_FORMAT,
    DEFAULT_LOG_LEVEL,
    DEFAULT_MAX_LINK_LIFETIME,
    DEFAULT_RETRY_ATTEMPTS,
    DEFAULT_RETRY_INITIAL,
    DEFAULT_RETRY_MAXIMUM,
    DEFAULT_RETRY_QUOTA,
    MAX_RETRY_ATTEMPTS,
    LoggingSettings,
    OrgSettings,
    PolicySettings,
    RetrySettings,
    SafetySettings,
    ScanSettings,
    ScopeSettings,
)
from worker.settings._sources import load_settings
from worker.settings._values import AUTO, MAX_CONCURRENCY, REPORT_SUFFIXES
from worker.settings.shard import Shard

__all__ = [
    "API_KEY_ENV",
    "AUTO",
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_EXPIRY_MARGIN",
    "DEFAULT_FAILURE_MIN",
    "DEFAULT_FAILURE_RATIO",
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_HORIZON_MARGIN",
    "DEFAULT_LOG_FORMAT",
    "DEFAULT_LOG_LEVEL",
    "DEFAULT_MAX_CANCELLATIONS",
    "DEFAULT_MAX_LINK_LIFETIME",
    "DEFAULT_METRICS_JOB",
    "DEFAULT_ORG_NAME",
    "DEFAULT_PASSES",
    "DEFAULT_REQUEST_TIMEOUT",
    "DEFAULT_RETRY_ATTEMPTS",
    "DEFAULT_RETRY_INITIAL",
    "DEFAULT_RETRY_MAXIMUM",
    "DEFAULT_RETRY_QUOTA",
    "DEFAULT_SCAN_DEADLINE",
    "ENV_VARS",
    "FLAG_FIELDS",
    "MAX_CONCURRENCY",
    "MAX_PASSES",
    "MAX_RETRY_ATTEMPTS",
    "REPORT_SUFFIXES",
    "SHARD_COUNT_ENV",
    "SHARD_ENV",
    "SHARD_INDEX_ENV",
    "LoggingSettings",
    "OrgRun",
    "OrgSettings",
    "PolicySettings",
    "RetrySettings",
    "SafetySettings",
    "ScanSettings",
    "ScopeSettings",
    "Settings",
    "Shard",
    "default_initiator",
    "load_settings",
]
