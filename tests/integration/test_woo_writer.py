"""A Fortnox stock/price command reaches the shop (batch endpoint), and the webhook WooCommerce sends
for our own write does not come back to the mapper (no echo loop); a repeat writes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from libs.common.commands import COMMAND_STOCK, StockCommand
from libs.common.envelope import Envelope
from libs.common.settings import CommonSettings
from libs.common.topology import MAPPER, WOO_WRITER, Topology
from services.woo_writer.app import create_service
from services.woo_writer.settings import WooWriterSettings
from tests.integration.broker_helpers import consumed, depth, drain, header, wait_for
from tests.integration.test_woo_world import TENANT, read_all, world


def stock(product_id: int, quantity: int, price: str | None = None, parent: int | None = None) -> Envelope:
    command = StockCommand(tenant=TENANT, woo_product_id=product_id, woo_parent_id=parent, stock_quantity=quantity,
                           regular_price=Decimal(price) if price else None, fortnox_modified="2026-11-24 10:00")
    return Envelope.new(tenant=TENANT, type=COMMAND_STOCK, body=command.model_dump_json().encode())


async def test_stock_command_is_written_once_and_its_webhook_is_not_an_echo(
    settings: CommonSettings, topology: Topology, database: Any, redis_client: Any
) -> None:
    async with world(settings, database) as w:
        simple = w.shop.create_product("Mug", "MUG-1", Decimal("79.00"), 3)
        parent = w.shop.create_product("Shirt", "SH", Decimal("199.00"), type="variable")
        variation = w.shop.create_product("Shirt / M", "SH-M", Decimal("199.00"), 4, type="variation",
                                          parent_id=parent["id"])
        await w.emulator.dispatcher.flush()
        seeded = await read_all(settings.rabbitmq_url, topology.queue(MAPPER), until=set())
        assert len(seeded) == 3

        shop_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=w.emulator.app))
        service = create_service(WooWriterSettings(), http=shop_http)
        async with service.running():
            await service.publisher.publish(stock(simple["id"], 17, "89.00"))
            await service.publisher.publish(stock(variation["id"], 0, parent=parent["id"]))

            async def applied() -> bool:
                return simple["stock_quantity"] == 17 and variation["stock_quantity"] == 0

            await wait_for(applied, what="stock written to the shop")
            assert simple["regular_price"] == "89.00"
            assert variation["stock_status"] == "outofstock"
            written = (simple["date_modified_gmt"], variation["date_modified_gmt"])

            done = await w.emulator.dispatcher.flush()  # WooCommerce's webhooks for our own writes
            assert sorted(d.status or 0 for d in done) == [200, 200]
            assert all(json.loads(d.body)["id"] in (simple["id"], variation["id"]) for d in done)

            # The same command again: the shop already holds it, nothing is written, no webhook.
            before = consumed(WOO_WRITER, TENANT)
            await service.publisher.publish(stock(simple["id"], 17, "89.00"))

            async def handled() -> bool:
                return consumed(WOO_WRITER, TENANT) > before

            await wait_for(handled, what="the repeated command handled")
            await service.publisher.publish(stock(999999, 1))  # unknown product: dead letter with reason
            [dead] = await drain(settings.rabbitmq_url, topology.dlq(WOO_WRITER), expect=1)
        await shop_http.aclose()
        assert (simple["date_modified_gmt"], variation["date_modified_gmt"]) == written
        assert w.emulator.dispatcher.pending == {}
        assert "999999" in header(dead, "x-death-reason")

    assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 0  # no echo reached the mapper

