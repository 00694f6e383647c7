"""harmony-sweeper's engine: settings, client, scan, plan, guard, execute, report."""

from __future__ import annotations

from worker.__about__ import __version__

__all__ = ["__version__"]
