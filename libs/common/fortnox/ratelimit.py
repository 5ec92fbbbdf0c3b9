"""Fortnox's rate limit, shared by every writer replica through Redis.

Fortnox allows 25 requests per 5 seconds per (client app, tenant), as a sliding window, and
answers 429 past it with no headers (Fortnox developer docs,
https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits). The limiter keeps
an exact sliding log in Redis (ratelimit.lua, one round trip per request, the server's clock), so
no number of replicas can exceed it.

Fortnox counts a request when it *arrives*; the limiter grants it earlier, and on a loaded machine
the gap can be hundreds of milliseconds (the short chaos run saw a 26th request in a window after
a writer restart starved the others' event loops). So a request is held in the log as "may still
arrive" until it is answered, and then stamped with the time of its answer (`slot`): every request
Fortnox counts in a window is in the log for at least that window, whatever the delay. The window
is a little longer than Fortnox's (5.1 s) only for clock resolution.

A writer *waits* for its slot (it does not fail), but never longer than `max_wait`: the writer's
claim on an order must outlive the wait and the call (services/fortnox_writer/ledger.py), so past it
the message goes back to the delay queue. If a 429 happens anyway, `penalize` blocks the tenant for
a whole window on every replica. If Redis loses the logs, nobody sends for one window plus
`loss_grace` (1 s) for requests granted before the loss that are still on their way: what was sent
just before is unknown (ratelimit.lua). That grace is an assumption, not a proof (the log's own
"in flight until answered" entries are lost with it); the longest grant-to-arrival delay the chaos
runs have seen is about 0.3 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from libs.common import metrics
from libs.common.errors import TransientError

__all__ = ["RateLimiter"]

_SCRIPT = (Path(__file__).with_name("ratelimit.lua")).read_text()
# A granted request answered (or given up): from now on it counts from this moment, not as in flight.
_SETTLE = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[1], 'XX', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
end
return 0
"""


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, prefix: str, *, limit: int = 25, window: float = 5.1,
                 max_wait: float = 10.0, loss_grace: float = 1.0) -> None:
        self._redis = redis
        self._prefix = prefix
        self.limit = limit
        self.window_ms = int(window * 1000)
        self.max_wait = max_wait
        self.loss_grace_ms = int(loss_grace * 1000)
        self._script = redis.register_script(_SCRIPT)
        self._settle = redis.register_script(_SETTLE)

    def _keys(self, client_id: str, tenant: str) -> list[str]:
        base = f"{self._prefix}:rl:{client_id}:{tenant}"
        return [base, base + ":block", self._epoch_key, f"{self._prefix}:rl:block-all"]

    @property
    def _epoch_key(self) -> str:
        return f"{self._prefix}:rl:epoch"

    async def try_acquire(self, client_id: str, tenant: str, *, member: str | None = None,
                          hold: float = 0.0) -> float:
        """Take a slot if one is free: 0.0, else the seconds until one may be. The slot counts as
        in flight for `hold` seconds, or until settled (`slot`)."""
        try:
            wait_ms = await self._script(keys=self._keys(client_id, tenant),
                                         args=[self.limit, self.window_ms, member or uuid.uuid4().hex,
                                               int(hold * 1000), self.loss_grace_ms])
        except RedisError as exc:
            raise TransientError(f"rate limiter unavailable (Redis): {exc}", code="redis-unavailable") from exc
        return int(wait_ms) / 1000.0

    async def acquire(self, client_id: str, tenant: str, *, member: str | None = None, hold: float = 0.0) -> float:
        """Wait for a slot; returns the seconds waited. Raises TransientError past `max_wait`."""
        started = time.monotonic()
        while True:
            wait = await self.try_acquire(client_id, tenant, member=member, hold=hold)
            waited = time.monotonic() - started
            if wait == 0:
                metrics.RATE_LIMIT_WAIT.observe(waited)
                return waited
            if waited + wait > self.max_wait:
                raise TransientError(f"tenant {tenant} has no Fortnox rate-limit slot for {self.max_wait:.0f}s",
                                     code="rate-limit-backlog", delay=wait)
            await asyncio.sleep(wait)  # pacing to the slot, not synchronisation

    @contextlib.asynccontextmanager
    async def slot(self, client_id: str, tenant: str, *, hold: float) -> AsyncIterator[float]:
        """Wait for a slot, for one request that must be answered or given up within `hold`
        seconds (the caller enforces that); yields the seconds waited. On leaving, the request
        counts from that moment for one window."""
        member = uuid.uuid4().hex
        waited = await self.acquire(client_id, tenant, member=member, hold=hold)
        try:
            yield waited
        finally:
            # Left in flight if Redis is unreachable: it then counts until `hold`, which only waits longer.
            with contextlib.suppress(RedisError):
                await self._settle(keys=[self._keys(client_id, tenant)[0]], args=[member])

    async def fresh_start(self) -> None:
        """This deployment has never sent a request (its store of record says so): the logs are
        empty, not lost, so there is nothing to wait out."""
        try:
            await self._redis.set(self._epoch_key, "1", nx=True)
        except RedisError as exc:
            raise TransientError(f"rate limiter unavailable (Redis): {exc}", code="redis-unavailable") from exc

    async def penalize(self, client_id: str, tenant: str, seconds: float = 5.0) -> None:
        """After a 429: no replica sends for this tenant for `seconds`."""
        try:
            await self._redis.set(self._keys(client_id, tenant)[1], "429", px=int(seconds * 1000))
        except RedisError as exc:
            raise TransientError(f"rate limiter unavailable (Redis): {exc}", code="redis-unavailable") from exc
