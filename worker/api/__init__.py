"""Talking to Harmony: the client, its records, the pace and the retries.

``client`` is the only module that imports aiohttp's client; everything above it sees
``worker.errors`` and these records. ``_aimd`` and ``_rate_headers`` serve ``pace`` alone.
"""

from __future__ import annotations

from worker.api.client import PAGE_SIZE_MAX, CancelAnswer, HarmonyClient, TooLate
from worker.api.pace import Pace, PaceStats
from worker.api.records import Page, canonical_uuid, parse_link, parse_page, utc_now
from worker.api.retry import RetryPolicy, RetryQuota, with_retries

__all__ = [
    "PAGE_SIZE_MAX",
    "CancelAnswer",
    "HarmonyClient",
    "Pace",
    "PaceStats",
    "Page",
    "RetryPolicy",
    "RetryQuota",
    "TooLate",
    "canonical_uuid",
    "parse_link",
    "parse_page",
    "utc_now",
    "with_retries",
]
