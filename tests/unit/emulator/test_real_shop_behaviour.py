"""The shop emulator does what a real WooCommerce 10.0.2 shop did (tests/fixtures/real-10.0.2), and
the chaos load generator uses it: event pairs, same-second stamps, the real refund shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bench.loadgen import ShopLoad
from services.woo_emulator.app import Emulator
from services.woo_emulator.objects import php_json
from services.woo_emulator.shop import Shop, ShopClock
from tests.fixtures import fixture_path


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with httpx.AsyncClient() as nowhere:
        shop = Shop(url="http://shop.test", clock=ShopClock(datetime(2026, 12, 1, 19, 18, 53, tzinfo=UTC), step=0))
        em = Emulator(shop, nowhere)
        shop.subscribe_all("http://ingest.test/webhooks/woocommerce/t", "secretSecret1")
        yield em


def _rest(em: Emulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=em.app), base_url="http://shop.test",
                             auth=(em.shop.consumer_key, em.shop.consumer_secret))


@pytest.mark.parametrize("n", ["0015", "0022", "0032", "0038", "0042", "0137"])
def test_bodies_are_phps_json_encode_byte_for_byte(n: str) -> None:
    body = json.loads(fixture_path("real-10.0.2", "deliveries", f"{n}.json").read_text())["body"]
    assert php_json(json.loads(body)) == body.encode()


def _topic(em: Emulator, key: tuple[int, int]) -> str:
    return str(em.shop.webhooks[key[0]]["topic"])


async def test_an_order_sends_created_an_identical_updated_and_one_product_updated_per_stock_line(
    emulator: Emulator,
) -> None:
    shop = emulator.shop
    shirt = shop.create_product("T-shirt", "TS-001", Decimal("299.00"), 50)
    coffee = shop.create_product("Kaffe", "KAFFE-500", Decimal("89.00"), 100, tax_class="reduced-rate")
    emulator.dispatcher.pending.clear()
    order = shop.create_order(None, [(shirt["id"], 2), (coffee["id"], 3)])
    pending = [(_topic(emulator, k), k[1]) for k in emulator.dispatcher.pending]
    assert pending == [("order.created", order["id"]), ("order.updated", order["id"]),
                       ("product.updated", shirt["id"]), ("product.updated", coffee["id"])]
    created, updated = (k for k in emulator.dispatcher.pending if k[1] == order["id"])
    assert emulator.dispatcher._body(shop.webhooks[created[0]], order["id"]) == \
        emulator.dispatcher._body(shop.webhooks[updated[0]], order["id"])
    assert (shirt["stock_quantity"], coffee["stock_quantity"]) == (48, 97)
    # each line at its product's own rate, rounded per line (the real order 19's 3 × coffee: 28.61)
    assert [t["rate_percent"] for t in order["tax_lines"]] == [25, 12]
    assert order["line_items"][1]["total_tax"] == "28.61"
    # a second change within the same second carries the same stamp, as in the real shop
    stamp = order["date_modified_gmt"]
    shop.update_order(order["id"], {"status": "completed"})
    assert order["date_modified_gmt"] == stamp


def test_the_default_clock_is_wall_time_at_one_second_resolution() -> None:
    before = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    stamp = datetime.fromisoformat(ShopClock().tick())
    after = datetime.now(UTC).replace(tzinfo=None)
    assert stamp.microsecond == 0
    assert before <= stamp <= after


async def test_refunds_are_listed_by_id_reason_total_and_served_in_full(emulator: Emulator) -> None:
    shop = emulator.shop
    shirt = shop.create_product("T-shirt", "TS-001", Decimal("299.00"), 50)
    order = shop.create_order(None, [(shirt["id"], 2)])
    async with _rest(emulator) as rest:
        response = await rest.post(f"/wp-json/wc/v3/orders/{order['id']}/refunds", json={
            "reason": "Returnerad tröja", "line_items": [{"id": order["line_items"][0]["id"], "quantity": 1}]})
        assert response.status_code == 201, response.text
        refund = response.json()
        [listed] = (await rest.get(f"/wp-json/wc/v3/orders/{order['id']}/refunds")).json()
        assert (await rest.get(f"/wp-json/wc/v3/orders/{order['id']}/refunds/{refund['id']}")).json() == listed
    assert order["refunds"] == [{"id": refund["id"], "reason": "Returnerad tröja", "total": "-299.00"}]
    assert listed["amount"] == "299.00" and listed["line_items"][0]["quantity"] == -1
    assert [(t["rate_percent"], t["tax_total"]) for t in listed["tax_lines"]] == [(25, "-59.80")]
    assert order["status"] == "processing" and shirt["stock_quantity"] == 49  # restocked

    shop.update_order(order["id"], {"status": "completed"})
    completed_at = order["date_completed_gmt"]
    assert completed_at == order["date_modified_gmt"]
    shop.refund_all(order["id"])
    assert order["status"] == "refunded" and order["date_completed_gmt"] == completed_at  # kept, as WooCommerce does


async def test_sku_finds_variations_and_a_read_only_key_cannot_write(emulator: Emulator) -> None:
    shop = emulator.shop
    parent = shop.create_product("Hoodie", "HOOD", Decimal("499.00"), type="variable")
    variation = shop.create_product("Hoodie M", "HOOD-M", Decimal("499.00"), 10, type="variation",
                                    parent_id=parent["id"])
    async with _rest(emulator) as rest:
        [found] = (await rest.get("/wp-json/wc/v3/products", params={"sku": "HOOD-M"})).json()
        assert (found["id"], found["type"], found["parent_id"]) == (variation["id"], "variation", parent["id"])
        shop.key_permissions = "read"
        assert (await rest.get("/wp-json/wc/v3/products")).status_code == 200
        denied = await rest.post("/wp-json/wc/v3/products/batch", json={})
        assert denied.status_code == 401
        assert denied.json()["message"] == "The API key provided does not have write permissions."


async def test_reactivation_keeps_the_failure_count_and_sends_no_ping(emulator: Emulator) -> None:
    hook = next(iter(emulator.shop.webhooks.values()))
    hook.update(status="disabled", failure_count=7)
    pinged: list[int] = []

    async def ping(webhook_id: int) -> int | None:
        pinged.append(webhook_id)
        return 200

    emulator.dispatcher.ping = ping  # type: ignore[method-assign]
    async with _rest(emulator) as rest:
        response = await rest.put(f"/wp-json/wc/v3/webhooks/{hook['id']}", json={"status": "active"})
    assert response.status_code == 200
    assert (hook["status"], hook["failure_count"], pinged) == ("active", 7, [])


async def test_the_load_generator_makes_real_shop_traffic() -> None:
    async with httpx.AsyncClient() as nowhere:
        load = ShopLoad.create("shop-x", "http://127.0.0.1:1", "http://127.0.0.1:2", nowhere, seed=5, drop_rate=0,
                               fail_rate=0, duplicate_share=0)
        load.seed_catalogue()
        for _ in range(300):
            load.step()
        shop = load.shop
        topics = [str(shop.webhooks[k[0]]["topic"]) for k in load.emulator.dispatcher.pending]
        assert {"order.created", "order.updated", "product.updated"} <= set(topics)
        rates: set[Any] = set()
        for order in shop.orders.values():
            rates |= {t["rate_percent"] for t in order["tax_lines"]}
            assert Decimal(order["total"]) == sum(Decimal(x["total"]) + Decimal(x["total_tax"])
                                                  for x in order["line_items"])
        assert rates == {25, 12, 6}
        refunded = [o for o in shop.orders.values() if o["refunds"]]
        assert refunded, "the run made refunds"
        for order in refunded:
            assert all(set(r) == {"id", "reason", "total"} for r in order["refunds"])
            for refund in shop.refunds[order["id"]]:
                assert refund["line_items"] and refund["tax_lines"]
                assert sum(Decimal(t["tax_total"]) for t in refund["tax_lines"]) == \
                    sum(Decimal(i["total_tax"]) for i in refund["line_items"])
        stamps = [o["date_modified_gmt"] for o in shop.orders.values()]
        assert len(set(stamps)) < len(stamps)  # many changes share a second, as in a real shop
