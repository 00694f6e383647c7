"""A sandbox organization for the probe to look at, and settings aimed at it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.testing import SandboxServer
from worker.settings import Settings, load_settings

LIVE = 260  # PENDING, unexpired: three pages under a cap of 100
TIED = 4  # links created in the same second, in groups of this many
EXPIRED = 20  # PENDING past expiresAt, the oldest links
LIFETIME = timedelta(hours=48)


def iso(moment: datetime) -> str:
    """The API's timestamp form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def links(*, lifetime: timedelta = LIFETIME) -> list[dict[str, Any]]:
    """Live links (tied in fours, a minute apart), expired ones behind, one paid, one cancelled."""
    now = datetime.now(UTC).replace(microsecond=0)
    made: list[dict[str, Any]] = []
    for i in range(LIVE):
        created = now - timedelta(minutes=1 + i // TIED)
        made.append({"createdAt": iso(created), "expiresAt": iso(created + lifetime)})
    for i in range(EXPIRED):
        created = now - lifetime - timedelta(hours=1 + i)
        made.append({"createdAt": iso(created), "expiresAt": iso(created + lifetime)})
    for status in ("CONFIRMED", "CANCELLED"):
        created = now - timedelta(hours=3)
        made.append(
            {"status": status, "createdAt": iso(created), "expiresAt": iso(created + lifetime)}
        )
    return made


async def seed(server: SandboxServer, *, lifetime: timedelta = LIFETIME) -> None:
    """The organization of ``server.api_key``, as ``links`` makes it."""
    await server.admin.add_links(links(lifetime=lifetime))


def environ_for(server: SandboxServer, **extra: str) -> dict[str, str]:
    """The environment a probe of ``server`` needs; fast retries."""
    return {
        "HARMONY_API_KEY": server.api_key,
        "HARMONY_BASE_URL": server.base_url,
        "SWEEPER_RETRY__INITIAL": "5ms",
        "SWEEPER_RETRY__MAXIMUM": "20ms",
        **extra,
    }


def settings_for(server: SandboxServer, extra: Mapping[str, str] | None = None) -> Settings:
    """Settings as ``run`` would load them for ``server``."""
    return load_settings(environ=environ_for(server, **(extra or {})))


def only_gets(counters: Mapping[str, Any]) -> bool:
    """Whether the sandbox saw nothing but GET requests (no PATCH, no POST)."""
    requests: Mapping[str, Mapping[str, int]] = counters["requests"]
    return (
        all(not outcomes for route, outcomes in requests.items() if not route.startswith("GET "))
        and counters["patches_per_link"] == {}
    )
