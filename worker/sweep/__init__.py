"""The run: scan, plan by policy, guard, execute; one organization or several.

``sweep`` is the core coroutine (``_run``); ``gather`` (over ``scan``), ``plan`` (by
``policies``), ``guard`` and ``execute`` are its stages, ``organizations`` runs several
sweeps side by side.
"""

from __future__ import annotations

from worker.sweep._observer import NoObserver, PlanContext, SweepObserver
from worker.sweep._run import sweep
from worker.sweep.guard import Confirm
from worker.sweep.organizations import OrgSweep, sweep_organizations
from worker.sweep.policies import PolicySet, policies_from_settings
from worker.sweep.scan import ScanIncomplete
from worker.sweep.scanned import ScannedIds

__all__ = [
    "Confirm",
    "NoObserver",
    "OrgSweep",
    "PlanContext",
    "PolicySet",
    "ScanIncomplete",
    "ScannedIds",
    "SweepObserver",
    "policies_from_settings",
    "sweep",
    "sweep_organizations",
]
