"""Shards: which organizations one process of several sweeps (``--shard INDEX/COUNT``).

An organization belongs to the shard ``sha256(name)[:8] mod COUNT``: a stable hash, the same
in every process, Python version and machine, so that the shards of one Indexed Job split
the organizations between them, each swept exactly once. Python's ``hash()`` is salted per
process and would not do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["Shard"]

_TEXT = re.compile(r"([0-9]+)/([0-9]+)")  # not \d: that takes any script's digits
# Far more shards than any Job runs; keeps int() away from absurd inputs.
_MAX_DIGITS = 9
_HASH_BYTES = 8
_EXPECTED = "expected INDEX/COUNT like 0/3, with 0 <= INDEX < COUNT"


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count``, numbered from 0 as Kubernetes' completion indexes are."""

    index: int
    count: int

    def __post_init__(self) -> None:
        for value in (self.index, self.count):
            # bool is an int subclass; Shard(True, 2) is a bug, not shard 1.
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError("shard index and count are whole numbers")
        if self.count < 1:
            raise ValueError(f"shard COUNT must be at least 1: {_EXPECTED}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard INDEX must be less than COUNT: {_EXPECTED}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"1/3"`` -> ``Shard(1, 3)``; ValueError describing the problem without the input."""
        match = _TEXT.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"not a shard: {_EXPECTED}")
        if any(len(part) > _MAX_DIGITS for part in match.groups()):
            raise ValueError(f"shard too large: {_EXPECTED}")
        return cls(int(match.group(1)), int(match.group(2)))

    def owns(self, name: str) -> bool:
        """Whether this shard sweeps the organization called ``name``."""
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        return int.from_bytes(digest[:_HASH_BYTES], "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
