"""Several organizations in one configuration: each ``[[orgs]]`` entry over the top level.

An organization inherits every top-level value it does not set. Its scalars (``base_url``,
``rate``, ``rate_ceiling``, ``concurrency``, ``max_cancellations``) replace the top-level
ones; inside ``[orgs.policies]`` and ``[orgs.scope]`` each key it gives replaces that one key
and the others are inherited, so an organization that only widens ``expiring_within``
keeps the top-level ``duplicates``. The result is a complete single-organization
``Settings``, validated like any other, that the sweep runs unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_settings import InitSettingsSource

from worker.settings._sections import OrgSettings
from worker.settings._values import Location, located_error, problem_text

if TYPE_CHECKING:
    from worker.settings._model import Settings

__all__ = ["DEFAULT_ORG_NAME", "OVERRIDES", "OrgRun", "organization_runs"]

DEFAULT_ORG_NAME = "default"
OVERRIDES = ("base_url", "rate", "rate_ceiling", "concurrency", "max_cancellations")
_SECTIONS = ("policies", "scope")
_MERGED = "(in this organization's values merged over the top-level ones)"


@dataclass(frozen=True, slots=True)
class OrgRun:
    """One organization's sweep: its name and its complete single-organization settings."""

    name: str
    settings: Settings


def organization_runs(settings: Settings) -> tuple[OrgRun, ...]:
    """A run per ``settings.orgs`` entry, in file order; a located error for bad merges.

    Each entry was valid on its own; what can still fail is a check across fields whose
    values now come from two places, like an organization's ``rate`` above the
    ``rate_ceiling`` it inherits.
    """
    runs = []
    problems: list[tuple[Location, str]] = []
    for index, org in enumerate(settings.orgs):
        try:
            runs.append(OrgRun(org.name, _merged(settings, org)))
        except ValidationError as exc:
            problems.extend(
                (("orgs", index, *error["loc"]), f"{problem_text(error)} {_MERGED}")
                for error in exc.errors(include_input=False)
            )
    if problems:
        raise located_error(problems)
    return tuple(runs)


def _merged(settings: Settings, org: OrgSettings) -> Settings:
    # A dump validates again (the key stays a SecretStr, the shard dumps as its text), so
    # the merged settings pass every validator of a freshly loaded one.
    values: dict[str, Any] = settings.model_dump(exclude={"orgs"})
    values.update(org_name=org.name, api_key=org.api_key)
    for name in OVERRIDES:
        if name in org.model_fields_set:
            values[name] = getattr(org, name)
    for name in _SECTIONS:
        section = getattr(org, name)
        if section is not None:
            values[name] |= section.model_dump(include=section.model_fields_set)
    settings_cls = type(settings)
    # Only these values: the environment was read once, when the top level was built.
    return settings_cls(_build_sources=((InitSettingsSource(settings_cls, values),), {}))
