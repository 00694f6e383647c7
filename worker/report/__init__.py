"""The run's report: the model, atomic writing, and the .json, .csv and .md writers.

``_model`` holds the records and the writing; ``writers`` how each format looks, and the
JSON contract's keys (``ITEM_KEYS``, ``SUMMARY_KEYS``); ``organizations`` the combined
report of several organizations.
"""

from __future__ import annotations

from worker.report._model import (
    Mode,
    Report,
    ReportFormat,
    ReportItem,
    RunStats,
    Summary,
    fallback_directories,
    report_format,
    report_renderer,
    write_atomically,
    write_fallback,
    write_report,
)
from worker.report.organizations import (
    OrgReport,
    organizations_json,
    organizations_renderer,
    write_organizations_report,
)
from worker.report.writers import ITEM_KEYS, SUMMARY_KEYS, ReportWriter

__all__ = [
    "ITEM_KEYS",
    "SUMMARY_KEYS",
    "Mode",
    "OrgReport",
    "Report",
    "ReportFormat",
    "ReportItem",
    "ReportWriter",
    "RunStats",
    "Summary",
    "fallback_directories",
    "organizations_json",
    "organizations_renderer",
    "report_format",
    "report_renderer",
    "write_atomically",
    "write_fallback",
    "write_organizations_report",
    "write_report",
]
