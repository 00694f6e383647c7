"""Reading Retry-After and the RateLimit-* fields; what does not parse is no advice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from worker.api._rate_headers import (
    RateLimitHint,
    parse_rate_limit,
    parse_retry_after,
    retry_after_seconds,
)

NOW = datetime(2026, 1, 9, 10, 30, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0.5", 0.5),
        ("0", 0.0),
        ("Fri, 09 Jan 2026 10:30:45 GMT", 45.0),
        ("Fri, 09 Jan 2026 10:29:00 GMT", 0.0),  # already past
        ("-5", None),
        ("nan", None),
        ("inf", None),
        ("later", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_retry_after_is_found_whatever_the_case_of_its_name() -> None:
    assert retry_after_seconds({"retry-after": "4"}) == 4.0
    assert retry_after_seconds({"RETRY-AFTER": "4"}) == 4.0
    assert retry_after_seconds({}) is None
    assert retry_after_seconds(None) is None


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        ({}, None),
        ({"Content-Type": "application/json"}, None),
        (
            {"RateLimit-Limit": "100", "RateLimit-Remaining": "42", "RateLimit-Reset": "7"},
            RateLimitHint(limit=100, window=None, remaining=42, reset=7),
        ),
        (
            {"ratelimit-limit": "100", "ratelimit-policy": "100;w=60"},
            RateLimitHint(limit=100, window=60, remaining=None, reset=None),
        ),
        (  # draft-03: the policies follow the limit; the one with the same quota applies
            {"RateLimit-Limit": "10, 50;w=60, 10;w=1"},
            RateLimitHint(limit=10, window=1, remaining=None, reset=None),
        ),
        (
            {"RateLimit-Limit": "ten", "RateLimit-Remaining": "-1"},
            RateLimitHint(limit=None, window=None, remaining=None, reset=None),
        ),
        (
            {"RateLimit-Remaining": "0", "RateLimit-Reset": "2"},
            RateLimitHint(limit=None, window=None, remaining=0, reset=2),
        ),
    ],
)
def test_ratelimit_fields(headers: dict[str, str], hint: RateLimitHint | None) -> None:
    assert parse_rate_limit(headers) == hint


@pytest.mark.parametrize(
    ("hint", "per_second"),
    [
        (RateLimitHint(limit=100, window=None, remaining=None, reset=None), 100.0),
        (RateLimitHint(limit=100, window=60, remaining=None, reset=None), 100 / 60),
        (RateLimitHint(limit=None, window=60, remaining=3, reset=1), None),
    ],
)
def test_limit_per_second(hint: RateLimitHint, per_second: float | None) -> None:
    assert hint.limit_per_second == per_second


def test_aiohttps_case_insensitive_headers_are_read_whatever_their_case() -> None:
    headers = CIMultiDictProxy(
        CIMultiDict({"ratelimit-LIMIT": "50", "RateLimit-Remaining": "3", "RATELIMIT-RESET": "2"})
    )
    hint = parse_rate_limit(headers)
    assert hint is not None
    assert (hint.limit, hint.remaining, hint.reset) == (50, 3, 2)
    assert retry_after_seconds(CIMultiDictProxy(CIMultiDict({"retry-AFTER": "7"}))) == 7
