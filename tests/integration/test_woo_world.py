"""A shop emulator wired to a real ingest app (in-process, ASGI), shared by the ingest integration tests,
and the tests of the emulator's WooCommerce behaviour (merged deliveries, ping, disabling)."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aio_pika
import httpx
from aio_pika.abc import AbstractIncomingMessage
from fastapi import FastAPI
from pydantic import SecretStr

from libs.common.crypto import SecretBox
from libs.common.settings import CommonSettings
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.woo import WooClient, WooCredentials, content_digest, snapshot_id
from services.ingest.app import create_app
from services.ingest.backfill import Backfill
from services.ingest.cursors import CursorStore
from services.ingest.dedup import EdgeDedup
from services.ingest.settings import IngestSettings
from services.woo_emulator.app import Emulator
from services.woo_emulator.shop import Shop
from tests.integration.broker_helpers import wait_for

TENANT = "shop-a"
SECRET = "webhookSecretA1"


@dataclass
class World:
    app: FastAPI
    shop: Shop
    emulator: Emulator
    woo: WooClient
    backfill: Backfill


@contextlib.asynccontextmanager
async def world(settings: CommonSettings, database: Any, *, drop_rate: float = 0.0,
                fail_rate: float = 0.0) -> AsyncIterator[World]:
    shop = Shop(url="http://shop.test")
    store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
    await store.add(TenantNew(id=TENANT, shop_url=shop.url, webhook_secret=SecretStr(SECRET),
                              woo_consumer_key=SecretStr(shop.consumer_key),
                              woo_consumer_secret=SecretStr(shop.consumer_secret)))
    ingest_settings = IngestSettings()
    app = create_app(ingest_settings)
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as to_ingest:
        emulator = Emulator(shop, to_ingest, drop_rate=drop_rate, fail_rate=fail_rate)
        shop.subscribe_all(f"http://ingest/webhooks/woocommerce/{TENANT}", SECRET)
        shop_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app), base_url=shop.url)
        woo = WooClient(WooCredentials(shop.url, SecretStr(shop.consumer_key), SecretStr(shop.consumer_secret)),
                        http=shop_http, max_wait=0.5)
        backfill = Backfill(app.state.publisher, CursorStore(database),
                            EdgeDedup(app.state.redis, settings.redis_prefix, 3600),
                            first_lookback=timedelta(hours=1))

        async def connected() -> bool:
            return bool(app.state.ready())

        await wait_for(connected, what="ingest connected to RabbitMQ")
        try:
            yield World(app, shop, emulator, woo, backfill)
        finally:
            await shop_http.aclose()


async def make_changes(w: World, count: int, *, flush_every: int = 40, rng_seed: int = 3) -> int:
    """`count` changes across customers, products (variations too) and orders; flushes deliveries as
    WooCommerce's Action Scheduler would, merging what changed twice in between."""
    shop, rng, made = w.shop, random.Random(rng_seed), 0

    async def change(fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal made
        result = fn(*args, **kwargs)
        made += 1
        if made % flush_every == 0:
            await w.emulator.dispatcher.flush()
        return result

    plan = {"customers": count // 10, "variable": count // 250 or 1, "simple": count // 12, "orders": count * 3 // 10}
    customers = [await change(shop.create_customer, f"c{i}@example.se") for i in range(plan["customers"])]
    products = [await change(shop.create_product, f"Simple {i}", f"S-{i}", Decimal("99.00"), 10)
                for i in range(plan["simple"])]
    for i in range(plan["variable"]):
        parent = await change(shop.create_product, f"Variable {i}", f"V-{i}", Decimal("199.00"), type="variable")
        products += [await change(shop.create_product, f"Variable {i} / {v}", f"V-{i}-{v}", Decimal("199.00"), 5,
                                  type="variation", parent_id=parent["id"]) for v in range(4)]
    sellable = [p for p in products if p["type"] != "variable"]
    orders = []
    for _ in range(plan["orders"]):
        who = rng.choice(customers)["id"] if rng.random() < 0.7 else None  # guests have no customer webhook
        orders.append(await change(shop.create_order, who, [(rng.choice(sellable)["id"], rng.randint(1, 3))]))
    trashed: set[int] = set()
    while made < count:
        roll = rng.random()
        if roll < 0.45:
            order = rng.choice(orders)
            if order["id"] in trashed:
                continue
            await change(shop.update_order, order["id"], {"status": rng.choice(["completed", "on-hold", "processing"])})
        elif roll < 0.5:
            order = rng.choice(orders)
            if order["id"] not in trashed:
                await change(shop.add_refund, order["id"], Decimal("10.00"), "damaged")
        elif roll < 0.53:
            order = rng.choice(orders)
            if order["id"] not in trashed:
                trashed.add(order["id"])
                await change(shop.trash_order, order["id"])
        elif roll < 0.85:
            await change(shop.update_product, rng.choice(sellable)["id"], {"stock_quantity": rng.randint(0, 50)})
        else:
            await change(shop.update_customer, rng.choice(customers)["id"], {"last_name": f"L{rng.randint(0, 999)}"})
    await w.emulator.dispatcher.flush()
    return made


def final_snapshot_ids(shop: Shop) -> tuple[set[str], set[int]]:
    """Message ids of every object's latest snapshot, and the ids of orders now in the trash."""
    ids: set[str] = set()
    trashed: set[int] = set()
    for resource, store in (("order", shop.orders), ("product", shop.products), ("customer", shop.customers)):
        for obj in store.values():
            if obj.get("status") == "trash":
                trashed.add(obj["id"])
            else:
                ids.add(snapshot_id(TENANT, resource, obj["id"], obj["date_modified_gmt"], content_digest(obj)))
    return ids, trashed


async def read_all(url: str, queue: str, *, until: set[str], timeout: float = 30) -> list[AbstractIncomingMessage]:
    """Read the queue until every id in `until` was seen, then on until it is empty."""
    got: list[AbstractIncomingMessage] = []
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, passive=True)

        async def seen_all() -> bool:
            while (message := await q.get(fail=False, no_ack=True)) is not None:
                got.append(message)
            return until <= {m.message_id for m in got}

        await wait_for(seen_all, timeout=timeout, what=f"{len(until)} snapshots in {queue}")
    return got


def since_start() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=5)


