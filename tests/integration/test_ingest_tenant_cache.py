"""Issue 16: unauthenticated requests for unknown tenant ids neither grow the cache without bound nor
tell which tenant ids exist."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from libs.common.crypto import SecretBox
from libs.common.settings import CommonSettings
from libs.common.store.tenants import TenantNew, TenantStore
from services.ingest.tenant_cache import TenantCache
from tests.integration.test_ingest_webhooks import ingest_client, woo_headers


async def test_unknown_ids_five_times_the_cap_keep_the_cache_bounded(settings: CommonSettings, database: Any) -> None:
    store = TenantStore(database, SecretBox(settings.secret_keys.get_secret_value()))
    await store.add(TenantNew(id="shop-a", shop_url="https://shop-a.example", webhook_secret=SecretStr("s" * 32)))
    cache = TenantCache(store, ttl=3600, max_entries=1000)
    # Five times the cap shows the bound; each new id costs one PostgreSQL lookup, so 100k would only
    # make the suite slower (about 2 minutes) without showing more.
    for n in range(5 * cache.max_entries):
        assert await cache.get(f"nobody-{n}") is None
        assert len(cache) <= cache.max_entries
    assert len(cache) == cache.max_entries
    assert (await cache.get("shop-a")) is not None


async def test_unknown_tenant_and_bad_signature_get_the_same_answer(settings: CommonSettings,
                                                                   database: Any) -> None:
    body = b'{"id": 1}'
    async with ingest_client(settings, database) as client:
        unknown = await client.post("/webhooks/woocommerce/nobody", content=body,
                                    headers=woo_headers(body, "order.updated"))
        forged = await client.post("/webhooks/woocommerce/shop-a", content=body,
                                   headers=woo_headers(body, "order.updated", secret="not-the-secret"))
    assert (unknown.status_code, unknown.content) == (forged.status_code, forged.content)
    assert unknown.status_code == 401
