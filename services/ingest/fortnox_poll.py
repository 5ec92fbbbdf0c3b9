"""Fortnox → WooCommerce: poll each tenant's changed articles (`/3/articles?lastmodified=`,
Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/websockets) and publish
`fortnox.article.changed` (body `{"Article": {...}}`, as the
mapper reads it); the mapper turns it into `woo.command.stock` for the woo-writer.

- Only tenants whose settings sync products from Fortnox (`products.direction` fortnox-to-woo or both).
- The cursor is the UTC time the previous poll started, minus a minute (Fortnox's filter has minute
  granularity). Sent as a UTC wall time: should Fortnox read it as Swedish local time, that is an
  earlier instant, so the answer is a superset, never a gap.
- Re-listed articles are published again only when their content differs from the last one published
  for that article number (a per-article hash in Redis), so A → B → A still sends the final A.
- Echo: an article we wrote to Fortnox comes back here as a change; the woo-writer then finds the shop
  already holding those values and writes nothing (services/woo_writer/stock.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis
import structlog
from pydantic import ValidationError
from redis.exceptions import RedisError

from libs.common.envelope import Envelope, deterministic_id
from libs.common.fortnox.client import FortnoxClient
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.fortnox.tokens import TokenManager
from libs.common.publisher import Publisher
from libs.common.shop_settings import ShopSettings
from libs.common.store.tenants import Tenant
from services.ingest.cursors import CursorStore

__all__ = ["ARTICLE_CHANGED", "FortnoxArticlePoll"]

log = structlog.get_logger("woonox.ingest.fortnox_poll")
ARTICLE_CHANGED = "fortnox.article.changed"
CURSOR = "fortnox.articles"
OVERLAP = timedelta(minutes=1)
REMEMBER_SECONDS = 30 * 24 * 3600


def reverse_sync(tenant: Tenant) -> bool:
    try:
        return ShopSettings.model_validate(tenant.settings).products.direction in ("fortnox-to-woo", "both")
    except ValidationError:
        log.warning("settings_invalid", tenant=tenant.id, reason="cannot tell whether to poll Fortnox articles")
        return False


def _digest(article: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(article, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass
class FortnoxArticlePoll:
    publisher: Publisher
    cursors: CursorStore
    tokens: TokenManager
    limiter: RateLimiter | None
    http: httpx.AsyncClient
    redis: aioredis.Redis
    redis_prefix: str
    first_lookback: timedelta = timedelta(hours=1)

    def _key(self, tenant: str, number: str) -> str:
        return f"{self.redis_prefix}:fortnox:article:{tenant}:{number}"

    async def _last_published(self, tenant: str, numbers: list[str]) -> list[str | None]:
        try:
            values = await self.redis.mget([self._key(tenant, n) for n in numbers]) if numbers else []
        except (RedisError, OSError) as exc:
            log.warning("article_memory_unavailable", error=str(exc))
            return [None] * len(numbers)
        return [v.decode() if isinstance(v, bytes) else v for v in values]

    async def run(self, tenant: Tenant) -> int:
        """Publish this tenant's changed articles; returns how many were published."""
        if not reverse_sync(tenant):
            return 0
        started = datetime.now(UTC)
        stored = await self.cursors.get(tenant.id, CURSOR)
        since = datetime.fromisoformat(stored) - OVERLAP if stored else started - self.first_lookback
        client = FortnoxClient(self.http, tenant, self.tokens, self.limiter)
        articles = await client.list_all("articles", "Articles", lastmodified=since.strftime("%Y-%m-%d %H:%M"))
        articles = [a for a in articles if a.get("ArticleNumber")]
        numbers = [str(a["ArticleNumber"]) for a in articles]
        last = await self._last_published(tenant.id, numbers)
        published = 0
        for article, number, previous in zip(articles, numbers, last, strict=True):
            digest = _digest(article)
            if digest == previous:
                continue
            body = json.dumps({"Article": article}, separators=(",", ":"), default=str).encode()
            await self.publisher.publish(Envelope(
                id=deterministic_id(tenant.id, "fortnox-article", number, digest), tenant=tenant.id,
                type=ARTICLE_CHANGED, occurred_at=started, correlation_id=f"fortnox-poll:{started:%Y%m%dT%H%M%S}",
                body=body))
            try:
                await self.redis.set(self._key(tenant.id, number), digest, ex=REMEMBER_SECONDS)
            except (RedisError, OSError) as exc:  # only costs a re-publish next time
                log.warning("article_memory_unavailable", error=str(exc))
            published += 1
        await self.cursors.advance(tenant.id, CURSOR, started.isoformat())
        if published:
            log.info("fortnox_articles_published", tenant=tenant.id, count=published)
        return published
