"""The writer's message handlers: parse the command, check the tenant, apply, record."""

from __future__ import annotations

import time
from typing import Any

import httpx
import structlog

from libs.common.commands import RESULT_DOCUMENT, ArticleCommand, CustomerCommand, DocumentCommand, DocumentResult
from libs.common.envelope import Envelope, deterministic_id
from libs.common.errors import PermanentError
from libs.common.fortnox.client import FortnoxClient
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.fortnox.tokens import TokenManager
from libs.common.publisher import Publisher
from libs.common.shop_settings import ShopSettings
from libs.common.store.bookings import BookingStore
from libs.common.store.tenants import Tenant, TenantStore
from services.fortnox_writer.articles import apply_article
from services.fortnox_writer.context import WriterContext
from services.fortnox_writer.customers import ensure_customer
from services.fortnox_writer.documents import apply_document, dry_run
from services.fortnox_writer.epoch import EpochKeeper
from services.fortnox_writer.ledger import Ledger

__all__ = ["WriterHandlers"]

log = structlog.get_logger("woonox.writer")
TENANT_CACHE_S = 5.0


class WriterHandlers:
    def __init__(self, *, tenants: TenantStore, bookings: BookingStore, tokens: TokenManager,
                 limiter: RateLimiter, ledger: Ledger, http: httpx.AsyncClient, http_timeout: float,
                 results: Publisher | None = None) -> None:
        self._tenants = tenants
        self._bookings = bookings
        self._tokens = tokens
        self._limiter = limiter
        self._ledger = ledger
        self._http = http
        self._timeout = http_timeout
        self._results = results
        self._epoch = EpochKeeper(bookings.sessions, ledger, limiter)
        self._cache: dict[str, tuple[float, Tenant, ShopSettings]] = {}

    async def _tenant(self, tenant_id: str) -> tuple[Tenant, ShopSettings]:
        hit = self._cache.get(tenant_id)
        if hit and hit[0] > time.monotonic():
            return hit[1], hit[2]
        tenant = await self._tenants.require(tenant_id)
        try:
            shop = ShopSettings.model_validate(tenant.settings)
        except ValueError as exc:
            raise PermanentError(f"tenant {tenant_id} has invalid sync settings: {exc}", code="bad-settings") from exc
        self._cache[tenant_id] = (time.monotonic() + TENANT_CACHE_S, tenant, shop)
        return tenant, shop

    async def context(self, tenant_id: str) -> WriterContext:
        tenant, shop = await self._tenant(tenant_id)
        client = FortnoxClient(self._http, tenant, self._tokens, self._limiter, timeout=self._timeout)
        return WriterContext(tenant=tenant, shop=shop, client=client, ledger=self._ledger, bookings=self._bookings)

    async def handle(self, envelope: Envelope) -> None:
        """Apply a `fortnox.command.*` to the tenant's Fortnox company."""
        kind = envelope.type.split(".")[2] if envelope.type.count(".") >= 2 else ""
        await self._epoch.seed()
        ctx = await self.context(envelope.tenant)
        try:
            await self._apply(envelope, kind, ctx)
        finally:
            await self._epoch.record()

    async def _apply(self, envelope: Envelope, kind: str, ctx: WriterContext) -> None:
        result: dict[str, Any]
        if kind == "document":
            cmd = DocumentCommand.from_body(envelope.body)
            _same_tenant(envelope, cmd.tenant)
            try:
                result = await (dry_run(ctx, cmd) if ctx.shop.dry_run else apply_document(ctx, cmd))
            except PermanentError as exc:
                # Dead-lettered next: the shop owner learns why from the order itself.
                await self._publish_result(envelope, cmd, {"outcome": "failed", "reason": exc.reason})
                raise
            await self._publish_result(envelope, cmd, result)
        elif ctx.shop.dry_run:
            result = {"outcome": "dry-run", "skipped": envelope.type}
        elif kind == "article":
            article = ArticleCommand.from_body(envelope.body)
            _same_tenant(envelope, article.tenant)
            result = await apply_article(ctx, article)
        elif kind == "customer":
            customer = CustomerCommand.from_body(envelope.body)
            _same_tenant(envelope, customer.tenant)
            result = {"customer": await ensure_customer(ctx, customer, 0)}
        else:
            raise PermanentError(f"the writer does not know message type {envelope.type}", code="unknown-type")
        log.info("command_applied", requests=ctx.client.requests, **result)

    async def _publish_result(self, envelope: Envelope, cmd: DocumentCommand, result: dict[str, Any]) -> None:
        """Tell the shop what happened (the woo-writer turns this into an order note)."""
        if self._results is None or result.get("outcome") in ("stale", "duplicate"):
            return
        body = DocumentResult(tenant=cmd.tenant, woo_order_id=cmd.woo_order_id, kind=cmd.kind,
                              outcome=str(result["outcome"]), number=str(result.get("number") or ""),
                              invoice=result.get("invoice"), payment=result.get("payment"),
                              credits=list(result.get("credits") or []), warnings=cmd.warnings,
                              reason=result.get("reason"))
        await self._results.publish(Envelope.new(
            tenant=cmd.tenant, type=RESULT_DOCUMENT, body=body.to_body(), correlation_id=envelope.correlation_id,
            id=deterministic_id(cmd.tenant, "result", cmd.woo_order_id, body.model_dump_json())))


def _same_tenant(envelope: Envelope, tenant: str) -> None:
    # Invariant 7: a message of shop A can never write to shop B's Fortnox.
    if tenant != envelope.tenant:
        raise PermanentError(f"command for tenant {tenant} arrived in tenant {envelope.tenant}'s envelope",
                             code="tenant-mismatch")
