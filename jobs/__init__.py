"""The policies: which links to cancel and why. Knows nothing about HTTP."""

from __future__ import annotations

from jobs.links import Link, Status

__all__ = ["Link", "Status"]
