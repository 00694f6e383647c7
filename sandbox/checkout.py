"""The hosted checkout page that a create's `redirectUrl` points at, so a demo can pay a link.

`GET /checkout/{id}` shows the link; `POST /checkout/{id}/pay` is the customer paying it,
then the browser goes to the merchant's `redirectUrl` with `id` and `externalId` added.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from aiohttp import web

from sandbox.gate import SANDBOX
from sandbox.shapes import amount_text
from sandbox.store import Transition
from sandbox.validation import canonical_uuid

_PAGE = """<!doctype html><html lang="es"><head><meta charset="utf-8">
<title>Pago {currency} {amount}</title></head><body>
<h1>{description}</h1><p>{currency} {amount} &middot; {status}</p>
<form method="post" action="/checkout/{id}/pay"><button>Pagar</button></form>
<p><a href="{homepage}">Regresar a la tienda</a></p></body></html>"""


def add_checkout_routes(app: web.Application) -> None:
    """Mount the checkout page on `app`."""
    app.router.add_get("/checkout/{id}", _page)
    app.router.add_post("/checkout/{id}/pay", _pay)


def checkout_url(request: web.Request, link_id: str) -> str:
    """The hosted checkout URL of a link, on the host the caller used."""
    return str(request.url.with_path(f"/checkout/{link_id}").with_query(None))


async def _page(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    link_id = canonical_uuid(request.match_info["id"])
    link = None if link_id is None else sandbox.store.get(link_id)
    if link is None:
        raise web.HTTPNotFound(text="Este enlace de pago no existe.")
    page = _PAGE.format(
        id=link.id,
        description=html.escape(link.description),
        currency=html.escape(link.currency),
        amount=amount_text(link.amount, as_text=link.amount_is_text),
        status=link.status,
        homepage=html.escape(link.homepage_url, quote=True),
    )
    return web.Response(text=page, content_type="text/html")


async def _pay(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    link_id = canonical_uuid(request.match_info["id"])
    outcome = Transition.NOT_FOUND if link_id is None else sandbox.pay(link_id)
    link = None if link_id is None else sandbox.store.get(link_id)
    if link is None:
        raise web.HTTPNotFound(text="Este enlace de pago no existe.")
    if outcome is not Transition.APPLIED:
        raise web.HTTPConflict(text=f"Este enlace ya no se puede pagar ({outcome.value}).")
    query = urlencode({"id": link.id, "externalId": link.external_id or ""})
    raise web.HTTPSeeOther(f"{link.redirect_url}{'&' if '?' in link.redirect_url else '?'}{query}")
