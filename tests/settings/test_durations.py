from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.settings.durations import as_duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("250ms", timedelta(milliseconds=250)),
        ("1us", timedelta(microseconds=1)),
        ("1d2h3m4s5ms6us", timedelta(1, 2 * 3600 + 3 * 60 + 4, 5006)),
        ("90", timedelta(seconds=90)),
        ("0.25", timedelta(milliseconds=250)),
        ("  30m\n", timedelta(minutes=30)),
        ("999999999d", timedelta(days=999_999_999)),
    ],
)
def test_parses(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("0s", "greater than zero"),
        ("0", "greater than zero"),
        ("0.0000001", "greater than zero"),
        ("-5s", "greater than zero"),
        ("5x", "not a duration"),
        ("m", "not a duration"),
        ("1.5h", "not a duration"),
        ("1h 30m", "not a duration"),
        ("1H", "not a duration"),
        ("1e3", "not a duration"),
        ("nan", "not a duration"),
        ("inf", "not a duration"),
        ("\uff13\uff10m", "not a duration"),  # full-width digits
        ("\u0663\u0660", "not a duration"),  # Arabic-Indic digits
        ("30m1h", "largest to smallest"),
        ("1h1h", "largest to smallest"),
        ("1000000000d", "too large"),
        ("9" * 40 + "us", "too large"),
        ("9" * 100, "too long"),
    ],
)
def test_rejects(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        parse_duration(text)
    if len(text.strip()) > 3:  # shorter ones are bound to occur in any sentence
        # Messages describe, never echo: a secret pasted in the wrong place stays out of logs.
        assert text.strip() not in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (90, timedelta(seconds=90)),
        (0.25, timedelta(milliseconds=250)),
        ("30m", timedelta(minutes=30)),
        (timedelta(hours=1), timedelta(hours=1)),
    ],
)
def test_as_duration_accepts(value: object, expected: timedelta) -> None:
    assert as_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    [True, False, None, [], 0, -1, float("nan"), float("inf"), 10**30, timedelta(0), timedelta(-1)],
)
def test_as_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        as_duration(value)


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(minutes=30), "30m"),
        (timedelta(seconds=90), "90s"),
        (timedelta(hours=1, minutes=30), "90m"),
        (timedelta(seconds=60), "1m"),
        (timedelta(hours=36), "36h"),
        (timedelta(days=1), "1d"),
        (timedelta(hours=1, seconds=1), "1h1s"),
        (timedelta(milliseconds=250), "250ms"),
        (timedelta(milliseconds=1500), "1500ms"),
        (timedelta(microseconds=1), "1us"),
        (timedelta(0), "0s"),
    ],
)
def test_formats_shortest(td: timedelta, text: str) -> None:
    assert format_duration(td) == text


def test_format_rejects_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))


@given(st.timedeltas(min_value=timedelta(microseconds=1)))
def test_format_then_parse_round_trips(td: timedelta) -> None:
    text = format_duration(td)
    assert parse_duration(text) == td
    assert len(text) <= len(f"{td // timedelta(microseconds=1)}us")
