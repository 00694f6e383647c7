"""Shared set-up for the sweep's end-to-end tests: settings aimed at a sandbox, and links."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.testing import SandboxServer
from worker.report import Report
from worker.settings import Settings, load_settings
from worker.sweep import sweep
from worker.sweep.policies import PolicySet, policies_from_settings

# Fast retries: the tests exercise the retry paths, not the waiting.
FAST_RETRIES = {
    "SWEEPER_RETRY__INITIAL": "5ms",
    "SWEEPER_RETRY__MAXIMUM": "20ms",
    "SWEEPER_GRACE_PERIOD": "5s",
}


def environ_for(server: SandboxServer, *, api_key: str | None = None) -> dict[str, str]:
    """The environment a run against ``server`` needs."""
    return {
        "HARMONY_API_KEY": api_key if api_key is not None else server.api_key,
        "HARMONY_BASE_URL": server.base_url,
        **FAST_RETRIES,
    }


def settings_for(
    server: SandboxServer,
    *,
    api_key: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Settings for a run against ``server``; ``flags`` as the CLI would pass them."""
    flags.setdefault("rate", "500")
    environ = {**environ_for(server, api_key=api_key), **(extra_env or {})}
    return load_settings(environ=environ, **flags)


async def run_sweep(settings: Settings, policies: PolicySet | None = None) -> Report:
    """One sweep through the Python API."""
    return await sweep(settings, policies or policies_from_settings(settings))


def iso(moment: datetime) -> str:
    """The API's timestamp form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def link(
    *,
    expires_in: timedelta = timedelta(hours=40),
    created_ago: timedelta = timedelta(hours=1),
    external_id: str | None = None,
    status: str = "PENDING",
    link_id: str | None = None,
    amount: str = "150.00",
) -> dict[str, Any]:
    """A link for ``SandboxAdmin.add_links``, timed relative to now."""
    now = datetime.now(UTC)
    return {
        "id": link_id or str(uuid.uuid4()),
        "status": status,
        "externalId": external_id,
        "amount": amount,
        "currency": "MXN",
        "createdAt": iso(now - created_ago),
        "expiresAt": iso(now + expires_in),
    }


def by_id(report: Report) -> dict[str, Any]:
    """The report's items keyed by link id."""
    return {item.id: item for item in report.items}


async def statuses(server: SandboxServer) -> dict[str, str]:
    """Every link of the first organization, id -> status, as the server holds it."""
    return {row["id"]: row["status"] for row in await server.admin.links()}


def patches(counters: Mapping[str, Any]) -> int:
    """How many cancel requests the server received."""
    route = counters["requests"].get("PATCH /api/one-time-payment/{id}/cancel", {})
    return sum(route.values())
