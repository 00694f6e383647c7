"""The run's report: the model, atomic writing, and the .json, .csv and .md writers.

``_model`` holds the records and the writing; ``writers`` how each format looks, and the
JSON contract's keys (``ITEM_KEYS``, ``SUMMARY_KEYS``).
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
from worker.report.writers import ITEM_KEYS, SUMMARY_KEYS, ReportWriter

__all__ = [
    "ITEM_KEYS",
    "SUMMARY_KEYS",
    "Mode",
    "Report",
    "ReportFormat",
    "ReportItem",
    "ReportWriter",
    "RunStats",
    "Summary",
    "fallback_directories",
    "report_format",
    "report_renderer",
    "write_atomically",
    "write_fallback",
    "write_report",
]
