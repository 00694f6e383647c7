"""Run a sandbox inside a test's event loop, and drive its control plane over HTTP.

async with SandboxServer(seed=100) as server:
    ...  # point a client at server.base_url with server.api_key
    await server.admin.set_knobs(fault_rate=0.1)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from sandbox.control import ADMIN_KEY_HEADER
from sandbox.knobs import Knobs
from sandbox.server import RunningSandbox, SandboxConfig, start

ADMIN_TIMEOUT_S = 120.0  # generous: seeding a million links over the control plane takes a while
_SEEDED_ORGS = 3


class SandboxAdminError(Exception):
    """The control plane refused a request; `status` is its HTTP status."""

    def __init__(self, status: int, message: object) -> None:
        super().__init__(f"sandbox control plane answered {status}: {message}")
        self.status = status
        self.message = message


class SandboxServer:
    """Runs the sandbox app in the current event loop on 127.0.0.1, port 0 (free port).

    With `seed` > 0 the seeded links are split across three organizations, the first being
    the one `api_key` reaches.
    """

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        admin_key: str = "test-admin",
        knobs: Mapping[str, object] | None = None,
        seed: int = 0,
        seed_random: int = 1,
        db: str | os.PathLike[str] | None = None,
    ) -> None:
        self._config = SandboxConfig(
            host="127.0.0.1",
            port=0,
            api_key=api_key,
            admin_key=admin_key,
            knobs=Knobs().replace(knobs or {}),
            seed=seed,
            seed_random=seed_random,
            orgs=_SEEDED_ORGS if seed else 1,
            db=db,
            shutdown_timeout_s=1.0,
        )
        self._running: RunningSandbox | None = None
        self._admin: SandboxAdmin | None = None
        self.base_url = ""
        self.api_key = api_key or ""
        self.admin_key = admin_key

    @property
    def admin(self) -> SandboxAdmin:
        """The control-plane client (available once started)."""
        if self._admin is None:
            raise RuntimeError("SandboxServer is not started: use `async with`")
        return self._admin

    async def __aenter__(self) -> SandboxServer:
        running = await start(self._config)
        self._running = running
        self.base_url = running.base_url
        self.api_key = running.orgs[0].api_key
        self._admin = SandboxAdmin(self.base_url, self.admin_key)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._admin is not None:
                await self._admin.close()
        finally:
            self._admin = None
            if self._running is not None:
                running, self._running = self._running, None
                await running.stop()


class SandboxAdmin:
    """Talks to `/_sandbox/` over HTTP with header `x-admin-key`; raises `SandboxAdminError`."""

    def __init__(self, base_url: str, admin_key: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = aiohttp.ClientSession(
            headers={ADMIN_KEY_HEADER: admin_key},
            timeout=aiohttp.ClientTimeout(total=ADMIN_TIMEOUT_S),
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self._base_url}/_sandbox{path}"
        async with self._session.request(method, url, **kwargs) as response:
            body = await response.json(content_type=None)
            if response.status >= 400:
                message = body.get("message") if isinstance(body, dict) else body
                raise SandboxAdminError(response.status, message)
            return body

    @staticmethod
    def _org_params(api_key: str | None) -> dict[str, str]:
        return {} if api_key is None else {"api_key": api_key}

    async def orgs(self) -> list[dict[str, Any]]:
        """Every organization: `{"id", "name", "api_key"}`, first created first."""
        result: list[dict[str, Any]] = await self._call("GET", "/orgs")
        return result

    async def create_org(self, name: str, api_key: str | None = None) -> dict[str, Any]:
        """A new organization: `{"id", "name", "api_key"}` (a random key unless given)."""
        body = {"name": name} if api_key is None else {"name": name, "api_key": api_key}
        result: dict[str, Any] = await self._call("POST", "/orgs", json=body)
        return result

    async def add_links(
        self, links: Sequence[Mapping[str, Any]], *, api_key: str | None = None
    ) -> list[dict[str, Any]]:
        """Insert exact links into the org of `api_key` (default: the first org).

        Each mapping may give id, status, externalId (None allowed), amount (number or
        decimal string: a string is emitted as a string), currency, createdAt, updatedAt,
        expiresAt (ISO-8601), description, redirectUrl, homepageUrl, billingInformation.
        Missing ones default to a random uuid4 id, PENDING, MXN, amount 100, externalId None,
        createdAt = sandbox now, expiresAt = createdAt + 48 h. Returns the stored objects.
        """
        body = {"links": [dict(link) for link in links], **self._org_params(api_key)}
        result: list[dict[str, Any]] = await self._call("POST", "/links", json=body)
        return result

    async def seed(self, count: int, *, seed_random: int = 1, orgs: int = 3) -> dict[str, Any]:
        """Seed `count` links across the first `orgs` organizations (made when missing)."""
        body = {"count": count, "seed_random": seed_random, "orgs": orgs}
        result: dict[str, Any] = await self._call("POST", "/seed", json=body)
        return result

    async def seed_history(
        self, count: int, *, days: int = 365, seed_random: int = 1, api_key: str | None = None
    ) -> dict[str, Any]:
        """Add `count` expired PENDING links created over the last `days` (none in the last
        50 hours) to the org of `api_key` (default: the first org): an old organization."""
        body = {"count": count, "days": days, "seed_random": seed_random}
        result: dict[str, Any] = await self._call(
            "POST", "/seed-history", json={**body, **self._org_params(api_key)}
        )
        return result

    async def pay(self, link_id: str) -> bool:
        """A customer pays: True if this payment won PENDING -> CONFIRMED."""
        result = await self._call("POST", f"/links/{link_id}/pay")
        return bool(result["paid"])

    async def link(self, link_id: str) -> dict[str, Any]:
        """Admin view of any org's link: the API shape plus `expired` and `organizationId`."""
        result: dict[str, Any] = await self._call("GET", f"/links/{link_id}")
        return result

    async def links(
        self, *, api_key: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Every link of the org of `api_key` (default: the first org), in list order."""
        params = self._org_params(api_key)
        if status is not None:
            params["status"] = status
        result: list[dict[str, Any]] = await self._call("GET", "/links", params=params)
        return result

    async def knobs(self) -> dict[str, Any]:
        """The knobs in force."""
        result: dict[str, Any] = await self._call("GET", "/knobs")
        return result

    async def set_knobs(self, **knobs: Any) -> dict[str, Any]:
        """Change some knobs (all or none; an unknown one is an error); returns them all."""
        result: dict[str, Any] = await self._call("PUT", "/knobs", json=knobs)
        return result

    async def counters(self) -> dict[str, Any]:
        """Requests by route and outcome, PATCHes per link, peaks per window, events."""
        result: dict[str, Any] = await self._call("GET", "/counters")
        return result

    async def reset_counters(self) -> None:
        """Counters (and the rate limiter's history) back to zero."""
        await self._call("POST", "/counters/reset")

    async def reset(self) -> None:
        """Empty state (the first organization stays), default knobs, clock offset 0."""
        await self._call("POST", "/reset")

    async def advance_clock(self, seconds: float) -> None:
        """Move the business clock (expiry, createdAt of new links) by `seconds`."""
        await self._call("POST", "/clock/advance", json={"seconds": seconds})

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._session.close()