async def test_emulator_merges_deliveries_and_watch_reactivates_a_disabled_webhook(
    settings: CommonSettings, topology: Any, database: Any, redis_client: Any
) -> None:
    from libs.common.topology import MAPPER
    from services.ingest.webhook_watch import endpoint_answers, reactivate_disabled

    async with world(settings, database) as w:
        product = w.shop.create_product("Mug", "MUG-1", Decimal("79.00"), 3)
        for quantity in (2, 1, 0):
            w.shop.update_product(product["id"], {"stock_quantity": quantity})
        done = await w.emulator.dispatcher.flush()
        updated = [d for d in done if d.topic == "product.updated"]
        assert len(updated) == 1  # three changes, one delivery of the latest state
        assert json.loads(updated[0].body)["stock_quantity"] == 0
        # product.created is built when sent too: the same snapshot, so ingest answers it as a duplicate
        assert sorted(d.status or 0 for d in done) == [200, 202]

        w.emulator.dispatcher.fail_rate = 1.0
        for n in range(7):
            w.shop.update_product(product["id"], {"stock_quantity": n})
            await w.emulator.dispatcher.flush()
        hook = next(h for h in w.shop.webhooks.values() if h["topic"] == "product.updated")
        assert hook["status"] == "disabled"
        w.shop.update_product(product["id"], {"stock_quantity": 42})
        assert w.emulator.dispatcher.pending == {}  # changes while disabled are never queued

        w.emulator.dispatcher.fail_rate = 0.0

        async def probe(h: dict[str, Any]) -> bool:
            return await endpoint_answers(h, w.emulator.dispatcher.http)

        touched = await reactivate_disabled(TENANT, w.woo, probe=probe)
        assert [h["id"] for h in touched] == [hook["id"]]
        assert hook["status"] == "active"
        assert await reactivate_disabled(TENANT, w.woo, probe=probe) == []
        report = await w.backfill.run(TENANT, w.woo)  # what happened while disabled comes by backfill
        assert report.published.get("product", 0) >= 1

    messages = await read_all(settings.rabbitmq_url, topology.queue(MAPPER), until=set())
    stocks = [json.loads(m.body).get("stock_quantity") for m in messages if m.type.startswith("woo.product")]
    assert stocks[-1] == 42


