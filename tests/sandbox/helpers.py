"""Helpers for the sandbox's own tests: a tiny HTTP client for its /api, and test data."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import aiohttp

PAYMENTS = "/api/one-time-payment"
_SAME_KEY = object()


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """Status, headers and parsed body of one answer."""

    status: int
    headers: Mapping[str, str]
    body: Any


class Api:
    """The sandbox's /api over a real loopback socket, with the first organization's key."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str) -> None:
        self.session = session
        self.base_url = base_url
        self.api_key = api_key

    async def request(
        self,
        method: str,
        path: str,
        *,
        key: object = _SAME_KEY,
        params: Mapping[str, str] | None = None,
        json: object = None,
    ) -> Reply:
        """Send one request; `key=None` sends no x-api-key header."""
        headers = {}
        api_key = self.api_key if key is _SAME_KEY else key
        if api_key is not None:
            headers["x-api-key"] = str(api_key)
        async with self.session.request(
            method, self.base_url + path, headers=headers, params=params, json=json
        ) as response:
            if response.content_type == "application/json":
                body = await response.json()
            else:
                body = await response.text()  # a gateway's HTML, say
            return Reply(response.status, response.headers, body)

    async def list(self, *, key: object = _SAME_KEY, **params: object) -> Reply:
        """`GET /api/one-time-payment` with these query parameters."""
        query = {name: str(value) for name, value in params.items()}
        return await self.request("GET", PAYMENTS, key=key, params=query)

    async def get(self, link_id: str, *, key: object = _SAME_KEY) -> Reply:
        """`GET /api/one-time-payment/{id}`."""
        return await self.request("GET", f"{PAYMENTS}/{link_id}", key=key)

    async def create(self, body: object, *, key: object = _SAME_KEY) -> Reply:
        """`POST /api/one-time-payment`."""
        return await self.request("POST", PAYMENTS, key=key, json=body)

    async def cancel(self, link_id: str, *, key: object = _SAME_KEY) -> Reply:
        """`PATCH /api/one-time-payment/{id}/cancel`."""
        return await self.request("PATCH", f"{PAYMENTS}/{link_id}/cancel", key=key)


def iso(moment: dt.datetime) -> str:
    """`2026-01-09T10:30:00Z` form of an aware datetime."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> dt.datetime:
    """An aware datetime from the API's ISO-8601 text."""
    return dt.datetime.fromisoformat(text)


def create_body(**changes: Any) -> dict[str, Any]:
    """A valid create request, with `changes` applied (None removes a field)."""
    body: dict[str, Any] = {
        "amount": 100,
        "currency": "MXN",
        "externalId": "order-1234",
        "description": "Pedido 1234",
        "homepageUrl": "https://tienda.example.mx/",
        "redirectUrl": "https://tienda.example.mx/gracias",
        "billingInformation": {
            "email": "ana@example.mx",
            "firstName": "Ana",
            "lastName": "López Díaz",
            "phoneNumber": "+525512345678",
            "address": {
                "addressLine": "Calle Hidalgo 12",
                "city": "Puebla",
                "state": "Puebla",
                "zip": "72000",
            },
        },
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}
