"""The run's policies, built from settings: which ``jobs`` policies, scope and exclusions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from jobs.created_before import CreatedBefore
from jobs.duplicates import Duplicates
from jobs.errors import PolicyInputError
from jobs.expiring import ExpiringWithin
from jobs.manifest import Exclusions, Manifest, load_exclusions, load_manifest
from jobs.policy import Policy
from jobs.scope import Scope
from worker.errors import ConfigError
from worker.settings import Settings
from worker.settings.durations import format_duration


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Everything that decides what a run may cancel, validated before any request."""

    policies: tuple[Policy, ...]
    scope: Scope
    exclusions: Exclusions
    manifest: Manifest | None = None
    # ``paid_siblings`` on: how far back each pass reads CONFIRMED links (the policy itself
    # is made per pass from that read, ``worker.sweep.plan``); None when off.
    paid_lookback: timedelta | None = None

    @property
    def needs_scan(self) -> bool:
        """False for a manifest of ids alone: those links are fetched one by one instead."""
        only_manifest = (
            self.manifest is not None
            and self.policies == (self.manifest,)
            and self.paid_lookback is None
        )
        return not (only_manifest and self.manifest is not None and self.manifest.ids_only)

    @property
    def horizon_safe(self) -> bool:
        """Whether every policy selects only unexpired links (no manifest): a scan may stop
        at the lifetime horizon and plan the same."""
        return self.manifest is None and all(policy.horizon_safe for policy in self.policies)

    @property
    def manifest_ids(self) -> tuple[str, ...]:
        """The manifest's ids, sorted (empty without a manifest)."""
        return tuple(sorted(self.manifest.ids)) if self.manifest is not None else ()

    def describe(self) -> dict[str, object]:
        """The report's ``policies`` object: each policy's parameters, scope, exclusions."""
        described: dict[str, object] = {}
        for policy in self.policies:
            described.update(policy.describe())
        if self.paid_lookback is not None:
            described["paid_sibling"] = {"lookback": format_duration(self.paid_lookback)}
        described.update(self.scope.describe())
        described.update(self.exclusions.describe())
        return described


def policies_from_settings(settings: Settings) -> PolicySet:
    """Build the policy set; manifest and exclude files are read and validated here."""
    chosen = settings.policies
    policies: list[Policy] = []
    if chosen.expiring_within is not None:
        policies.append(ExpiringWithin(chosen.expiring_within))
    if chosen.duplicates:
        policies.append(Duplicates())
    if chosen.created_before is not None:
        policies.append(CreatedBefore(chosen.created_before))
    manifest: Manifest | None = None
    try:
        if chosen.manifest is not None:
            manifest = load_manifest(chosen.manifest)
            policies.append(manifest)
        exclusions = load_exclusions(chosen.exclude) if chosen.exclude is not None else Exclusions()
    except PolicyInputError as exc:
        raise ConfigError(str(exc)) from exc
    paid_lookback = chosen.paid_lookback if chosen.paid_siblings else None
    if not policies and paid_lookback is None:
        raise ConfigError(
            "no policy selected: give at least one of --expiring-within, --duplicates, "
            "--created-before, --paid-siblings or --manifest (or set them under [policies] "
            "in the config file)"
        )
    scope = Scope(
        currencies=settings.scope.currencies, created_before=settings.scope.created_before
    )
    return PolicySet(
        policies=tuple(policies),
        scope=scope,
        exclusions=exclusions,
        manifest=manifest,
        paid_lookback=paid_lookback,
    )