async def test_ping_is_answered_200(settings: CommonSettings, topology: Any, database: Any) -> None:
    async with world(settings, database) as w:
        hook = next(iter(w.shop.webhooks))
        assert await w.emulator.dispatcher.ping(hook) == 200


async def test_watch_leaves_a_webhook_disabled_while_its_endpoint_is_down_as_woocommerce_keeps_the_count(
    settings: CommonSettings, topology: Any, database: Any
) -> None:
    """Real WooCommerce keeps `failure_count` on re-activation and sends no ping: re-activated while
    ingest was down, webhooks were disabled again by their next delivery. The watch waits until the
    endpoint answers; after a successful delivery the count is back at 0."""
    from services.ingest.webhook_watch import endpoint_answers, reactivate_disabled

    async with world(settings, database) as w:
        product = w.shop.create_product("Mug", "MUG-1", Decimal("79.00"), 3)
        await w.emulator.dispatcher.flush()
        w.emulator.dispatcher.fail_rate = 1.0
        for n in range(7):
            w.shop.update_product(product["id"], {"stock_quantity": n})
            await w.emulator.dispatcher.flush()
        hook = next(h for h in w.shop.webhooks.values() if h["topic"] == "product.updated")
        assert hook["status"] == "disabled"
        endpoint_up = False

        async def probe(h: dict[str, Any]) -> bool:
            return endpoint_up and await endpoint_answers(h, w.emulator.dispatcher.http)

        assert await reactivate_disabled(TENANT, w.woo, probe=probe) == []  # ingest "down": left disabled
        assert hook["status"] == "disabled"

        endpoint_up = True
        w.emulator.dispatcher.fail_rate = 0.0
        assert [h["id"] for h in await reactivate_disabled(TENANT, w.woo, probe=probe)] == [hook["id"]]
        assert hook["status"] == "active"
        assert hook["failure_count"] > 5  # kept, as WooCommerce does: one more failure would disable it
        w.shop.update_product(product["id"], {"stock_quantity": 9})
        [delivered] = [d for d in await w.emulator.dispatcher.flush() if d.topic == "product.updated"]
        assert delivered.outcome == "ok"
        assert hook["failure_count"] == 0  # a successful delivery resets it


async def test_same_second_snapshots_are_all_published_and_a_tie_asks_for_a_rest_reread(
    settings: CommonSettings, topology: Any, database: Any, redis_client: Any
) -> None:
    """Three sales of one product in one second (the real shop's 0085/0089/0093: stock 29, 28, 27
    all stamped 19:26:02): three events, and the tie has the poller re-read the shop."""
    from libs.common.topology import MAPPER
    from services.ingest.poll_signal import take_poll_requests
    from services.woo_emulator.shop import ShopClock

    async with world(settings, database) as w:
        w.shop.clock = ShopClock(datetime.now(UTC), step=0)
        mug = w.shop.create_product("Mug", "MUG-1", Decimal("79.00"), 30)
        await w.emulator.dispatcher.flush()
        assert await take_poll_requests(redis_client, settings.redis_prefix) == set()
        for _ in range(3):
            w.shop.create_order(None, [(mug["id"], 1)])
            await w.emulator.dispatcher.flush()
        assert mug["stock_quantity"] == 27
        assert TENANT in await take_poll_requests(redis_client, settings.redis_prefix)
        report = await w.backfill.run(TENANT, w.woo)
        assert report.published.get("product", 0) == 0  # the REST read is the last snapshot already published

    messages = await read_all(settings.rabbitmq_url, topology.queue(MAPPER), until=set())
    stocks = [json.loads(m.body)["stock_quantity"] for m in messages if m.type == "woo.product.updated"]
    assert stocks[-3:] == [29, 28, 27]
