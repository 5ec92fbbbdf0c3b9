"""A tie's REST re-read: its own identity, and later than every snapshot of its second."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from typing import Any

import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr

from libs.common.shop_settings import ShopSettings
from libs.common.woo import WooClient, WooCredentials, content_digest, snapshot_id
from libs.common.woo.reread import REREAD_OFFSET
from services.ingest.ties import publish_rereads, want_reread
from services.mapper.articles import article_command
from services.mapper.orders import snapshot_time
from services.woo_emulator.app import Emulator
from services.woo_emulator.shop import Shop

SETTINGS = ShopSettings.model_validate({"products": {"tax_class_rates": {"": "25"}}})


class Collecting:
    def __init__(self) -> None:
        self.published: list[Any] = []

    async def publish(self, envelope: Any) -> None:
        self.published.append(envelope)


async def test_the_reread_of_a_tie_is_published_with_its_own_identity_and_wins_its_second() -> None:
    shop = Shop(url="http://shop.test")
    shirt = shop.create_product("T-shirt", "TS-001", Decimal("299.00"), 50)
    older = json.loads(json.dumps(shirt))
    shop.update_product(shirt["id"], {"regular_price": "399.00"})
    newer = json.loads(json.dumps(shirt))
    newer_id = snapshot_id("t", "product", shirt["id"], newer["date_modified_gmt"], content_digest(newer))
    prefix = f"ties-{secrets.token_hex(4)}"
    redis = aioredis.from_url("redis://127.0.0.1:6379/0")
    publisher = Collecting()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=Emulator(shop, httpx.AsyncClient()).app)) as http:
        keys = WooCredentials(shop.url, SecretStr(shop.consumer_key), SecretStr(shop.consumer_secret))
        woo = WooClient(keys, http=http)
        try:
            await want_reread(redis, prefix, "t", "product", shirt["id"])
            assert await publish_rereads(redis, prefix, "t", woo, publisher) == 1  # type: ignore[arg-type]
            assert await publish_rereads(redis, prefix, "t", woo, publisher) == 0  # done with it
        finally:
            await redis.aclose()
    [reread] = publisher.published
    # Not deduplicated against the newer snapshot it equals, though it is WooCommerce's same state.
    assert reread.id != newer_id
    assert (reread.type, json.loads(reread.body)["regular_price"]) == ("woo.product.updated", "399.00")
    marked = json.loads(reread.body)
    # The writers keep it whichever same-second snapshot reaches them last.
    late, kept = article_command("t", older, SETTINGS), article_command("t", marked, SETTINGS)
    assert late is not None and kept is not None and late.snapshot_modified and kept.snapshot_modified
    assert late.snapshot_modified < kept.snapshot_modified == late.snapshot_modified + REREAD_OFFSET
    order = {"id": 1, "date_modified_gmt": "2026-12-01T19:18:53"}
    assert snapshot_time(order) < snapshot_time({**order, "_woonox_reread": True}) \
        < snapshot_time({**order, "date_modified_gmt": "2026-12-01T19:18:54"})
