"""Tenants are cached (negatives too), concurrent misses share one lookup, and `forget` drops one."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import SecretStr

from libs.common.store.tenants import Tenant
from services.ingest.tenant_cache import TenantCache


class CountingStore:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.secret = "firstSecret1"

    async def get(self, tenant_id: str) -> Tenant | None:
        self.calls.append(tenant_id)
        await asyncio.sleep(0)
        if tenant_id != "shop":
            return None
        return Tenant(id="shop", shop_url="https://shop.example", webhook_secret=SecretStr(self.secret))


async def test_cache_hits_negatives_single_flight_and_forget() -> None:
    store = CountingStore()
    cache = TenantCache(store, ttl=60)  # type: ignore[arg-type]
    first = await asyncio.gather(*(cache.get("shop") for _ in range(5)))
    assert {t.secret for t in first if t} == {b"firstSecret1"}
    assert await cache.get("nobody") is None
    assert await cache.get("nobody") is None
    assert await cache.get("Not A Valid Id") is None
    assert store.calls == ["shop", "nobody"]
    store.secret = "secondSecret2"
    cache.forget("shop")
    got: Any = await cache.get("shop")
    assert got.secret == b"secondSecret2"


async def test_expired_entries_are_read_again() -> None:
    store = CountingStore()
    cache = TenantCache(store, ttl=0)  # type: ignore[arg-type]
    await cache.get("shop")
    await cache.get("shop")
    assert store.calls == ["shop", "shop"]
