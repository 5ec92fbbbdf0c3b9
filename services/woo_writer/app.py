"""Wiring of the woo-writer: consumes `woo.command.*` (the woo-writer queue) and applies each command
to the tenant's shop through the WooCommerce REST client; and `fortnox.result.*` (the results queue),
which become order notes ("Bokförd i Fortnox som faktura 1042")."""

from __future__ import annotations

import time

import httpx
import redis.asyncio as aioredis
import structlog

from libs.common.commands import COMMAND_STOCK, RESULT_DOCUMENT, DocumentResult, StockCommand
from libs.common.consumer import ConsumerService
from libs.common.crypto import SecretBox
from libs.common.envelope import Envelope
from libs.common.errors import Busy, PermanentError
from libs.common.logging import configure_logging
from libs.common.outbound import guarded_client
from libs.common.runner import serve
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.store.tenants import TenantStore
from libs.common.topology import RESULTS, WOO_WRITER
from libs.common.woo import WooClient, WooCredentials
from services.woo_writer.settings import WooWriterSettings
from services.woo_writer.stock import apply_stock

__all__ = ["create_service", "main", "shop_http"]

log = structlog.get_logger("woonox.woo_writer")
NOTE_SEEN_SECONDS = 7 * 24 * 3600
NOTE_CLAIM_SECONDS = 120


class _Clients:
    """One WooClient per tenant, rebuilt after a while so changed keys are picked up."""

    def __init__(self, store: TenantStore, http: httpx.AsyncClient, ttl: float) -> None:
        self._store, self._http, self._ttl = store, http, ttl
        self._clients: dict[str, tuple[float, WooClient]] = {}

    async def get(self, tenant_id: str) -> WooClient:
        entry = self._clients.get(tenant_id)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        tenant = await self._store.require(tenant_id)
        if tenant.woo_consumer_key is None or tenant.woo_consumer_secret is None:
            raise PermanentError(f"tenant {tenant_id!r} has no WooCommerce API keys: add them with the admin API",
                                 code="no-woo-keys")
        client = WooClient(WooCredentials(tenant.shop_url, tenant.woo_consumer_key, tenant.woo_consumer_secret),
                           http=self._http)
        self._clients[tenant_id] = (time.monotonic() + self._ttl, client)
        return client


def shop_http() -> httpx.AsyncClient:
    """The client for the tenants' shops: the shop URL is a tenant field, so every connect is
    checked against internal addresses (issue 16)."""
    return guarded_client(timeout=30)


def create_service(settings: WooWriterSettings, *, http: httpx.AsyncClient | None = None) -> ConsumerService:
    service = ConsumerService("woo-writer", settings)
    engine = make_engine(settings.database_url, settings.db_schema, pool_size=2)
    store = TenantStore(make_sessionmaker(engine), SecretBox(settings.secret_keys.get_secret_value()))
    own_http = http is None
    client = http or shop_http()
    redis = aioredis.from_url(settings.redis_url)
    clients = _Clients(store, client, settings.tenant_cache_seconds)

    async def handle(envelope: Envelope) -> None:
        """Apply a Fortnox stock/price change to WooCommerce (batch endpoint, echo-safe)."""
        if envelope.type != COMMAND_STOCK:
            raise PermanentError(f"the woo-writer does not know {envelope.type!r}", code="unknown-command")
        command = StockCommand.model_validate_json(envelope.body)
        if command.tenant != envelope.tenant:
            raise PermanentError("command tenant differs from the envelope's x-tenant", code="tenant-mismatch")
        await apply_stock(command, await clients.get(command.tenant), redis, settings.redis_prefix,
                          settings.echo_seconds)

    service.consume(WOO_WRITER, handle)

    async def note(envelope: Envelope) -> None:
        """Tell the shop what woonox did in Fortnox: an order note the shop owner sees."""
        if envelope.type != RESULT_DOCUMENT:
            raise PermanentError(f"the woo-writer does not know {envelope.type!r}", code="unknown-result")
        result = DocumentResult.from_body(envelope.body)
        if result.tenant != envelope.tenant:
            raise PermanentError("result tenant differs from the envelope's x-tenant", code="tenant-mismatch")
        try:
            woo = await clients.get(result.tenant)
        except PermanentError as exc:
            if exc.code != "no-woo-keys":
                raise
            log.info("order_note_skipped", tenant=result.tenant, reason=exc.reason)  # a shop without API keys
            return
        # One note per result, even when the result is redelivered while the first is being written.
        seen = f"{settings.redis_prefix}:woo-writer:note:{envelope.id}"
        if not await redis.set(seen, "pending", nx=True, ex=NOTE_CLAIM_SECONDS):
            if await redis.get(seen) == b"done":
                return
            raise Busy("the order note is being written by another delivery", code="note-busy")
        try:
            await woo.add_order_note(result.woo_order_id, result.note())
        except BaseException:
            await redis.delete(seen)
            raise
        await redis.set(seen, "done", ex=NOTE_SEEN_SECONDS)

    service.consume(RESULTS, note)

    @service.on_shutdown
    async def close() -> None:
        if own_http:
            await client.aclose()
        await redis.aclose()
        await engine.dispose()

    return service


def main() -> None:
    settings = WooWriterSettings()
    configure_logging("woo-writer", settings.log_level, settings.log_json)
    serve(create_service(settings).asgi(), host=settings.host, port=settings.port)
