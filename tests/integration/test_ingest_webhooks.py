"""A signed WooCommerce delivery is published to the mapper's queue, unchanged, with its envelope;
bad deliveries get a 4xx with a JSON reason and publish nothing; a good one right after still goes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from libs.common.crypto import SecretBox
from libs.common.settings import CommonSettings
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import MAPPER, Topology
from libs.common.woo import content_digest, snapshot_id
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from services.ingest.signature import sign
from tests.fixtures import example_path
from tests.integration.broker_helpers import depth, drain, header, wait_for

SECRET = "s3cretAlphaNum1"
OTHER_SECRET = "otherShopSecret2"


def woo_headers(body: bytes, topic: str, secret: str = SECRET, delivery: str = "d-1") -> dict[str, str]:
    resource, event = topic.split(".")
    return {
        "content-type": "application/json",
        "x-wc-webhook-source": "https://shop.example/",
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-resource": resource,
        "x-wc-webhook-event": event,
        "x-wc-webhook-signature": sign(body, secret.encode()),
        "x-wc-webhook-id": "7",
        "x-wc-webhook-delivery-id": delivery,
    }


@contextlib.asynccontextmanager
async def ingest_client(settings: CommonSettings, database: Any, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
    await store.add(TenantNew(id="shop-a", shop_url="https://shop-a.example", webhook_secret=SecretStr(SECRET)))
    await store.add(TenantNew(id="shop-b", shop_url="https://shop-b.example", webhook_secret=SecretStr(OTHER_SECRET)))
    app = create_app(IngestSettings(**overrides))
    async with app.router.lifespan_context(app):
        async def connected() -> bool:
            return bool(app.state.ready())

        await wait_for(connected, what="ingest connected to RabbitMQ")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield client


@pytest.fixture
def order_body() -> bytes:
    return example_path("se-private-mixed-vat.json").read_bytes()


async def test_signed_order_lands_in_mapper_queue(
    settings: CommonSettings, topology: Topology, database: Any, order_body: bytes
) -> None:
    async with ingest_client(settings, database) as client:
        response = await client.post("/webhooks/woocommerce/shop-a", content=order_body,
                                     headers=woo_headers(order_body, "order.updated", delivery="abc123"))
        assert response.status_code == 202, response.text
        assert (await client.get("/readyz")).status_code == 200
    [message] = await drain(settings.rabbitmq_url, topology.queue(MAPPER), expect=1)
    order = json.loads(order_body)
    assert message.body == order_body
    assert message.type == "woo.order.updated"
    assert message.correlation_id == "abc123"
    assert message.message_id == snapshot_id("shop-a", "order", order["id"], order["date_modified_gmt"],
                                             content_digest(order))
    assert header(message, "x-tenant") == "shop-a"
    assert header(message, "x-schema") == 1
    assert message.delivery_mode == 2


async def test_bad_deliveries_publish_nothing_and_good_one_after_is_accepted(
    settings: CommonSettings, topology: Topology, database: Any, order_body: bytes
) -> None:
    order = json.loads(order_body)
    missing = json.dumps({k: v for k, v in order.items() if k != "line_items"}).encode()
    big = b'{"id": 1, "pad": "' + b"x" * 5000 + b'"}'
    cases: list[tuple[str, bytes, dict[str, str], int, str]] = [
        ("shop-a", order_body, {**woo_headers(order_body, "order.updated"), "x-wc-webhook-signature": "AAAA"},
         401, "bad-signature"),
        ("shop-a", order_body, woo_headers(order_body, "order.updated", secret=OTHER_SECRET), 401, "bad-signature"),
        ("nobody", order_body, woo_headers(order_body, "order.updated"), 401, "bad-signature"),
        ("shop-a", b"{not json", woo_headers(b"{not json", "order.updated"), 400, "bad-json"),
        ("shop-a", missing, woo_headers(missing, "order.updated"), 400, "invalid-body"),
        ("shop-a", order_body, woo_headers(order_body, "coupon.updated"), 400, "unknown-topic"),
        ("shop-a", big, woo_headers(big, "order.updated"), 413, "body-too-large"),
    ]
    async with ingest_client(settings, database, max_body_bytes=4096) as client:
        for tenant, body, headers, status, error in cases:
            response = await client.post(f"/webhooks/woocommerce/{tenant}", content=body, headers=headers)
            assert response.status_code == status, (error, response.text)
            assert response.json()["error"] == error
            assert response.json()["reason"]
        assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 0
        good = await client.post("/webhooks/woocommerce/shop-a", content=order_body,
                                 headers=woo_headers(order_body, "order.created"))
        assert good.status_code == 202, good.text
    [message] = await drain(settings.rabbitmq_url, topology.queue(MAPPER), expect=1)
    assert message.type == "woo.order.created"


async def test_ping_draft_and_rest_error(
    settings: CommonSettings, topology: Topology, database: Any, order_body: bytes, redis_client: Any
) -> None:
    draft = json.dumps({**json.loads(order_body), "status": "checkout-draft"}).encode()
    rest_error = json.dumps({"code": "woocommerce_rest_cannot_view", "message": "Sorry", "data": {"status": 401}})
    async with ingest_client(settings, database) as client:
        ping = await client.post("/webhooks/woocommerce/shop-a", content=b"webhook_id=7",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
        assert ping.status_code == 200
        ignored = await client.post("/webhooks/woocommerce/shop-a/", content=draft,
                                    headers=woo_headers(draft, "order.updated"))
        assert (ignored.status_code, ignored.json()["status"]) == (200, "ignored")
        polled = await client.post("/webhooks/woocommerce/shop-a", content=rest_error.encode(),
                                   headers=woo_headers(rest_error.encode(), "order.updated"))
        assert (polled.status_code, polled.json()["status"]) == (202, "poll-scheduled")
        assert await redis_client.sismember(f"{settings.redis_prefix}:backfill:wanted", "shop-a")
        again = await client.post("/webhooks/woocommerce/shop-a", content=order_body,
                                  headers=woo_headers(order_body, "order.updated"))
        replay = await client.post("/webhooks/woocommerce/shop-a", content=order_body,
                                   headers=woo_headers(order_body, "order.updated", delivery="d-2"))
        assert (again.status_code, replay.status_code, replay.json()["status"]) == (202, 200, "duplicate")
    assert len(await drain(settings.rabbitmq_url, topology.queue(MAPPER), expect=1)) == 1
    assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 0
