"""Edge deduplication of identical deliveries (same tenant, resource, id and modified time) in Redis.

An optimisation only: replays and backfill overlaps become cheap, but correctness never depends on it
(downstream is idempotent), so a Redis failure lets the event through instead of failing it.

A key is claimed as *pending* for a short time before the publish and made to last only after the
broker confirmed; a crash in between therefore blocks a replay for `PENDING_SECONDS` at most, and a
failed publish releases the claim at once, so the next delivery or the backfill gets through.
"""

from __future__ import annotations

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from libs.common.woo.edge_keys import seen_key

__all__ = ["EdgeDedup"]

PENDING_SECONDS = 30
log = structlog.get_logger("woonox.ingest.dedup")


class EdgeDedup:
    def __init__(self, client: aioredis.Redis, prefix: str, ttl: int) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl

    def key(self, event_id: str) -> str:
        return seen_key(self._prefix, event_id)

    async def claim(self, event_id: str) -> bool:
        """True if this event should be published (first sighting, or Redis unavailable)."""
        try:
            return bool(await self._redis.set(self.key(event_id), b"p", nx=True, ex=PENDING_SECONDS))
        except (RedisError, OSError) as exc:
            log.warning("dedup_unavailable", error=str(exc))
            return True

    async def confirm(self, event_id: str) -> None:
        try:
            await self._redis.set(self.key(event_id), b"1", ex=self._ttl)
        except (RedisError, OSError) as exc:
            log.warning("dedup_unavailable", error=str(exc))

    async def release(self, event_id: str) -> None:
        try:
            await self._redis.delete(self.key(event_id))
        except (RedisError, OSError) as exc:
            log.warning("dedup_unavailable", error=str(exc))
