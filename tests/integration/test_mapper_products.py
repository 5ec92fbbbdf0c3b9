"""Products, customers and Fortnox article changes through the running mapper: each becomes its
command on the right queue; a product without SKU dead-letters naming the product."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.commands import ArticleCommand, CustomerCommand, StockCommand
from libs.common.crypto import SecretBox
from libs.common.envelope import Envelope
from libs.common.settings import CommonSettings
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import FORTNOX_WRITER, MAPPER, WOO_WRITER, Topology
from services.mapper.app import build_service
from services.mapper.settings import MapperSettings
from tests.fixtures import fixture_path
from tests.integration.broker_helpers import drain, header, tenant_queue

TENANT = "shop-b"


@pytest.fixture
async def writer_queue(settings: CommonSettings, topology: Topology) -> AsyncIterator[str]:
    async with tenant_queue(settings.rabbitmq_url, topology, FORTNOX_WRITER, TENANT) as name:
        yield name


async def test_products_customers_and_stock_changes_become_commands(
    settings: CommonSettings, topology: Topology, database: async_sessionmaker[AsyncSession], writer_queue: str
) -> None:
    await TenantStore(database, SecretBox(settings.secret_keys.get_secret_value())).add(TenantNew(
        id=TENANT, shop_url="https://shop.example", webhook_secret="webhook-secret-1",
        settings={"products": {"direction": "both"}}))
    product = {"id": 500, "name": "Kaffe", "type": "simple", "sku": "KAFFE-450", "regular_price": "89.00",
               "tax_class": "zero-rate", "manage_stock": True, "stock_quantity": 40,
               "date_modified_gmt": "2026-05-01T10:00:00"}
    customer = fixture_path("woocommerce", "samples", "customer--retrieve-a-customer.json").read_bytes()
    no_sku = fixture_path("woocommerce", "samples", "product--retrieve-a-product.json").read_bytes()
    change = {"Article": {"ArticleNumber": "KAFFE-450", "QuantityInStock": 38, "SalesPrice": 89, "VAT": 0},
              "woo_product_id": 500}

    service = build_service(MapperSettings())
    async with service.running():
        publish = service.publisher.publish
        await publish(Envelope.new(tenant=TENANT, type="woo.product.updated", payload=product, id="p1"))
        await publish(Envelope.new(tenant=TENANT, type="woo.product.updated", body=no_sku, id="p2"))
        await publish(Envelope.new(tenant=TENANT, type="woo.customer.created", body=customer, id="c1"))
        await publish(Envelope.new(tenant=TENANT, type="fortnox.article.changed", payload=change, id="a1"))
        commands = await drain(settings.rabbitmq_url, writer_queue, expect=2)
        [stock] = await drain(settings.rabbitmq_url, topology.queue(WOO_WRITER), expect=1)
        [dead] = await drain(settings.rabbitmq_url, topology.dlq(MAPPER), expect=1)

    by_type = {m.type: m for m in commands}
    article = ArticleCommand.from_body(by_type["fortnox.command.article"].body)
    assert article.body["ArticleNumber"] == "KAFFE-450"
    assert (article.price_list, article.price) == ("A", Decimal("89.00"))
    assert by_type["fortnox.command.article"].correlation_id == "p1"
    fortnox_customer = CustomerCommand.from_body(by_type["fortnox.command.customer"].body)
    assert fortnox_customer.body["VATType"] == "EXPORT"
    assert stock.type == "woo.command.stock"
    assert StockCommand.from_body(stock.body).model_dump(include={"woo_product_id", "stock_quantity"}) == {
        "woo_product_id": 500, "stock_quantity": 38}
    assert dead.message_id == "p2"
    assert header(dead, "x-death-code") == "missing-sku"
    assert "'Premium Quality' (product 794) has no SKU" in header(dead, "x-death-reason")
    assert json.loads(dead.body)["id"] == 794  # the original body, for replay after the fix
