"""The poller backfills each tenant on its schedule, at once when ingest asked for a poll, and
re-activates a webhook WooCommerce disabled."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from libs.common.crypto import SecretBox
from libs.common.settings import CommonSettings
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import MAPPER, Topology
from services.ingest.poll_signal import request_poll
from services.ingest.poller import Poller
from services.ingest.settings import IngestSettings
from services.ingest.webhook_watch import KEPT_COUNT
from services.woo_emulator.app import Emulator
from services.woo_emulator.shop import Shop
from tests.integration.broker_helpers import depth


async def test_schedule_poll_request_and_webhook_reactivation(
    settings: CommonSettings, topology: Topology, database: Any, redis_client: Any
) -> None:
    shop = Shop(url="http://shop.test")
    async with httpx.AsyncClient() as nowhere:
        emulator = Emulator(shop, nowhere)
        hook = shop.add_webhook("order.updated", "http://ingest/webhooks/woocommerce/sched", "secretSecret1")
        hook["status"] = "disabled"
        foreign = shop.add_webhook("order.updated", "http://elsewhere/hook", "x")
        foreign["status"] = "disabled"
        shop.create_product("A", "A-1", Decimal("1.00"), 1)
        store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
        await store.add(TenantNew(id="sched", shop_url=shop.url, webhook_secret=SecretStr("secretSecret1"),
                                  woo_consumer_key=SecretStr(shop.consumer_key),
                                  woo_consumer_secret=SecretStr(shop.consumer_secret)))
        # woonox's endpoint is up (the watch re-activates only a webhook whose delivery URL answers)
        endpoint = FastAPI()
        endpoint.add_api_route("/webhooks/woocommerce/sched", lambda: {"status": "pong"}, methods=["POST"])
        async with httpx.AsyncClient(mounts={"http://shop.test": httpx.ASGITransport(app=emulator.app),
                                             "http://ingest": httpx.ASGITransport(app=endpoint)}) as shop_http:
            poller = Poller(IngestSettings(backfill_interval_seconds=3600), http=shop_http)
            await poller.start()
            try:
                await poller.tick()
                assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 1
                assert hook["status"] == "active"
                assert foreign["status"] == "disabled"  # not ours: left alone
                [entry] = await poller.bookings.trail("sched", "webhook", str(hook["id"]))
                assert entry["action"] == "webhook-reactivated"
                assert entry["detail"]["topic"] == "order.updated"
                # What the operator must know, where the operator looks: one more failure disables it again.
                assert entry["detail"]["note"] == KEPT_COUNT

                shop.create_product("B", "B-1", Decimal("1.00"), 1)
                await poller.tick()  # not due for an hour
                assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 1

                await request_poll(redis_client, settings.redis_prefix, "sched")
                await poller.tick()  # asked for: runs now
                assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 2
            finally:
                await poller.close()
