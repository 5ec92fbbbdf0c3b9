"""A shop that hangs cannot hold up another shop's poll: each tenant runs in its own task, and the
hanging one is cut off at its timeout."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from libs.common.crypto import SecretBox
from libs.common.settings import CommonSettings
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import MAPPER, Topology
from services.ingest.poller import Poller
from services.ingest.settings import IngestSettings
from services.woo_emulator.app import Emulator
from services.woo_emulator.shop import Shop
from tests.integration.broker_helpers import depth, wait_for


async def test_a_hanging_shop_does_not_delay_another_shops_poll(
    settings: CommonSettings, topology: Topology, database: Any
) -> None:
    shop = Shop(url="http://shop.test")
    shop.create_product("A", "A-1", Decimal("1.00"), 1)
    store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
    keys = {"woo_consumer_key": SecretStr(shop.consumer_key), "woo_consumer_secret": SecretStr(shop.consumer_secret)}
    # "a-slow" sorts first: polled one after another, it would go before the fast one.
    await store.add(TenantNew(id="a-slow", shop_url="https://slow.example", webhook_secret=SecretStr("s" * 32),
                              **keys))
    await store.add(TenantNew(id="b-fast", shop_url=shop.url, webhook_secret=SecretStr("f" * 32), **keys))
    slow_called = asyncio.Event()
    never = asyncio.Event()
    async with httpx.AsyncClient() as nowhere:
        emulator = Emulator(shop, nowhere)
        fast = httpx.ASGITransport(app=emulator.app)

        async def route(request: httpx.Request) -> httpx.Response:
            if request.url.host == "slow.example":
                slow_called.set()
                await never.wait()  # the shop never answers
            return await fast.handle_async_request(request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(route)) as http:
            poller = Poller(IngestSettings(backfill_interval_seconds=3600), http=http)
            await poller.start()
            try:
                tick = asyncio.create_task(poller.tick())

                async def fast_published() -> bool:
                    return await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 1

                await wait_for(fast_published, what="the fast shop's product, published")
                assert slow_called.is_set() and not tick.done()  # the slow shop is still hanging
                tick.cancel()
                await asyncio.gather(tick, return_exceptions=True)
            finally:
                await poller.close()


async def test_the_hanging_shop_is_cut_off_at_its_timeout(settings: CommonSettings, database: Any) -> None:
    store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
    await store.add(TenantNew(id="hangs", shop_url="https://slow.example", webhook_secret=SecretStr("s" * 32)))
    never = asyncio.Event()

    async def hang(_: Any) -> None:
        await never.wait()

    poller = Poller(IngestSettings(backfill_interval_seconds=3600), extra_jobs=[(3600, hang)], tenant_timeout=0.2)
    await poller.start()
    try:
        await asyncio.wait_for(poller.tick(), 30)  # returns: the hanging job was cut off
    finally:
        await poller.close()
