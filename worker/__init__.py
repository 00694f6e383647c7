"""harmony-sweeper's engine: settings, client, scan, plan, guard, execute, report.

The Python API for teams that embed it: build ``Settings`` (``load_settings``), the
policies (``policies_from_settings``), and ``await sweep(settings, policies)`` for the
``Report``. Nothing here exits, prints or prompts.
"""

from __future__ import annotations

from worker.__about__ import __version__
from worker.errors import (
    AlreadyRunning,
    ApiError,
    AuthError,
    ConfigError,
    MalformedResponse,
    SafetyAbort,
    SweeperError,
    TransientApiError,
)
from worker.outcomes import Abort, Outcome
from worker.report import Report, ReportItem, Summary, write_report
from worker.settings import Settings, load_settings
from worker.sweep import sweep
from worker.sweep.policies import PolicySet, policies_from_settings

__all__ = [
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
]
