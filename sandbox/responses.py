"""Response helpers: NestJS-style error bodies, and dropping a connection on purpose."""

from __future__ import annotations

import socket
import struct
from http import HTTPStatus

from aiohttp import web


class DroppedResponse(web.Response):
    """Returned by a handler after it reset the connection; nothing is ever written."""


def error(status: int, message: str | list[str]) -> web.Response:
    """`{"statusCode", "message", "error"}`; validation failures give `message` as a list."""
    body = {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}
    return web.json_response(body, status=status)


def bad_gateway() -> web.Response:
    """A 502 as a gateway writes it: HTML, not the API's JSON, so clients must not assume JSON."""
    html = (
        "<html><head><title>502 Bad Gateway</title></head>"
        "<body><center><h1>502 Bad Gateway</h1></center></body></html>"
    )
    return web.Response(status=502, text=html, content_type="text/html")


def drop_connection(request: web.Request) -> DroppedResponse:
    """Reset the client's connection (TCP RST, not a clean close) and return a placeholder."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0 makes close() send RST: the client sees "connection reset by peer".
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return DroppedResponse()
