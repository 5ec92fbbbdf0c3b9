"""fortnox-writer: applies `fortnox.command.*` to Fortnox, one queue per tenant.

    woonox-writer      (env: RABBITMQ_URL, REDIS_URL, DATABASE_URL, WOONOX_SECRET_KEYS, WOONOX_WRITER_PORT)

Scale it out freely (`docker compose up --scale fortnox-writer=N`): the rate limiter, the token
refresh and the ledger are shared through Redis and PostgreSQL (the record of every effect on Fortnox is in PostgreSQL).
"""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis
from fastapi import FastAPI

from libs.common.consumer import ConsumerService
from libs.common.crypto import SecretBox
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.fortnox.tokens import TokenManager
from libs.common.logging import configure_logging
from libs.common.outbound import guarded_client
from libs.common.runner import serve
from libs.common.store.bookings import BookingStore
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.store.effects import EffectStore
from libs.common.store.tenants import TenantStore
from libs.common.topology import FORTNOX_WRITER
from services.fortnox_writer.handlers import WriterHandlers
from services.fortnox_writer.ledger import Ledger
from services.fortnox_writer.settings import WriterSettings

__all__ = ["create_app", "fortnox_http", "main"]


def fortnox_http() -> httpx.AsyncClient:
    """The writer's one client. Both URLs it calls are tenant fields (fortnox_api_url, and
    fortnox_auth_url for the token refresh, which carries the client secret), so every connect is
    checked against internal addresses (issue 16)."""
    return guarded_client(timeout=5.0, limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))


def create_app(settings: WriterSettings) -> FastAPI:
    service = ConsumerService("fortnox-writer", settings)
    engine = make_engine(settings.database_url, settings.db_schema)
    sessions = make_sessionmaker(engine)
    box = SecretBox(settings.secret_keys.get_secret_value())
    redis = aioredis.from_url(settings.redis_url)
    http = fortnox_http()
    tenants = TenantStore(sessions, box)
    handlers = WriterHandlers(
        tenants=tenants,
        bookings=BookingStore(sessions),
        tokens=TokenManager(sessions, redis, box, http, settings.redis_prefix),
        limiter=RateLimiter(redis, settings.redis_prefix, limit=settings.rate_limit, window=settings.rate_window,
                            max_wait=settings.rate_limit_max_wait),
        ledger=Ledger(redis, settings.redis_prefix, effects=EffectStore(sessions), lease_ms=settings.claim_lease_ms,
                      degraded_ms=settings.degraded_ms),
        http=http,
        http_timeout=settings.http_timeout,
        results=service.publisher,
    )

    async def tenant_ids() -> list[str]:
        return [t.id for t in await tenants.list()]

    service.consume_per_tenant(FORTNOX_WRITER, handlers.handle, tenant_ids,
                               refresh_seconds=settings.tenant_refresh_seconds)

    @service.on_shutdown
    async def close() -> None:
        await http.aclose()
        await redis.aclose()
        await engine.dispose()

    return service.asgi()


def main() -> None:
    settings = WriterSettings()
    configure_logging("fortnox-writer", settings.log_level, settings.log_json)
    serve(create_app(settings), host=settings.host, port=settings.port)
