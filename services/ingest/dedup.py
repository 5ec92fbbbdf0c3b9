"""Edge deduplication of identical deliveries (same tenant, resource, id and modified time) in Redis.

An optimisation only: replays and backfill overlaps become cheap, but correctness never depends on it
(downstream is idempotent), so a Redis failure lets the event through instead of failing it.

A key is claimed as *pending* for a short time before the publish and made to last only after the
broker confirmed; a crash in between therefore blocks a replay for `PENDING_SECONDS` at most, and a
failed publish releases the claim at once, so the next delivery or the backfill gets through.

Claims of concurrent deliveries travel together, one pipeline per turn of the event loop, and
confirmations are written in the background the same way (docs/benchmarks.md: the
Redis client's CPU per round trip is the cost, not Redis). A lost confirmation leaves a pending key
that simply expires.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from libs.common.woo.edge_keys import seen_key

__all__ = ["EdgeDedup"]

PENDING_SECONDS = 30
CONFIRM_WINDOW = 0.01
log = structlog.get_logger("woonox.ingest.dedup")


class EdgeDedup:
    def __init__(self, client: aioredis.Redis, prefix: str, ttl: int) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl
        self._claims: list[tuple[str, asyncio.Future[bool]]] = []
        self._claiming: asyncio.Task[None] | None = None
        self._confirmed: list[str] = []
        self._flushing: asyncio.Task[None] | None = None

    def key(self, event_id: str) -> str:
        return seen_key(self._prefix, event_id)

    async def claim(self, event_id: str) -> bool:
        """True if this event should be published (first sighting, or Redis unavailable)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._claims.append((event_id, future))
        if self._claiming is None or self._claiming.done():
            self._claiming = asyncio.create_task(self._claim_batches())
        return await future

    async def _claim_batches(self) -> None:
        await asyncio.sleep(0)  # gather the claims of every request this turn of the loop
        while self._claims:
            batch, self._claims = self._claims, []
            try:
                if len(batch) == 1:  # a lone claim: a plain command costs less than a pipeline
                    answers = [bool(await self._redis.set(self.key(batch[0][0]), b"p", nx=True, ex=PENDING_SECONDS))]
                else:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for event_id, _ in batch:
                            pipe.set(self.key(event_id), b"p", nx=True, ex=PENDING_SECONDS)
                        answers = [bool(a) for a in await pipe.execute()]
            except (RedisError, OSError) as exc:
                log.warning("dedup_unavailable", error=str(exc))
                answers = [True] * len(batch)
            for (_, future), first in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(first)

    async def confirm(self, event_id: str) -> None:
        self._confirmed.append(event_id)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(CONFIRM_WINDOW)  # nobody waits for these: let many share one pipeline
        while self._confirmed:
            batch, self._confirmed = self._confirmed, []
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for event_id in batch:
                        pipe.set(self.key(event_id), b"1", ex=self._ttl)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                log.warning("dedup_unavailable", error=str(exc))

    async def drain(self) -> None:
        """Wait for confirmations in flight (at shutdown, and in tests)."""
        while self._flushing is not None and not self._flushing.done():
            await self._flushing

    async def release(self, event_id: str) -> None:
        try:
            await self._redis.delete(self.key(event_id))
        except (RedisError, OSError) as exc:
            log.warning("dedup_unavailable", error=str(exc))
