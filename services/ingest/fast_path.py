"""An ASGI middleware that hands `POST /webhooks/woocommerce/{tenant}` straight to the receiver,
before FastAPI's router and exception wrappers (docs/benchmarks.md: FastAPI's per-request
cost is about twice Starlette's, and this is the one hot path). Every other request goes on to FastAPI.
A trailing slash is accepted rather than redirected: WooCommerce does not follow redirects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["WEBHOOK_PREFIX", "WebhookFastPath"]

WEBHOOK_PREFIX = "/webhooks/woocommerce/"
Endpoint = Callable[[Request], Awaitable[Response]]


class WebhookFastPath:
    def __init__(self, app: ASGIApp, endpoint: Endpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].startswith(WEBHOOK_PREFIX):
            tenant = scope["path"][len(WEBHOOK_PREFIX):]
            tenant = tenant[:-1] if tenant.endswith("/") else tenant
            if tenant and "/" not in tenant:
                scope["path_params"] = {"tenant": tenant}
                response = await self.endpoint(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
