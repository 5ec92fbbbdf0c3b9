"""The webhook fast path takes POST /webhooks/woocommerce/{tenant}[/] and nothing else."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from services.ingest.fast_path import WebhookFastPath


def app_with_fast_path(seen: list[str]) -> FastAPI:
    async def endpoint(request: Request) -> Response:
        seen.append(request.path_params["tenant"])
        return Response(b"{}", 202, media_type="application/json")

    app = FastAPI(redirect_slashes=False)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(WebhookFastPath, endpoint=endpoint)
    return app


async def test_routes_only_webhook_posts_and_never_redirects() -> None:
    seen: list[str] = []
    transport = httpx.ASGITransport(app=app_with_fast_path(seen))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/webhooks/woocommerce/shop-a")).status_code == 202
        assert (await client.post("/webhooks/woocommerce/shop-b/")).status_code == 202
        assert (await client.post("/webhooks/woocommerce/")).status_code == 404
        assert (await client.post("/webhooks/woocommerce/a/b")).status_code == 404
        assert (await client.get("/webhooks/woocommerce/shop-a")).status_code in (404, 405)
        assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert seen == ["shop-a", "shop-b"]
