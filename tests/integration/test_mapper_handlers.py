"""The mapper in-process on real RabbitMQ and PostgreSQL: an order event becomes exactly one
fortnox.command.document (deterministic id, correlation id kept); bad orders dead-letter with the
reason and never block the good ones around them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.commands import DocumentCommand
from libs.common.crypto import SecretBox
from libs.common.envelope import Envelope, deterministic_id
from libs.common.settings import CommonSettings
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import FORTNOX_WRITER, MAPPER, Topology
from services.mapper.app import build_service
from services.mapper.settings import MapperSettings
from tests.fixtures import example_path
from tests.integration.broker_helpers import depth, drain, header, tenant_queue, wait_for

TENANT = "shop-a"


@pytest.fixture
async def writer_queue(settings: CommonSettings, topology: Topology) -> AsyncIterator[str]:
    async with tenant_queue(settings.rabbitmq_url, topology, FORTNOX_WRITER, TENANT) as name:
        yield name


async def _add_tenant(sessions: async_sessionmaker[AsyncSession], settings: CommonSettings) -> None:
    store = TenantStore(sessions, SecretBox(settings.secret_keys.get_secret_value()))
    await store.add(TenantNew(id=TENANT, shop_url="https://shop.example", webhook_secret="webhook-secret-1",
                              settings={"documents": {"kind": "order"}}))


def _acked_orders() -> float:
    labels = {"group": "mapper", "type": "woo.order.updated", "tenant": TENANT, "outcome": "ok"}
    return REGISTRY.get_sample_value("woonox_messages_consumed_total", labels) or 0.0


def _event(name: str, *, id: str, tenant: str = TENANT, **changes: object) -> Envelope:
    order = json.loads(example_path(name).read_text())
    order.update(changes)
    return Envelope.new(tenant=tenant, type="woo.order.updated", body=json.dumps(order).encode(), id=id,
                        correlation_id=f"delivery-{id}")


async def test_order_event_becomes_one_document_command_and_bad_ones_dead_letter(
    settings: CommonSettings, topology: Topology, database: async_sessionmaker[AsyncSession], writer_queue: str
) -> None:
    await _add_tenant(database, settings)
    service = build_service(MapperSettings())
    acked_before = _acked_orders()
    async with service.running():
        publish = service.publisher.publish
        await publish(_event("se-private-mixed-vat.json", id="draft", status="checkout-draft", number="draft"))
        await publish(_event("us-guest-no-sku.json", id="no-sku"))
        await publish(_event("se-private-mixed-vat.json", id="good"))
        await publish(_event("se-private-mixed-vat.json", id="stranger", tenant="no-such-shop"))
        commands = await drain(settings.rabbitmq_url, writer_queue, expect=1)
        dead = await drain(settings.rabbitmq_url, topology.dlq(MAPPER), expect=2)

        async def draft_and_good_acked() -> bool:
            return _acked_orders() - acked_before == 2

        await wait_for(draft_and_good_acked, what="the draft and the good order acknowledged")

    # The draft was acknowledged and made no command.
    assert await depth(settings.rabbitmq_url, writer_queue) == 0
    [message] = commands
    assert message.type == "fortnox.command.document"
    assert message.message_id == deterministic_id(TENANT, 2101, "2026-05-12T10:15:00")
    assert message.correlation_id == "delivery-good"
    command = DocumentCommand.from_body(message.body)
    assert (command.tenant, command.woo_order_id, command.kind) == (TENANT, 2101, "order")
    assert command.document["ExternalInvoiceReference1"] == "woonox:shop-a:order:2101"
    assert [r.get("ArticleNumber") for r in command.document["OrderRows"]][:3] == [
        "TS-ECO-BLU-M", "KAFFE-450", "BOK-9789100"]
    assert command.expected is not None
    assert command.expected.total == Decimal("943.00")
    assert command.expected.vat_by_rate == {"25": Decimal("109.40"), "6": Decimal("22.41"), "0": Decimal("0.00")}

    by_id = {m.message_id: m for m in dead}
    assert set(by_id) == {"no-sku", "stranger"}
    assert header(by_id["no-sku"], "x-death-code") == "missing-sku"
    assert "'Woo Single #1' (product 93) has no SKU" in header(by_id["no-sku"], "x-death-reason")
    assert header(by_id["stranger"], "x-death-code") == "unknown-tenant"


async def test_invalid_shop_settings_dead_letter_with_the_field(
    settings: CommonSettings, topology: Topology, database: async_sessionmaker[AsyncSession], writer_queue: str
) -> None:
    store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
    await store.add(TenantNew(id=TENANT, shop_url="https://shop.example", webhook_secret="webhook-secret-1",
                              settings={"documents": {"kind": "receipt"}}))
    service = build_service(MapperSettings())
    async with service.running():
        await service.publisher.publish(_event("se-private-mixed-vat.json", id="o1"))
        [dead] = await drain(settings.rabbitmq_url, topology.dlq(MAPPER), expect=1)
    assert header(dead, "x-death-code") == "invalid-settings"
    assert "documents.kind" in header(dead, "x-death-reason")
    assert await depth(settings.rabbitmq_url, writer_queue) == 0
