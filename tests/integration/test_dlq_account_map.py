"""The acceptance path of `woonox dlq replay`, end to end through the real mapper and writer: an order
whose VAT rate has no sales account in the shop's account map dead-letters with that reason; after
the account map is fixed, `woonox dlq replay --tenant T --reason ...` books it exactly once in Fortnox
and the DLQ is empty; `--dry-run` changes nothing."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from libs.cli import dlq
from libs.common.commands import external_reference
from libs.common.crypto import SecretBox
from libs.common.envelope import Envelope
from libs.common.publisher import Publisher
from libs.common.settings import CommonSettings
from libs.common.store.models import Booking
from libs.common.store.tenants import TenantStore
from libs.common.topology import MAPPER, Topology
from services.fortnox_writer.app import create_app as writer_app
from services.fortnox_writer.settings import WriterSettings
from services.mapper.app import build_service
from services.mapper.settings import MapperSettings
from tests.integration.broker_helpers import depth, wait_for
from tests.integration.test_ops_reconcile import TENANT, add_shop_tenant, shop_and_sandbox
from tests.writer_harness import create_company

NO_25 = {"documents": {"allow_free_text_rows": True},
         "accounts": {"se": {"by_rate": {"12": 3002, "6": 3003, "0": 3004}}}}


async def cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, dlq.app, list(args))


async def _fortnox_orders(http: httpx.AsyncClient, sandbox_url: str, token: str, ref: str) -> list[dict[str, Any]]:
    r = await http.get(f"{sandbox_url}/3/orders", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return [o for o in r.json()["Orders"] if o.get("ExternalInvoiceReference1") == ref and not o.get("Cancelled")]


async def test_fixed_account_map_then_replay_books_once(
    settings: CommonSettings, topology: Topology, database: async_sessionmaker[AsyncSession],
    redis_client: aioredis.Redis,
) -> None:
    async with shop_and_sandbox() as (shop, _, sandbox_url, http):
        company = await create_company(http, sandbox_url)
        await add_shop_tenant(database, settings, redis_client, http, sandbox_url, shop, company, NO_25)
        customer = shop.create_customer("anna@example.se")
        coffee = shop.create_product("Kaffe", "", Decimal("125.00"), 50)
        order = shop.create_order(customer["id"], [(coffee["id"], 2)])
        ref = external_reference(TENANT, order["id"])

        mapper = build_service(MapperSettings(tenant_settings_ttl=0))
        writer = writer_app(WriterSettings())
        publisher = Publisher(settings.rabbitmq_url, topology)
        async with mapper.running(), writer.router.lifespan_context(writer):
            await publisher.connect(declare=False)
            await publisher.publish(Envelope.new(tenant=TENANT, type="woo.order.created", payload=order,
                                                 id=f"order-{order['id']}"))

            async def dead() -> bool:
                return await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 1

            await wait_for(dead, what="the order dead-lettered for its missing sales account")
            [letter] = report_list(await cli("list", "--tenant", TENANT, "--json"))
            assert letter["code"] == "no-sales-account"
            assert "no sales account for 25 % VAT" in letter["reason"]

            dry = await cli("replay", "--tenant", TENANT, "--reason", "sales account", "--dry-run")
            assert dry.exit_code == 0, dry.output
            assert await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 1
            assert await _fortnox_orders(http, sandbox_url, company.access_token, ref) == []

            tenants = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
            fixed = json.loads(json.dumps(NO_25))
            fixed["accounts"]["se"]["by_rate"]["25"] = 3001
            await tenants.update_settings(TENANT, fixed)  # the operator fixes the account map

            done = await cli("replay", "--tenant", TENANT, "--reason", "sales account")
            assert done.exit_code == 0, done.output

            async def booked() -> bool:
                async with database() as session:
                    row = await session.scalar(select(Booking).where(Booking.tenant_id == TENANT,
                                                                     Booking.woo_id == str(order["id"])))
                    return row is not None and row.snapshot_hash is not None

            await wait_for(booked, timeout=60, what="the replayed order to be booked")
            await publisher.close()
        documents = await _fortnox_orders(http, sandbox_url, company.access_token, ref)
    assert len(documents) == 1, documents
    assert Decimal(str(documents[0]["Total"])) == Decimal("250.00")
    assert await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 0
    assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 0
    assert (await cli("replay", "--tenant", TENANT, "--reason", "sales account")).exit_code == dlq.EXIT_NOTHING_MATCHED


def report_list(result: Result) -> list[dict[str, Any]]:
    """The JSON list in the output (services in this process log into the same captured stdout)."""
    lines = result.output.splitlines()
    start, end = lines.index("["), len(lines) - 1 - lines[::-1].index("]")
    data: list[dict[str, Any]] = json.loads("\n".join(lines[start:end + 1]))
    return data

