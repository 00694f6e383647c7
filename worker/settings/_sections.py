"""The tables of the settings: ``[policies]``, ``[scope]``, ``[retry]``, ``[safety]``,
``[logging]``, and each ``[[orgs]]`` entry.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from worker.settings._values import (
    AUTO,
    BaseUrl,
    Ceiling,
    Concurrency,
    Count,
    Currencies,
    Duration,
    EnvName,
    FilePath,
    OrgName,
    RateSetting,
    Ratio,
    Timestamp,
    usable_key,
)

__all__ = [
    "DEFAULT_EXPIRY_MARGIN",
    "DEFAULT_FAILURE_MIN",
    "DEFAULT_FAILURE_RATIO",
    "DEFAULT_HORIZON_MARGIN",
    "DEFAULT_LOG_FORMAT",
    "DEFAULT_LOG_LEVEL",
    "DEFAULT_MAX_LINK_LIFETIME",
    "DEFAULT_PAID_LOOKBACK",
    "DEFAULT_RETRY_ATTEMPTS",
    "DEFAULT_RETRY_INITIAL",
    "DEFAULT_RETRY_MAXIMUM",
    "DEFAULT_RETRY_QUOTA",
    "MAX_RETRY_ATTEMPTS",
    "LogFormat",
    "LogLevel",
    "LoggingSettings",
    "OrgSettings",
    "PolicySettings",
    "RetrySettings",
    "SafetySettings",
    "ScanSettings",
    "ScopeSettings",
]

DEFAULT_RETRY_ATTEMPTS = 5
MAX_RETRY_ATTEMPTS = 100
DEFAULT_RETRY_INITIAL = timedelta(milliseconds=200)
DEFAULT_RETRY_MAXIMUM = timedelta(seconds=10)
DEFAULT_RETRY_QUOTA = 500  # botocore's standard retry quota: 100 retries of a 5xx from full
DEFAULT_FAILURE_RATIO = 0.2
DEFAULT_FAILURE_MIN = 20
# How far back paid_siblings reads CONFIRMED links: an order paid earlier than this is not
# seen, so its live siblings are not withdrawn and its double payments not reported.
DEFAULT_PAID_LOOKBACK = timedelta(days=30)
# Latency from our check to the server, and our clock against its clock: a cancel is not sent
# once its link expires within this margin (at planning time and right before each attempt).
DEFAULT_EXPIRY_MARGIN = timedelta(seconds=5)
# The longest lifetime the docs allow (ttlMinutes 2880): no link created earlier than
# max_link_lifetime before now can be unexpired, so a newest-first scan may stop there.
DEFAULT_MAX_LINK_LIFETIME = timedelta(hours=48)
# Between our clock and the server's createdAt, and for links made while the scan reads.
DEFAULT_HORIZON_MARGIN = timedelta(hours=1)
LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]
DEFAULT_LOG_FORMAT: LogFormat = "auto"
DEFAULT_LOG_LEVEL: LogLevel = "info"


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
    paid_siblings: bool = False
    paid_lookback: Duration = DEFAULT_PAID_LOOKBACK


class ScopeSettings(_Section):
    """``[scope]``: narrows whatever the policies selected."""

    currencies: Currencies | None = None
    created_before: Timestamp | None = None


class RetrySettings(_Section):
    """``[retry]``: capped exponential backoff with full jitter, and a quota for the run."""

    attempts: Count = Field(DEFAULT_RETRY_ATTEMPTS, ge=1, le=MAX_RETRY_ATTEMPTS)
    initial: Duration = DEFAULT_RETRY_INITIAL
    maximum: Duration = DEFAULT_RETRY_MAXIMUM
    quota: Count = Field(DEFAULT_RETRY_QUOTA, ge=0)

    @field_validator("maximum")
    @classmethod
    def _maximum_not_below_initial(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        initial = info.data.get("initial")
        if initial is not None and value < initial:
            raise ValueError("retry.maximum must not be less than retry.initial")
        return value


class SafetySettings(_Section):
    """``[safety]``: the failure threshold, and how close to its expiry a link is left alone."""

    failure_ratio: Ratio = Field(DEFAULT_FAILURE_RATIO, gt=0, le=1)
    failure_min: Count = Field(DEFAULT_FAILURE_MIN, ge=1)
    expiry_margin: Duration = DEFAULT_EXPIRY_MARGIN


class LoggingSettings(_Section):
    """``[logging]``: ``auto`` is JSON lines when stderr is not a TTY, console when it is."""

    format: LogFormat = DEFAULT_LOG_FORMAT
    level: LogLevel = DEFAULT_LOG_LEVEL

    @field_validator("format", "level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class OrgSettings(_Section):
    """One ``[[orgs]]`` entry: who, where its key is, and what it sets differently.

    Only the keys it gives override the top level (``model_fields_set``), so ``rate =
    "auto"`` here overrides a fixed top-level rate. ``api_key`` is never read from the file:
    it is filled from the variable ``api_key_env`` names when the settings are built.
    """

    name: OrgName
    api_key_env: EnvName
    api_key: SecretStr | None = None
    base_url: BaseUrl | None = None
    rate: RateSetting = AUTO
    rate_ceiling: Ceiling = None
    concurrency: Concurrency = None
    max_cancellations: Count | None = Field(None, ge=0)
    policies: PolicySettings | None = None
    scope: ScopeSettings | None = None

    @field_validator("api_key")
    @classmethod
    def _key_from_its_variable(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        variable = info.data.get("api_key_env")
        if variable is None:  # not a valid variable name: that is the error to report
            return value
        name = info.data.get("name")
        whose = f"the API key of organization {name}" if name else "the organization's API key"
        if value is None or not value.get_secret_value():
            raise ValueError(f"{variable}: not set or empty; export {whose} in this variable")
        try:
            return usable_key(value)
        except ValueError as exc:
            raise ValueError(f"{variable}: {exc} ({whose})") from None


class ScanSettings(_Section):
    """``[scan]``: whether a scan may stop at the lifetime horizon, and where that lies.

    The horizon is ``now - max_link_lifetime - horizon_margin``; the scan stops there only
    while the list shows itself newest first and no link outlives ``max_link_lifetime``.
    """

    horizon: bool = True
    max_link_lifetime: Duration = DEFAULT_MAX_LINK_LIFETIME
    horizon_margin: Duration = DEFAULT_HORIZON_MARGIN

    @field_validator("max_link_lifetime")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("scan.max_link_lifetime must be a duration above zero")
        return value

    @field_validator("horizon_margin")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("scan.horizon_margin must not be negative")
        return value
