"""Issue 16, replay past dedup: ingest in-process with the real broker and Redis. One signed body is
one event, whatever the unsigned headers say: a new X-WC-Webhook-Delivery-ID, or another event in
X-WC-Webhook-Topic, does not get it published a second time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from libs.common.settings import CommonSettings
from libs.common.topology import MAPPER, Topology
from tests.integration.broker_helpers import depth, drain
from tests.integration.test_ingest_webhooks import ingest_client, woo_headers

STAMPED = json.dumps({"id": 31, "status": "processing", "date_modified_gmt": "2026-12-01T10:00:00",
                      "line_items": []}).encode()
STAMPLESS = json.dumps({"id": 32, "status": "processing", "line_items": []}).encode()


@pytest.mark.parametrize("body", [STAMPED, STAMPLESS], ids=["stamped", "stampless"])
async def test_a_signed_body_replayed_with_forged_delivery_ids_is_published_once(
    body: bytes, settings: CommonSettings, topology: Topology, database: Any
) -> None:
    async with ingest_client(settings, database) as client:
        for delivery in ("forged-1", "forged-2", "forged-3"):
            answer = await client.post("/webhooks/woocommerce/shop-a", content=body,
                                       headers=woo_headers(body, "order.updated", delivery=delivery))
            assert answer.status_code in (200, 202), answer.text
    messages = await drain(settings.rabbitmq_url, topology.queue(MAPPER), expect=1)
    assert [m.body for m in messages] == [body]
    assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 0  # publishes are confirmed before 202


async def test_a_deletion_replayed_under_another_event_is_published_once(
    settings: CommonSettings, topology: Topology, database: Any
) -> None:
    deletion = b'{"id": 33}'
    async with ingest_client(settings, database) as client:
        for topic in ("customer.deleted", "customer.updated", "customer.created"):
            answer = await client.post("/webhooks/woocommerce/shop-a", content=deletion,
                                       headers=woo_headers(deletion, topic, delivery=f"forged-{topic}"))
            assert answer.status_code in (200, 202), answer.text
        # A signed snapshot replayed as a deletion is refused, not turned into a trashing.
        answer = await client.post("/webhooks/woocommerce/shop-a", content=STAMPED,
                                   headers=woo_headers(STAMPED, "order.deleted", delivery="forged-deleted"))
        assert answer.status_code == 400, answer.text
    messages = await drain(settings.rabbitmq_url, topology.queue(MAPPER), expect=1)
    assert [(m.type, m.body) for m in messages] == [("woo.customer.deleted", deletion)]
    assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 0
