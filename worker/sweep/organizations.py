"""Several organizations in one run: each its own sweep and limiter.

One organization's failure never stops the others: ``sweep`` reports expected failures
(a refused key, a safety abort) in its report instead of raising. The process's exit code
is the worst of theirs (``worker.cli.exit_codes.worst``); their combined report is
``worker.report.organizations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import structlog

from worker.ops.audit import AuditLog
from worker.report import OrgReport, Report
from worker.settings import Settings
from worker.sweep._observer import SweepObserver
from worker.sweep._run import sweep
from worker.sweep.guard import Confirm
from worker.sweep.policies import PolicySet

log = structlog.get_logger("worker.sweep.organizations")

MAX_PARALLEL_ORGS = 4
"""Organizations swept at once; each has its own limiter, so they do not slow each other."""


@dataclass(frozen=True, slots=True)
class OrgSweep:
    """One organization's part of the run, validated before any request."""

    name: str
    settings: Settings
    policies: PolicySet


async def sweep_organizations(
    orgs: Sequence[OrgSweep],
    *,
    stop: anyio.Event,
    confirm: Confirm | None = None,
    observer: SweepObserver | None = None,
    audit: AuditLog | None = None,
) -> tuple[OrgReport, ...]:
    """Sweep each organization; in parallel, but one at a time when a person must confirm."""
    results: dict[str, Report] = {}
    limiter = anyio.CapacityLimiter(1 if confirm is not None else MAX_PARALLEL_ORGS)

    async def one(org: OrgSweep) -> None:
        async with limiter:
            if stop.is_set():
                return
            structlog.contextvars.bind_contextvars(organization=org.name)
            results[org.name] = await sweep(
                org.settings,
                org.policies,
                stop=stop,
                confirm=confirm,
                observer=observer,
                audit=audit,
            )

    async with anyio.create_task_group() as tg:
        for org in orgs:
            tg.start_soon(one, org)
    return tuple(OrgReport(org.name, results[org.name]) for org in orgs if org.name in results)
