"""Shared set-up for writer tests: a sandbox company, a tenant in the store of record with its
tokens, and the writer's handlers wired to real Redis and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.commands import CustomerCommand, CustomerMatch, DocumentCommand, external_reference
from libs.common.crypto import SecretBox
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.fortnox.tokens import TokenManager
from libs.common.publisher import Publisher
from libs.common.settings import CommonSettings
from libs.common.store.bookings import BookingStore
from libs.common.store.effects import EffectStore
from libs.common.store.tenants import TenantNew, TenantStore
from services.fortnox_writer.handlers import WriterHandlers
from services.fortnox_writer.ledger import Ledger


@dataclass
class SandboxCompany:
    database_number: int
    client_id: str
    client_secret: str
    access_token: str
    refresh_token: str | None
    expires_in: int
    scope: str


async def create_company(http: httpx.AsyncClient, sandbox_url: str, *, scopes: list[str] | None = None,
                         name: str = "Testbolaget AB") -> SandboxCompany:
    client_id = f"client-{uuid.uuid4().hex[:8]}"
    secret = uuid.uuid4().hex
    body: dict[str, Any] = {"name": name, "client_id": client_id, "client_secret": secret}
    if scopes is not None:
        body["scopes"] = scopes
    response = await http.post(f"{sandbox_url}/_sandbox/companies", json=body)
    response.raise_for_status()
    data = response.json()
    return SandboxCompany(data["database_number"], client_id, secret, data["access_token"], data["refresh_token"],
                          data["expires_in"], data["scope"])


async def add_tenant(sessions: async_sessionmaker[AsyncSession], settings: CommonSettings, redis: aioredis.Redis,
                     http: httpx.AsyncClient, sandbox_url: str, tenant_id: str, company: SandboxCompany,
                     shop_settings: dict[str, Any] | None = None, webhook_secret: str = "webhook-secret-1") -> None:
    box = SecretBox(settings.secret_keys.get_secret_value())
    await TenantStore(sessions, box).add(TenantNew(
        id=tenant_id, shop_url="https://shop.example", webhook_secret=webhook_secret,
        fortnox_api_url=sandbox_url, fortnox_auth_url=sandbox_url, fortnox_client_id=company.client_id,
        fortnox_client_secret=company.client_secret, settings=shop_settings or {},
    ))
    await TokenManager(sessions, redis, box, http, settings.redis_prefix).store(
        tenant_id, company.access_token, company.refresh_token, company.expires_in, company.scope)


def writer_handlers(sessions: async_sessionmaker[AsyncSession], settings: CommonSettings, redis: aioredis.Redis,
                    http: httpx.AsyncClient, results: Publisher | None = None, *, lease_ms: int = 60_000,
                    degraded_ms: int = 15 * 60_000, limiter: RateLimiter | None = None) -> WriterHandlers:
    """A writer, in process. Tests of faults shorten the lease and the degraded window so that a
    claim's expiry and the end of the window are reached by waiting on them, not by timing."""
    box = SecretBox(settings.secret_keys.get_secret_value())
    return WriterHandlers(
        tenants=TenantStore(sessions, box), bookings=BookingStore(sessions),
        tokens=TokenManager(sessions, redis, box, http, settings.redis_prefix),
        limiter=limiter or RateLimiter(redis, settings.redis_prefix),
        ledger=Ledger(redis, settings.redis_prefix, effects=EffectStore(sessions), lease_ms=lease_ms,
                      degraded_ms=degraded_ms),
        http=http, http_timeout=10.0, results=results,
    )


def order_command(tenant: str, order_id: int, *, modified: datetime | None = None, price: str = "100.00",
                  email: str = "anna@example.se", account: int = 3001, **extra: Any) -> DocumentCommand:
    return DocumentCommand(
        tenant=tenant, woo_order_id=order_id, kind="order",
        snapshot_modified=modified or datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        external_ref=external_reference(tenant, order_id), woo_status="processing",
        customer=CustomerCommand(tenant=tenant, match=CustomerMatch(email=email),
                                 body={"Name": "Anna Andersson", "Email": email, "CountryCode": "SE"}),
        document={"OrderDate": "2026-11-01", "Currency": "SEK", "YourReference": "Anna Andersson",
                  "OrderRows": [{"Description": "Kaffe", "OrderedQuantity": Decimal("2"),
                                 "DeliveredQuantity": Decimal("2"), "Price": Decimal(price),
                                 "VAT": 25, "AccountNumber": account}]},
        **extra,
    )
