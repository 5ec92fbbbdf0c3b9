"""Fortnox → WooCommerce: a stock change in Fortnox reaches the shop's product within one poll, through
the real chain (poller → mapper → woo-writer → shop emulator), and the shop's webhook for that write
does not come back as a change for Fortnox (no echo): the article in Fortnox is not written again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from libs.common.crypto import SecretBox
from libs.common.fortnox.client import FortnoxClient
from libs.common.fortnox.tokens import TokenManager
from libs.common.settings import CommonSettings
from libs.common.store.tenants import TenantStore
from libs.common.topology import Topology
from services.fortnox_sandbox.app import create_app as create_sandbox
from services.ingest.app import create_app as create_ingest
from services.ingest.poller import Poller
from services.ingest.settings import IngestSettings
from services.mapper.app import build_service as build_mapper
from services.mapper.settings import MapperSettings
from services.woo_emulator.app import Emulator
from services.woo_emulator.shop import Shop
from services.woo_writer.app import create_service as create_woo_writer
from services.woo_writer.settings import WooWriterSettings
from tests.integration.broker_helpers import wait_for
from tests.writer_harness import add_tenant, create_company

TENANT = "reverse"
SECRET = "reverseSecret1"
SANDBOX = "http://sandbox.test"
SETTINGS = {"products": {"direction": "both", "prices_include_vat": False}}


async def test_fortnox_stock_change_reaches_the_shop_once_without_echo(
    settings: CommonSettings, topology: Topology, database: Any, redis_client: Any
) -> None:
    sandbox = create_sandbox()
    shop = Shop(url="http://shop.test")
    ingest = create_ingest(IngestSettings())
    async with sandbox.router.lifespan_context(sandbox), ingest.router.lifespan_context(ingest), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest)) as to_ingest:
        emulator = Emulator(shop, to_ingest)
        http = httpx.AsyncClient(mounts={"http://shop.test": httpx.ASGITransport(app=emulator.app),
                                         SANDBOX: httpx.ASGITransport(app=sandbox)})
        company = await create_company(http, SANDBOX)
        await add_tenant(database, settings, redis_client, http, SANDBOX, TENANT, company, shop_settings=SETTINGS,
                         webhook_secret=SECRET)
        box = SecretBox(settings.secret_keys.get_secret_value())
        store = TenantStore(database, box)
        tenant = await store.require(TENANT)
        await store.add(tenant.model_copy(update={
            "shop_url": shop.url, "woo_consumer_key": SecretStr(shop.consumer_key),
            "woo_consumer_secret": SecretStr(shop.consumer_secret)}), replace=True)
        tenant = await store.require(TENANT)
        shop.subscribe_all(f"http://ingest/webhooks/woocommerce/{TENANT}", SECRET)

        fortnox = FortnoxClient(http, tenant, TokenManager(database, redis_client, box, http, settings.redis_prefix),
                                None)
        await fortnox.create("articles", "Article", {"ArticleNumber": "MUG-1", "Description": "Mug",
                                                     "StockGoods": True, "QuantityInStock": 3, "SalesPrice": 79})
        product = shop.create_product("Mug", "MUG-1", Decimal("79.00"), 3)
        await emulator.dispatcher.flush()

        poller = Poller(IngestSettings(), http=http)
        mapper = build_mapper(MapperSettings())
        writer = create_woo_writer(WooWriterSettings(), http=http)
        await poller.start()
        try:
            async with mapper.running(), writer.running():
                assert await poller.fortnox.run(tenant) == 1  # first sight of the article: same values
                await fortnox.update("articles", "MUG-1", "Article", {"QuantityInStock": 17})
                writes_before = _article_writes(sandbox)
                assert await poller.fortnox.run(tenant) == 1  # one poll later

                async def in_shop() -> bool:
                    return product["stock_quantity"] == 17

                await wait_for(in_shop, what="the Fortnox stock in the shop")
                done = await emulator.dispatcher.flush()  # WooCommerce's webhook for our own write
                assert [d.status for d in done if d.topic == "product.updated"] == [200]  # a duplicate: not published
                assert await poller.fortnox.run(tenant) == 0  # nothing changed in Fortnox since
            assert _article_writes(sandbox) == writes_before  # Fortnox was not written again: no echo
        finally:
            await poller.close()
            await http.aclose()
        assert product["stock_quantity"] == 17


def _article_writes(sandbox: Any) -> int:
    journal = sandbox.state.sandbox.journal
    return sum(len(journal.query(method=m, path_prefix="/3/articles")) for m in ("POST", "PUT"))
