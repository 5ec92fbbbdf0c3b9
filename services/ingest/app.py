"""Wiring of the ingest service: webhooks, health, and (when a token is set) the admin API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
import structlog
from fastapi import FastAPI
from starlette.routing import Route

from libs.common.consumer import health_routes
from libs.common.crypto import SecretBox
from libs.common.errors import TransientError
from libs.common.logging import configure_logging
from libs.common.publisher import Publisher
from libs.common.runner import serve
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.store.tenants import TenantStore
from libs.common.topology import Topology
from services.ingest.dedup import EdgeDedup
from services.ingest.settings import IngestSettings
from services.ingest.tenant_cache import TenantCache
from services.ingest.webhooks import WebhookReceiver

__all__ = ["create_app", "main"]

log = structlog.get_logger("woonox.ingest")
RECONNECT_SECONDS = 2.0


async def _connect_until_up(publisher: Publisher) -> None:
    """Keep trying at start: ingest serves (503 + /readyz 503) while RabbitMQ is away, never crashes."""
    while True:
        try:
            await publisher.connect()
            log.info("broker_connected")
            return
        except TransientError as exc:
            log.warning("broker_unreachable", error=exc.reason)
            await asyncio.sleep(RECONNECT_SECONDS)


def create_app(settings: IngestSettings) -> FastAPI:
    engine = make_engine(settings.database_url, settings.db_schema)
    store = TenantStore(make_sessionmaker(engine), SecretBox(settings.secret_keys.get_secret_value()))
    cache = TenantCache(store, settings.tenant_cache_seconds)
    publisher = Publisher(settings.rabbitmq_url, Topology(settings.broker_prefix))
    redis = aioredis.from_url(settings.redis_url)
    receiver = WebhookReceiver(
        tenants=cache, publisher=publisher, dedup=EdgeDedup(redis, settings.redis_prefix, settings.dedup_seconds),
        redis=redis, redis_prefix=settings.redis_prefix, max_body_bytes=settings.max_body_bytes,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        connecting = asyncio.create_task(_connect_until_up(publisher))
        try:
            yield
        finally:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            await publisher.close()
            await redis.aclose()
            await engine.dispose()

    # redirect_slashes=False: WooCommerce does not follow redirects, so a redirect would silently
    # lose every delivery (../shared/woocommerce/FACTS.md); both spellings are served instead.
    app = FastAPI(title="woonox ingest", lifespan=lifespan, redirect_slashes=False)
    for path in ("/webhooks/woocommerce/{tenant}", "/webhooks/woocommerce/{tenant}/"):
        app.router.routes.append(Route(path, receiver.handle, methods=["POST"], include_in_schema=False))
    app.include_router(health_routes(lambda: publisher.connected))
    app.state.settings = settings
    app.state.publisher = publisher
    app.state.tenant_cache = cache
    app.state.tenant_store = store
    app.state.redis = redis
    return app


def main() -> None:
    settings = IngestSettings()
    configure_logging("ingest", settings.log_level, settings.log_json)
    serve(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
