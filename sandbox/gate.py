"""The front of `/api`, in gateway order: auth, counting, rate limit, latency, faults.

The limiter counts arrivals before the latency is added, as an edge gateway would, so a
slow sandbox does not make a client's burst look spread out.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from sandbox import counters as routes
from sandbox.knobs import Knobs
from sandbox.ratelimit import Verdict
from sandbox.records import Org
from sandbox.responses import DroppedResponse, bad_gateway, drop_connection, error
from sandbox.state import Sandbox

SANDBOX = web.AppKey("sandbox", Sandbox)
API_KEY_HEADER = "x-api-key"

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def caller(request: web.Request) -> Org:
    """The organization whose key the (already authenticated) request carries."""
    org = request.app[SANDBOX].store.org_by_key(request.headers.get(API_KEY_HEADER))
    if org is None:  # the gate let it through, but a reset during its latency removed the org
        body = '{"statusCode":401,"message":"Invalid or missing API key","error":"Unauthorized"}'
        raise web.HTTPUnauthorized(text=body, content_type="application/json")
    return org


def _route(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    if resource is None or not request.path.startswith("/api/"):
        return None
    route = f"{request.method} {resource.canonical}"
    return route if route in routes.ROUTES else None


@web.middleware
async def api_gate(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Apply auth, counters and the knobs to every /api request, then call the handler."""
    route = _route(request)
    if route is None:
        if request.path.startswith("/api/") and request.match_info.http_exception is not None:
            return error(404, f"Cannot {request.method} {request.path}")
        return await handler(request)
    sandbox = request.app[SANDBOX]
    try:
        response = await _through_gate(sandbox, route, request, handler)
    except web.HTTPException as exc:
        sandbox.counters.request(route, exc.status)
        raise
    outcome = routes.RESET if isinstance(response, DroppedResponse) else response.status
    sandbox.counters.request(route, outcome)
    skew = sandbox.knobs.date_skew_s
    if skew and not isinstance(response, DroppedResponse):
        # aiohttp writes Date only when the response has none: this one is the skewed clock's.
        response.headers["Date"] = email.utils.formatdate(time.time() + skew, usegmt=True)
    return response


async def _through_gate(
    sandbox: Sandbox, route: str, request: web.Request, handler: _Handler
) -> web.StreamResponse:
    org = sandbox.store.org_by_key(request.headers.get(API_KEY_HEADER))
    if org is None:
        return error(401, "Invalid or missing API key")
    knobs = sandbox.knobs
    sandbox.peaks.arrive(org.id, knobs.rate_window_s)
    if route == routes.CANCEL:
        sandbox.counters.patch(request.match_info["id"])
    verdict = None
    if knobs.rate_limit is not None:
        verdict = sandbox.limiter.check(org.id, knobs.rate_limit, knobs.rate_window_s)
        if not verdict.allowed:
            sandbox.counters.event("rate_limited")
            refused = error(429, "Too Many Requests")
            refused.headers["Retry-After"] = str(verdict.retry_after)
            return _with_limit_headers(refused, verdict, knobs)
    delay = sandbox.latency_s()
    if delay > 0:
        await asyncio.sleep(delay)
    later = sandbox.knobs  # a test may have changed them during the latency
    faultable = later.faults_apply_to(routes.SHORT_NAMES[route])
    streak_key = f"{request.method} {request.path_qs}"
    if faultable and later.fault_streak_max is not None:
        faultable = sandbox.fault_streaks.get(streak_key, 0) < later.fault_streak_max
    if faultable and sandbox.draw(later.reset_rate):
        sandbox.counters.event("resets")
        sandbox.fault_streaks[streak_key] += 1
        return drop_connection(request)
    if faultable and sandbox.draw(later.fault_rate):
        sandbox.counters.event("faults")
        sandbox.fault_streaks[streak_key] += 1
        response: web.StreamResponse = (
            bad_gateway() if sandbox.draw(0.5) else error(503, "Service Unavailable")
        )
    else:
        sandbox.fault_streaks.pop(streak_key, None)
        response = await handler(request)
    if verdict is None or isinstance(response, DroppedResponse):
        return response
    return _with_limit_headers(response, verdict, knobs)


def _with_limit_headers(
    response: web.StreamResponse, verdict: Verdict, knobs: Knobs
) -> web.StreamResponse:
    if knobs.rate_limit_headers:
        prefix = "X-RateLimit" if knobs.rate_limit_header_names == "x-ratelimit" else "RateLimit"
        response.headers[f"{prefix}-Limit"] = str(verdict.limit)
        response.headers[f"{prefix}-Remaining"] = str(verdict.remaining)
        response.headers[f"{prefix}-Reset"] = str(verdict.retry_after if verdict.reset_s else 0)
    return response
