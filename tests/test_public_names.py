"""Every package's public names, pinned: a name joins or leaves a face on purpose.

As anyio's tests/test_all_attributes.py and httpx's tests/test_exported_members.py do: each
package's ``__init__`` re-exports a sorted ``__all__`` (ruff's RUF022 order), and holds no
public name it does not list. A change here is a change to what embedding code may use.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types

import pytest

import worker

# Lists in the order of ``__all__`` (ruff's RUF022 isort-style order), package by package.
PUBLIC_NAMES: dict[str, list[str]] = {
    "worker": [
        "Abort",
        "AlreadyRunning",
        "ApiError",
        "AuthError",
        "ConfigError",
        "MalformedResponse",
        "Outcome",
        "PolicySet",
        "Report",
        "ReportItem",
        "SafetyAbort",
        "Settings",
        "Summary",
        "SweeperError",
        "TransientApiError",
        "__version__",
        "load_settings",
        "policies_from_settings",
        "sweep",
        "write_report",
    ],
    "worker.api": [
        "PAGE_SIZE_MAX",
        "CancelAnswer",
        "HarmonyClient",
        "Pace",
        "PaceStats",
        "Page",
        "RateLimitHint",
        "RetryPolicy",
        "RetryQuota",
        "TooLate",
        "canonical_uuid",
        "parse_link",
        "parse_page",
        "parse_rate_limit",
        "retry_after_seconds",
        "utc_now",
        "with_retries",
    ],
    "worker.cli": [
        "cli",
        "main",
    ],
    "worker.ops": [
        "AuditLog",
        "check_local_paths",
        "configure_logging",
        "exclusive_lock",
        "gateway_origin",
        "push_metrics",
        "run_until_signalled",
    ],
    "worker.probe": [
        "DEFAULT_MAX_REQUESTS",
        "PROBE_RATE",
        "Evidence",
        "Level",
        "ProbeResult",
        "Verdict",
        "probe",
    ],
    "worker.report": [
        "ITEM_KEYS",
        "PAYMENT_EVENT_KEYS",
        "SUMMARY_KEYS",
        "Mode",
        "OrgReport",
        "Report",
        "ReportFormat",
        "ReportItem",
        "ReportWriter",
        "RunStats",
        "Summary",
        "decimal_text",
        "fallback_directories",
        "item_for",
        "organizations_json",
        "organizations_renderer",
        "payment_fields",
        "report_format",
        "report_renderer",
        "unknown_link_item",
        "utc_text",
        "write_atomically",
        "write_fallback",
        "write_organizations_report",
        "write_report",
    ],
    "worker.settings": [
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
    ],
    "worker.sweep": [
        "Confirm",
        "NoObserver",
        "OrgSweep",
        "PlanContext",
        "PolicySet",
        "ScanIncomplete",
        "ScannedIds",
        "SweepObserver",
        "policies_from_settings",
        "sweep",
        "sweep_organizations",
    ],
}


def _packages() -> list[str]:
    found = [info.name for info in pkgutil.walk_packages(worker.__path__, "worker.") if info.ispkg]
    return sorted(["worker", *found])


def test_every_package_has_its_names_pinned() -> None:
    assert sorted(PUBLIC_NAMES) == _packages()


@pytest.mark.parametrize(("package", "names"), sorted(PUBLIC_NAMES.items()))
def test_face_exports_the_pinned_names(package: str, names: list[str]) -> None:
    module = importlib.import_module(package)
    assert list(module.__all__) == names
    missing = [name for name in names if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("package", sorted(PUBLIC_NAMES))
def test_face_lists_every_public_name_it_holds(package: str) -> None:
    """httpx's rule: nothing public in the namespace that ``__all__`` leaves out."""
    module = importlib.import_module(package)
    held = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)  # its submodules, set by the import system
        and name != "annotations"  # from __future__ import annotations
    }
    assert held == {name for name in module.__all__ if not name.startswith("_")}


@pytest.mark.parametrize("package", sorted(PUBLIC_NAMES))
def test_face_exports_only_its_own_classes_and_functions(package: str) -> None:
    """anyio's rule: what a face hands out is defined in that package, not borrowed."""
    module = importlib.import_module(package)
    borrowed = [
        f"{name} ({value.__module__})"
        for name in module.__all__
        if (inspect.isclass(value := getattr(module, name)) or inspect.isfunction(value))
        and not (value.__module__ + ".").startswith(package + ".")
    ]
    assert borrowed == []
