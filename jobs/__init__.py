"""The policies: which links to cancel and why. Knows nothing about HTTP."""

from __future__ import annotations

from jobs.created_before import CreatedBefore
from jobs.duplicates import Duplicates
from jobs.errors import PolicyInputError
from jobs.expiring import ExpiringWithin
from jobs.links import Link, Status
from jobs.manifest import Exclusions, Manifest, load_exclusions, load_manifest
from jobs.paid_siblings import (
    PaidLedger,
    PaidSiblings,
    PaidTwice,
    live_external_ids,
    paid_twice,
)
from jobs.plan import Decision, Plan, make_plan
from jobs.policy import Policy
from jobs.reasons import Reason
from jobs.scope import Scope

__all__ = [
    "CreatedBefore",
    "Decision",
    "Duplicates",
    "Exclusions",
    "ExpiringWithin",
    "Link",
    "Manifest",
    "PaidLedger",
    "PaidSiblings",
    "PaidTwice",
    "Plan",
    "Policy",
    "PolicyInputError",
    "Reason",
    "Scope",
    "Status",
    "live_external_ids",
    "load_exclusions",
    "load_manifest",
    "make_plan",
    "paid_twice",
]
