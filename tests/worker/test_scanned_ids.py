"""``ScannedIds``: distinct links over a run's passes, counted exactly."""

from __future__ import annotations

import uuid

import pytest

from worker.sweep.scanned import ScannedIds


def uid(high: int, low: int) -> str:
    """A canonical UUID string from its two 64-bit halves."""
    return str(uuid.UUID(int=high << 64 | low))


@pytest.mark.parametrize("remember_last", [True, False])
def test_a_later_pass_adds_only_ids_no_earlier_pass_listed(remember_last: bool) -> None:
    # Ids sharing their first 64 bits, and ids sorting around each other, on purpose.
    first = [uid(1, 5), uid(1, 9), uid(2, 1), uid(7, 3)]
    second = [uid(1, 9), uid(1, 7), uid(7, 3), uid(0, 0)]
    third = [uid(1, 7), uid(1, 5), uid(2, 2), uid(9, 9)]
    ids = ScannedIds()

    ids.add(first, remember=True)
    assert ids.count == 4
    ids.add(second, remember=True)
    assert ids.count == 6  # uid(1, 7) and uid(0, 0) are new
    ids.add(third, remember=remember_last)
    assert ids.count == 8  # uid(2, 2) and uid(9, 9) are new


def test_a_single_pass_is_counted_without_being_kept() -> None:
    ids = ScannedIds()

    ids.add((str(uuid.uuid4()) for _ in range(1000)), remember=False)

    assert ids.count == 1000
