"""The sandbox's pure parts: the positional index, time text, knobs."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.clock import parse_iso, to_iso
from sandbox.index import PositionalIndex, id_of, sort_key
from sandbox.knobs import KnobError, Knobs
from sandbox.shapes import FULL_SQL, number_text

_MS = st.integers(min_value=0, max_value=253402300799999)  # 1970 .. 9999


@given(st.uuids(), st.uuids(), _MS, _MS)
def test_sort_key_orders_like_created_at_then_id_text(
    a: uuid.UUID, b: uuid.UUID, ms_a: int, ms_b: int
) -> None:
    assert id_of(sort_key(ms_a, str(a))) == str(a)
    assert (sort_key(ms_a, str(a)) < sort_key(ms_b, str(b))) == ((ms_a, str(a)) < (ms_b, str(b)))


def test_index_pages_newest_first_and_moves_between_statuses() -> None:
    rng = random.Random(3)  # noqa: S311 - reproducible test data
    links = [(rng.randrange(10), str(uuid.UUID(int=rng.getrandbits(128)))) for _ in range(50)]
    index = PositionalIndex()
    index.add_many((1, "PENDING", "MXN", sort_key(ms, link_id)) for ms, link_id in links)
    expected = [link_id for _, link_id in sorted(links, reverse=True)]
    assert index.page(1, None, None, 0, 50) == expected
    assert index.page(1, None, None, 45, 10) == expected[45:]
    assert index.page(1, None, None, 50, 10) == []
    assert index.page(2, None, None, 0, 10) == []
    ms, moved = links[7]
    index.move(1, "MXN", sort_key(ms, moved), "PENDING", "CANCELLED")
    assert index.page(1, "CANCELLED", "MXN", 0, 10) == [moved]
    assert moved not in index.page(1, "PENDING", None, 0, 50)
    assert (index.count(1), index.count(1, "PENDING"), index.count(1, None, "MXN")) == (50, 49, 50)


@given(_MS)
def test_sqlite_and_python_write_the_same_timestamps(ms: int) -> None:
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (created_ms INTEGER)")
        db.execute("INSERT INTO t VALUES (?)", (ms,))
        column_sql = FULL_SQL.split("'createdAt', ", 1)[1].split(", 'updatedAt'", 1)[0]
        (written,) = db.execute(f"SELECT {column_sql} FROM t").fetchone()  # noqa: S608
    assert written == to_iso(ms)
    assert parse_iso(written) == ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2026-01-09T10:30:00Z", 1767954600000),
        ("2026-01-09T04:30:00-06:00", 1767954600000),
        ("2026-01-09T10:30:00.5Z", 1767954600500),
    ],
)
def test_parse_iso(text: str, ms: int) -> None:
    assert parse_iso(text) == ms


def test_parse_iso_needs_a_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse_iso("2026-01-09T10:30:00")


@pytest.mark.parametrize(
    ("given_text", "canonical"),
    [("100", "100"), ("100.00", "100"), ("12.50", "12.5"), ("1E+3", "1000"), ("0.05", "0.05")],
)
def test_number_text_is_canonical(given_text: str, canonical: str) -> None:
    assert number_text(Decimal(given_text)) == canonical


def test_knobs_replace_checks_names_and_values() -> None:
    knobs = Knobs().replace({"rate_limit": 5, "fault_rate": 1})
    assert (knobs.rate_limit, knobs.fault_rate) == (5, 1.0)
    with pytest.raises(KnobError, match="unknown knob"):
        knobs.replace({"fault-rate": 0.1})
    with pytest.raises(KnobError, match="between 0 and 1"):
        knobs.replace({"race_rate": 2})
    assert Knobs().as_dict()["rate_window_s"] == 1.0
