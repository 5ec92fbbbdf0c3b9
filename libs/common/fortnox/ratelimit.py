"""Fortnox's rate limit, shared by every writer replica through Redis.

Fortnox allows 25 requests per 5 seconds per (client app, tenant), as a sliding window, and
answers 429 past it with no headers (../shared/fortnox/FACTS.md, "Rate limit"). The limiter keeps
an exact sliding log in Redis (ratelimit.lua, one round trip per request, the server's clock), so
no number of replicas can exceed it. Its window is a little longer than Fortnox's (5.2 s by
default): a request granted here reaches Fortnox some milliseconds later, and the margin absorbs
that transit jitter so Fortnox's own 5-second window never sees a 26th request.

A writer *waits* for its slot (it does not fail), but never longer than `max_wait`: the writer's
claim on an order must outlive the wait and the call (services/fortnox_writer/ledger.py), so past it
the message goes back to the delay queue. If a 429 happens anyway, `penalize` blocks the tenant for
a whole window on every replica. If Redis loses the logs, nobody sends for one window: what was sent
just before is unknown (ratelimit.lua).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from libs.common import metrics
from libs.common.errors import TransientError

__all__ = ["RateLimiter"]

_SCRIPT = (Path(__file__).with_name("ratelimit.lua")).read_text()


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, prefix: str, *, limit: int = 25, window: float = 5.2,
                 max_wait: float = 10.0) -> None:
        self._redis = redis
        self._prefix = prefix
        self.limit = limit
        self.window_ms = int(window * 1000)
        self.max_wait = max_wait
        self._script = redis.register_script(_SCRIPT)

    def _keys(self, client_id: str, tenant: str) -> list[str]:
        base = f"{self._prefix}:rl:{client_id}:{tenant}"
        return [base, base + ":block", f"{self._prefix}:rl:epoch", f"{self._prefix}:rl:block-all"]

    async def try_acquire(self, client_id: str, tenant: str) -> float:
        """Take a slot if one is free: 0.0, else the seconds until one may be."""
        try:
            wait_ms = await self._script(keys=self._keys(client_id, tenant),
                                         args=[self.limit, self.window_ms, uuid.uuid4().hex])
        except RedisError as exc:
            raise TransientError(f"rate limiter unavailable (Redis): {exc}", code="redis-unavailable") from exc
        return int(wait_ms) / 1000.0

    async def acquire(self, client_id: str, tenant: str) -> float:
        """Wait for a slot; returns the seconds waited. Raises TransientError past `max_wait`."""
        started = time.monotonic()
        while True:
            wait = await self.try_acquire(client_id, tenant)
            waited = time.monotonic() - started
            if wait == 0:
                metrics.RATE_LIMIT_WAIT.observe(waited)
                return waited
            if waited + wait > self.max_wait:
                raise TransientError(f"tenant {tenant} has no Fortnox rate-limit slot for {self.max_wait:.0f}s",
                                     code="rate-limit-backlog", delay=wait)
            await asyncio.sleep(wait)  # pacing to the slot, not synchronisation

    async def penalize(self, client_id: str, tenant: str, seconds: float = 5.0) -> None:
        """After a 429: no replica sends for this tenant for `seconds`."""
        try:
            await self._redis.set(self._keys(client_id, tenant)[1], "429", px=int(seconds * 1000))
        except RedisError as exc:
            raise TransientError(f"rate limiter unavailable (Redis): {exc}", code="redis-unavailable") from exc
