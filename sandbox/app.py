"""The one-time-payment API under `/api`, plus the control plane and the checkout page."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal

from aiohttp import web

from sandbox.checkout import add_checkout_routes, checkout_url
from sandbox.control import ADMIN_KEY, add_control_routes
from sandbox.gate import SANDBOX, api_gate, caller
from sandbox.responses import drop_connection, error
from sandbox.state import Sandbox
from sandbox.store import Transition
from sandbox.validation import Invalid, canonical_uuid, create_request, list_query

PAYMENTS = "/api/one-time-payment"
_REFUSED = {
    Transition.ALREADY_CANCELLED: "Payment link is already cancelled",
    Transition.ALREADY_CONFIRMED: "Payment link is already confirmed (paid)",
    Transition.EXPIRED: "Payment link has expired and cannot be cancelled",
}
_NOT_FOUND = "One-time payment not found"


def create_app(sandbox: Sandbox, *, admin_key: str) -> web.Application:
    """The aiohttp application serving `sandbox`."""
    app = web.Application(middlewares=[api_gate])
    app[SANDBOX] = sandbox
    app[ADMIN_KEY] = admin_key
    app.router.add_get(PAYMENTS, list_payments)
    app.router.add_post(PAYMENTS, create_payment)
    app.router.add_get(PAYMENTS + "/{id}", get_payment)
    app.router.add_patch(PAYMENTS + "/{id}/cancel", cancel_payment)
    add_control_routes(app)
    add_checkout_routes(app)
    app.cleanup_ctx.append(_customers)
    return app


async def _customers(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[SANDBOX].run_customers(), name="sandbox-customers")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):  # the cancellation we just asked for
        await task


async def list_payments(request: web.Request) -> web.Response:
    """`GET /api/one-time-payment`: one page of the caller's links, newest first by default."""
    sandbox, org = request.app[SANDBOX], caller(request)
    try:
        query = list_query(request.query)
    except Invalid as exc:
        return error(400, exc.problems)
    knobs = sandbox.knobs
    if knobs.page_size_max is not None and query.page_size > knobs.page_size_max:
        return error(400, [f"pageSize must not be greater than {knobs.page_size_max}"])
    served = min(query.page_size, knobs.page_size_cap or query.page_size)
    # The documented server echoes (and pages by) the effective size; a lying one echoes
    # the asked size and skips by it too, serving only the first `served` of each page.
    echoed = query.page_size if knobs.page_size_echo == "requested" else served
    offset = (query.page - 1) * echoed
    live_count: int | None = None
    if knobs.list_expired or query.status not in (None, "PENDING"):
        items = sandbox.store.page_json(
            org,
            query.status,
            query.currency,
            offset,
            served,
            order=knobs.list_order,
            rng=sandbox.list_order_rng(),
        )
    else:  # a server that hides expired PENDING links from the list, and from its count
        items, live_count = sandbox.store.live_page_json(
            org,
            query.status,
            query.currency,
            offset,
            served,
            now_ms=sandbox.clock.now_ms(),
            order=knobs.list_order,
            rng=sandbox.list_order_rng(),
        )
    if items and sandbox.draw(sandbox.knobs.malformed_rate):
        sandbox.counters.event("malformed")
        n = sandbox.pick(len(items))
        broken = json.loads(items[n])
        broken["id"] = "not-a-uuid"
        del broken["createdAt"]
        items[n] = json.dumps(broken, ensure_ascii=False)
    count = (
        sandbox.list_count(org, query.status, query.currency) if live_count is None else live_count
    )
    # The items are JSON already (rendered by SQLite): only the envelope is written here.
    envelope = (
        f'{{"count":{count},"page":{query.page},"pageSize":{echoed},"items":[{",".join(items)}]}}'
    )
    return web.Response(text=envelope, content_type="application/json")


async def get_payment(request: web.Request) -> web.Response:
    """`GET /api/one-time-payment/{id}`: the full object plus `expired`."""
    sandbox, org = request.app[SANDBOX], caller(request)
    link_id = canonical_uuid(request.match_info["id"])
    if link_id is None:
        return error(400, "Validation failed (uuid is expected)")
    link = sandbox.store.get(link_id)
    if link is None or link.org_no != org.no:
        return error(404, _NOT_FOUND)
    payment = json.loads(str(sandbox.store.link_json(link.id)))
    payment["expired"] = sandbox.clock.now_ms() >= link.expires_ms
    return web.json_response(payment)


async def create_payment(request: web.Request) -> web.Response:
    """`POST /api/one-time-payment`: 201 with `{"redirectUrl": <checkout URL>}`."""
    sandbox, org = request.app[SANDBOX], caller(request)
    try:
        body = json.loads(await request.text(), parse_float=Decimal)
    except json.JSONDecodeError:
        return error(400, "Unexpected token in JSON body")
    try:
        payment = create_request(body)
    except Invalid as exc:
        return error(400, exc.problems)
    link = sandbox.create(org, payment)
    return web.json_response({"redirectUrl": checkout_url(request, link.id)}, status=201)


async def cancel_payment(request: web.Request) -> web.StreamResponse:
    """`PATCH /api/one-time-payment/{id}/cancel`: PENDING and unexpired -> CANCELLED."""
    sandbox, org = request.app[SANDBOX], caller(request)
    link_id = canonical_uuid(request.match_info["id"])
    if link_id is None:
        return error(400, "Validation failed (uuid is expected)")
    outcome, link = sandbox.cancel(org, link_id)
    if outcome is Transition.NOT_FOUND or link is None:
        return error(404, _NOT_FOUND)
    if outcome is not Transition.APPLIED:
        return error(400, _REFUSED[outcome])
    if sandbox.draw(sandbox.knobs.ambiguous_rate):
        sandbox.counters.event("ambiguous")
        return drop_connection(request)
    cancelled = sandbox.store.link_json(link.id, cancelled_shape=True)
    return web.Response(text=cancelled, content_type="application/json")
