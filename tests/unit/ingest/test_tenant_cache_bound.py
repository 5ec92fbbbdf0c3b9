"""100,000 unauthenticated requests for ever-new tenant ids leave the cache at its cap (issue 16). The
store is a stand-in that knows no tenant: what is shown is the cache's bound, not PostgreSQL (the
integration test tests/integration/test_ingest_tenant_cache.py shows it against the real store)."""

from __future__ import annotations

import tracemalloc
from typing import cast

from libs.common.store.tenants import Tenant, TenantStore
from services.ingest.tenant_cache import MAX_ENTRIES, TenantCache


class NoTenants:
    lookups = 0

    async def get(self, tenant_id: str) -> Tenant | None:
        self.lookups += 1
        return None


async def test_a_hundred_thousand_unknown_ids_keep_the_cache_and_its_memory_bounded() -> None:
    store = NoTenants()
    cache = TenantCache(cast(TenantStore, store), ttl=3600)
    tracemalloc.start()
    try:
        for n in range(50_000):
            await cache.get(f"nobody-{n}")
        halfway, _ = tracemalloc.get_traced_memory()
        for n in range(50_000, 100_000):
            await cache.get(f"nobody-{n}")
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert store.lookups == 100_000
    assert len(cache) == MAX_ENTRIES
    # The second fifty thousand ids cost no more memory than the first left held (10 % slack).
    assert after <= halfway * 1.1, (halfway, after)
