"""Talking to Harmony: the client, its records, the pace and the retries.

``client`` is the only module that imports aiohttp's client; everything above it sees
``worker.errors`` and these records. ``_aimd`` serves ``pace`` alone; ``_rate_headers``
serves ``pace`` and, through this face, the probe's verdict on rate limits.
"""

from __future__ import annotations

from worker.api._rate_headers import RateLimitHint, parse_rate_limit, retry_after_seconds
from worker.api.answers import CancelAnswer, TooLate
from worker.api.client import PAGE_SIZE_MAX, HarmonyClient
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
]
