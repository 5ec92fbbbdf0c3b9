"""Tenants' webhook secrets, cached in memory for a few seconds.

Every delivery needs its tenant's secret; asking PostgreSQL each time would cost a round trip on the
hot path (docs/benchmarks.md). Unknown tenants are cached too, so a flood of deliveries
for a wrong URL cannot hammer the database. Concurrent misses for one tenant share one query.

The cache is an LRU of at most `max_entries`, every entry (unknown ones included) expiring after the
TTL: unauthenticated requests for ever-new ids cannot grow memory without bound (issue 16).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from libs.common.store.tenants import Tenant, TenantStore

__all__ = ["MAX_ENTRIES", "CachedTenant", "TenantCache"]

MAX_ENTRIES = 10_000  # well above the tenants one deployment serves

_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class CachedTenant:
    id: str
    secret: bytes
    status: str


class TenantCache:
    def __init__(self, store: TenantStore, ttl: float, max_entries: int = MAX_ENTRIES) -> None:
        self._store = store
        self._ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, CachedTenant | None]] = OrderedDict()
        self._loading: dict[str, asyncio.Future[CachedTenant | None]] = {}

    async def get(self, tenant_id: str) -> CachedTenant | None:
        if not _TENANT_ID.match(tenant_id):
            return None
        entry = self._entries.get(tenant_id)
        if entry is not None:
            if entry[0] > time.monotonic():
                self._entries.move_to_end(tenant_id)
                return entry[1]
            del self._entries[tenant_id]
        pending = self._loading.get(tenant_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CachedTenant | None] = asyncio.get_running_loop().create_future()
        self._loading[tenant_id] = future
        try:
            tenant = await self._store.get(tenant_id)
            cached = _cached(tenant) if tenant is not None else None
            self._entries[tenant_id] = (time.monotonic() + self._ttl, cached)
            self._entries.move_to_end(tenant_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            future.set_result(cached)
            return cached
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a miss nobody else awaited does not warn
            raise
        finally:
            del self._loading[tenant_id]

    def forget(self, tenant_id: str) -> None:
        """Drop a tenant at once (the admin API calls this after changing it)."""
        self._entries.pop(tenant_id, None)

    def __len__(self) -> int:
        return len(self._entries)


def _cached(tenant: Tenant) -> CachedTenant:
    return CachedTenant(tenant.id, tenant.webhook_secret.get_secret_value().encode(), tenant.status)
