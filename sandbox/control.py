"""The control plane under `/_sandbox/`: what tests and demos do that no API caller can.

Guarded by the admin key in `x-admin-key`; an organization's API key gets a 401 here.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeGuard

from aiohttp import web

from sandbox import history, seed, shapes
from sandbox.clock import parse_iso, to_iso, whole_seconds
from sandbox.gate import SANDBOX
from sandbox.knobs import KnobError
from sandbox.records import PENDING, STATUSES, Org, StoredLink
from sandbox.responses import error
from sandbox.state import Sandbox
from sandbox.store import StoreError, Transition
from sandbox.validation import Invalid, canonical_uuid, parse_amount

ADMIN_KEY = web.AppKey("admin_key", str)
ADMIN_KEY_HEADER = "x-admin-key"
PREFIX = "/_sandbox"
DEFAULT_TTL_MS = 48 * 3600 * 1000
DEFAULT_BILLING: dict[str, Any] = {
    "email": "maria.hernandez@example.mx",
    "firstName": "María",
    "lastName": "Hernández López",
    "phoneNumber": "+525512345678",
    "address": {
        "addressLine": "Av. Insurgentes Sur 1602, Col. Crédito Constructor",
        "city": "Ciudad de México",
        "state": "CDMX",
        "zip": "03940",
    },
}
_LINK_FIELDS = frozenset(
    {
        "id", "status", "externalId", "amount", "currency", "createdAt", "updatedAt",
        "expiresAt", "description", "redirectUrl", "homepageUrl", "billingInformation",
    }
)  # fmt: skip
_ROUTES = {
    "GET /_sandbox/": "this index",
    "GET /_sandbox/orgs": "organizations with their API keys",
    "POST /_sandbox/orgs": "create one: {name, api_key?}",
    "GET /_sandbox/links": "admin view of links: ?org_id= | ?api_key=, &status=",
    "POST /_sandbox/links": "insert exact links: {links: [...], org_id? | api_key?}",
    "GET /_sandbox/links/{id}": "admin view of any organization's link",
    "POST /_sandbox/links/{id}/pay": "a customer pays the link: {paid, outcome, link}",
    "POST /_sandbox/seed": "seed a data set: {count, seed_random?, orgs?}",
    "POST /_sandbox/seed-history": (
        "add expired PENDING links over a year: {count, days?, seed_random?, org_id? | api_key?}"
    ),
    "GET /_sandbox/knobs": "the fault knobs",
    "PUT /_sandbox/knobs": "change some knobs: {name: value, ...}",
    "GET /_sandbox/counters": "requests by route and outcome, PATCHes per link, events",
    "POST /_sandbox/counters/reset": "counters back to zero",
    "POST /_sandbox/reset": "empty state (first organization kept), default knobs and clock",
    "GET /_sandbox/clock": "the business clock",
    "POST /_sandbox/clock/advance": "move the business clock: {seconds}",
}

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_control_routes(app: web.Application) -> None:
    """Mount the control plane on `app` (its own sub-application, its own guard)."""
    control = web.Application(middlewares=[_admin_only])
    routes = control.router
    routes.add_get("/", _index)
    routes.add_get("/orgs", _orgs)
    routes.add_post("/orgs", _create_org)
    routes.add_get("/links", _links)
    routes.add_post("/links", _add_links)
    routes.add_get("/links/{id}", _link)
    routes.add_post("/links/{id}/pay", _pay)
    routes.add_post("/seed", _seed)
    routes.add_post("/seed-history", _seed_history)
    routes.add_get("/knobs", _knobs)
    routes.add_put("/knobs", _set_knobs)
    routes.add_get("/counters", _counters)
    routes.add_post("/counters/reset", _reset_counters)
    routes.add_post("/reset", _reset)
    routes.add_get("/clock", _clock)
    routes.add_post("/clock/advance", _advance_clock)
    app.add_subapp(PREFIX, control)


@web.middleware
async def _admin_only(request: web.Request, handler: _Handler) -> web.StreamResponse:
    given = request.headers.get(ADMIN_KEY_HEADER, "").encode()
    if not hmac.compare_digest(given, request.config_dict[ADMIN_KEY].encode()):
        return error(401, f"Invalid or missing {ADMIN_KEY_HEADER}")
    try:
        return await handler(request)
    except (Invalid, KnobError, StoreError) as exc:
        problems = exc.problems if isinstance(exc, Invalid) else str(exc)
        return error(400, problems)


def _sandbox(request: web.Request) -> Sandbox:
    return request.config_dict[SANDBOX]


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = json.loads(await request.text())
    except json.JSONDecodeError:
        raise Invalid(["request body is not valid JSON"]) from None
    if not isinstance(body, dict):
        raise Invalid(["request body must be a JSON object"])
    return body


def _org_json(org: Org) -> dict[str, str]:
    return {"id": org.id, "name": org.name, "api_key": org.api_key}


def _admin_view(sandbox: Sandbox, link_json: str | None, org: Org | None = None) -> dict[str, Any]:
    """A link as GET one shows it (with `expired`), plus its `organizationId`."""
    view: dict[str, Any] = json.loads(str(link_json))
    view["expired"] = sandbox.clock.now_ms() >= parse_iso(view["expiresAt"])
    if org is None:
        link = sandbox.store.get(view["id"])
        if link is None:
            raise StoreError("the link vanished while being read")
        org = sandbox.store.org_by_no(link.org_no)
    view["organizationId"] = org.id
    return view


def _target_org(sandbox: Sandbox, params: Mapping[str, Any]) -> Org:
    """The organization named by `org_id` or `api_key`; the first one when neither is given."""
    if params.get("org_id"):
        org = sandbox.store.org_by_id(str(params["org_id"]))
    elif params.get("api_key"):
        org = sandbox.store.org_by_key(str(params["api_key"]))
    else:
        org = sandbox.store.orgs()[0]
    if org is None:
        raise Invalid(["no organization matches the given org_id or api_key"])
    return org


async def _index(request: web.Request) -> web.Response:
    return web.json_response({"routes": _ROUTES})


async def _orgs(request: web.Request) -> web.Response:
    return web.json_response([_org_json(org) for org in _sandbox(request).store.orgs()])


async def _create_org(request: web.Request) -> web.Response:
    body = await _body(request)
    name, api_key = body.get("name"), body.get("api_key") or seed.new_api_key()
    if not isinstance(name, str) or not name or not isinstance(api_key, str):
        raise Invalid(["name must be a non-empty string, api_key a string"])
    if api_key == request.config_dict[ADMIN_KEY]:
        raise Invalid(["an organization's api_key must differ from the admin key"])
    org = _sandbox(request).store.create_org(name, api_key)
    return web.json_response(_org_json(org), status=201)


async def _links(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    org = _target_org(sandbox, request.query)
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise Invalid([f"status must be one of {', '.join(STATUSES)}"])
    links = sandbox.store.iter_json(org, status)
    return web.json_response([_admin_view(sandbox, link, org) for link in links])


async def _add_links(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    org = _target_org(sandbox, body)
    given = body.get("links")
    if not isinstance(given, list):
        raise Invalid(["links must be a list of objects"])
    now_ms = whole_seconds(sandbox.clock.now_ms())
    links = [_exact_link(org, fields, now_ms, n) for n, fields in enumerate(given)]
    sandbox.store.insert_links(links)
    views = [_admin_view(sandbox, sandbox.store.link_json(link.id), org) for link in links]
    response = web.json_response(views, status=201)
    sandbox.settled()
    return response


def _exact_link(org: Org, fields: object, now_ms: int, n: int) -> StoredLink:
    """A link exactly as given, with defaults for what is missing."""
    where = f"links[{n}]"
    if not isinstance(fields, dict):
        raise Invalid([f"{where} must be an object"])
    unknown = sorted(set(fields) - _LINK_FIELDS)
    if unknown:
        raise Invalid([f"{where}: unknown field(s) {unknown}; known: {sorted(_LINK_FIELDS)}"])
    link_id = canonical_uuid(str(fields.get("id") or uuid.uuid4()))
    status = fields.get("status", PENDING)
    if link_id is None or status not in STATUSES:
        raise Invalid([f"{where}: id must be a UUID and status one of {', '.join(STATUSES)}"])
    amount = fields.get("amount", 100)
    value = parse_amount(amount)
    try:
        created_ms = _time(fields, "createdAt", now_ms)
        expires_ms = _time(fields, "expiresAt", created_ms + DEFAULT_TTL_MS)
        updated_ms = _time(fields, "updatedAt", created_ms)
    except ValueError as exc:
        raise Invalid([f"{where}: {exc}"]) from None
    return StoredLink(
        id=link_id,
        org_no=org.no,
        status=status,
        external_id=_optional_text(fields, "externalId", None, where),
        amount=amount.strip() if isinstance(amount, str) else shapes.number_text(value),
        amount_is_text=isinstance(amount, str),
        currency=str(_optional_text(fields, "currency", "MXN", where)),
        description=str(_optional_text(fields, "description", "Pedido de prueba", where)),
        redirect_url=str(
            _optional_text(fields, "redirectUrl", "https://example.mx/pago/gracias", where)
        ),
        homepage_url=str(_optional_text(fields, "homepageUrl", "https://example.mx/", where)),
        billing=fields.get("billingInformation", DEFAULT_BILLING),
        created_ms=created_ms,
        updated_ms=updated_ms,
        expires_ms=expires_ms,
    )


def _time(fields: Mapping[str, Any], name: str, default: int) -> int:
    value = fields.get(name)
    if value is None:
        return default
    if isinstance(value, str):
        return parse_iso(value)
    raise ValueError(f"{name} must be an ISO-8601 string")


def _optional_text(
    fields: Mapping[str, Any], name: str, default: str | None, where: str
) -> str | None:
    value = fields.get(name, default)
    if value is not None and not isinstance(value, str):
        raise Invalid([f"{where}: {name} must be a string"])
    return value


async def _link(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    link_id = canonical_uuid(request.match_info["id"])
    link = None if link_id is None else sandbox.store.get(link_id)
    if link is None:
        return error(404, "no link with that id")
    return web.json_response(_admin_view(sandbox, sandbox.store.link_json(link.id)))


async def _pay(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    link_id = canonical_uuid(request.match_info["id"])
    outcome = Transition.NOT_FOUND if link_id is None else sandbox.pay(link_id)
    link = None if link_id is None else sandbox.store.get(link_id)
    if outcome is Transition.NOT_FOUND or link is None:
        return error(404, "no link with that id")
    paid = outcome is Transition.APPLIED
    return web.json_response(
        {
            "paid": paid,
            "outcome": outcome.value,
            "link": _admin_view(sandbox, sandbox.store.link_json(link.id)),
        }
    )


async def _seed(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    count, seed_random, orgs = body.get("count"), body.get("seed_random", 1), body.get("orgs", 3)
    if not (_is_int(count) and _is_int(seed_random) and _is_int(orgs)):
        raise Invalid(["count, seed_random and orgs must be integers"])
    if count < 0 or orgs < 1:
        raise Invalid(["count must be >= 0 and orgs >= 1"])
    # Synchronous: the sandbox answers nothing else while it seeds (see seed.seed_store).
    summary = seed.seed_store(
        sandbox.store, count, seed_random=seed_random, orgs=orgs, now_ms=sandbox.clock.now_ms()
    )
    sandbox.settled()
    return web.json_response(summary.as_dict(), status=201)


async def _seed_history(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    org = _target_org(sandbox, body)
    count, days = body.get("count"), body.get("days", history.DEFAULT_DAYS)
    seed_random = body.get("seed_random", 1)
    if not (_is_int(count) and _is_int(days) and _is_int(seed_random)):
        raise Invalid(["count, days and seed_random must be integers"])
    if count < 0 or days * 24 <= history.DEFAULT_QUIET_HOURS:
        raise Invalid([f"count must be >= 0 and days > {history.DEFAULT_QUIET_HOURS // 24}"])
    # Synchronous, as /seed: the sandbox answers nothing else while it loads.
    added = history.seed_history(
        sandbox.store,
        org,
        count,
        now_ms=sandbox.clock.now_ms(),
        days=days,
        seed_random=seed_random,
    )
    sandbox.settled()
    return web.json_response({"created": added, "org_id": org.id}, status=201)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


async def _knobs(request: web.Request) -> web.Response:
    return web.json_response(_sandbox(request).knobs.as_dict())


async def _set_knobs(request: web.Request) -> web.Response:
    knobs = _sandbox(request).set_knobs(await _body(request))
    return web.json_response(knobs.as_dict())


async def _counters(request: web.Request) -> web.Response:
    return web.json_response(_sandbox(request).counters_snapshot())


async def _reset_counters(request: web.Request) -> web.Response:
    _sandbox(request).clear_counters()
    return web.json_response({})


async def _reset(request: web.Request) -> web.Response:
    _sandbox(request).reset()
    return web.json_response({})


async def _clock(request: web.Request) -> web.Response:
    return web.json_response(_clock_json(_sandbox(request)))


async def _advance_clock(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise Invalid(["seconds must be a number"])
    sandbox.clock.advance(float(seconds))
    return web.json_response(_clock_json(sandbox))


def _clock_json(sandbox: Sandbox) -> dict[str, Any]:
    now_ms = sandbox.clock.now_ms()
    wall = dt.datetime.now(dt.UTC).isoformat()
    return {"now": to_iso(now_ms), "offset_s": sandbox.clock.offset_s, "wall": wall}
