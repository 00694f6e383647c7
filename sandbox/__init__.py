"""A stateful local stand-in for Compago's Harmony one-time-payment API, with fault knobs.

Imports nothing from ``worker`` or ``jobs``.
"""

from __future__ import annotations

__all__: list[str] = []
