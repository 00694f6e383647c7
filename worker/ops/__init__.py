"""Around the run: audit log, lock, metrics push, signals and logging.

What a scheduled job needs besides the sweep itself; none of it decides what is cancelled.
"""

from __future__ import annotations

from worker.ops.audit import AuditLog
from worker.ops.lock import exclusive_lock
from worker.ops.logs import configure_logging
from worker.ops.metrics import gateway_origin, push_metrics
from worker.ops.preflight import check_local_paths
from worker.ops.signals import run_until_signalled

__all__ = [
    "AuditLog",
    "check_local_paths",
    "configure_logging",
    "exclusive_lock",
    "gateway_origin",
    "push_metrics",
    "run_until_signalled",
]
