"""The run's report: the model, atomic writing, and the .json, .csv and .md writers.

Imports run one way inside the package, bottom first: ``_encoding`` (values as text) <-
``items`` (``ReportItem``, its factories, ``ITEM_KEYS``) <- ``summary`` (``Summary``,
``SUMMARY_KEYS``) <- ``report`` (``Report``, ``RunStats``); ``_atomic`` (whole files, the
fallback); ``markdown`` (the report for finance) <- ``writers`` (each format, picked by the
extension) <- ``organizations`` (the combined report of several organizations).
"""

from __future__ import annotations

from worker.report._atomic import fallback_directories, write_atomically, write_fallback
from worker.report._encoding import decimal_text, utc_text
from worker.report.items import (
    ITEM_KEYS,
    PAYMENT_EVENT_KEYS,
    ReportItem,
    item_for,
    payment_fields,
    unknown_link_item,
)
from worker.report.organizations import (
    OrgReport,
    organizations_json,
    organizations_renderer,
    write_organizations_report,
)
from worker.report.report import Mode, Report, RunStats
from worker.report.summary import SUMMARY_KEYS, Summary
from worker.report.writers import (
    ReportFormat,
    ReportWriter,
    report_format,
    report_renderer,
    write_report,
)

__all__ = [
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
]
