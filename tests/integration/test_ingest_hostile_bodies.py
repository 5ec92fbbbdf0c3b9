"""Issue 16: correctly signed but hostile bodies (nested 1,000 deep, NaN, Infinity, 1e999999, a
quantity of 1e30) are answered 400 with a reason at the edge, and nothing is published."""

from __future__ import annotations

from typing import Any

import pytest

from libs.common.settings import CommonSettings
from libs.common.topology import MAPPER, Topology
from tests.integration.broker_helpers import depth
from tests.integration.test_ingest_webhooks import ingest_client, woo_headers

ORDER = b'{"id": 9, "status": "processing", "date_modified_gmt": "2026-12-01T10:00:00", "total": %s,' \
        b' "line_items": [{"id": 1, "quantity": %s, "total": "10.00"}]}'
HOSTILE = {
    "nested": b'{"id": 9, "meta_data": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "nan": ORDER % (b"NaN", b"1"),
    "infinity": ORDER % (b"Infinity", b"1"),
    "huge-exponent": ORDER % (b"1e999999", b"1"),
    "huge-quantity": ORDER % (b'"10.00"', b"1e30"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_a_hostile_signed_body_is_400_and_publishes_nothing(
    name: str, settings: CommonSettings, topology: Topology, database: Any
) -> None:
    body = HOSTILE[name]
    async with ingest_client(settings, database) as client:
        answer = await client.post("/webhooks/woocommerce/shop-a", content=body,
                                   headers=woo_headers(body, "order.updated", delivery=f"hostile-{name}"))
        assert answer.status_code == 400, answer.text
        assert answer.json()["reason"]
        good = ORDER % (b'"10.00"', b"1")  # and a good order right after still goes
        assert (await client.post("/webhooks/woocommerce/shop-a", content=good,
                                  headers=woo_headers(good, "order.updated"))).status_code == 202
    assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 1
