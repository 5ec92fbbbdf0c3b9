"""Answers of the receiver when what it depends on is away (no servers needed for these)."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from libs.common.store.tenants import Tenant
from services.ingest.signature import sign
from services.ingest.tenant_cache import TenantCache
from services.ingest.webhooks import WebhookReceiver


class DownStore:
    async def get(self, tenant_id: str) -> Tenant | None:
        raise ConnectionRefusedError("PostgreSQL is down")


class OneTenant:
    async def get(self, tenant_id: str) -> Tenant | None:
        return Tenant(id="shop", shop_url="https://shop.example", webhook_secret="secretSecret1")  # type: ignore[arg-type]


class OfflinePublisher:
    connected = False
    published: ClassVar[list[Any]] = []

    async def publish(self, envelope: Any) -> None:
        self.published.append(envelope)


def client(store: Any) -> httpx.AsyncClient:
    receiver = WebhookReceiver(tenants=TenantCache(store, 5), publisher=OfflinePublisher(),  # type: ignore[arg-type]
                               dedup=None, redis=None, redis_prefix="t", max_body_bytes=10_000)
    app = Starlette(routes=[Route("/webhooks/woocommerce/{tenant}", receiver.handle, methods=["POST"])])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_store_down_is_503_with_reason() -> None:
    async with client(DownStore()) as c:
        response = await c.post("/webhooks/woocommerce/shop", content=b"{}")
    assert response.status_code == 503
    assert response.json()["error"] == "store-unavailable"


async def test_broker_down_is_503_and_nothing_published() -> None:
    body = b'{"id": 3, "type": "simple", "date_modified_gmt": "2026-01-01T00:00:00"}'
    headers = {"x-wc-webhook-topic": "product.updated", "x-wc-webhook-signature": sign(body, b"secretSecret1")}
    async with client(OneTenant()) as c:
        response = await c.post("/webhooks/woocommerce/shop", content=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (503, "broker-unavailable")
    assert OfflinePublisher.published == []


async def test_oversized_chunked_body_is_413_without_content_length() -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 1000

    async with client(OneTenant()) as c:
        response = await c.post("/webhooks/woocommerce/shop", content=chunks())
    assert (response.status_code, response.json()["error"]) == (413, "body-too-large")
