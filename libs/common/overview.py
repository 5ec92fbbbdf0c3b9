"""What an operator wants to see at a glance, gathered once for `woonox status` and the status page:
queue and DLQ depths per consumer group, tenants with their status and Fortnox token health, the
last booking per tenant and the most recent bookings, all read from RabbitMQ and the store of record.

Token health is read from PostgreSQL (the token pair of record, libs/common/store/models.py), never
from Redis, which only caches it; secrets are not decrypted for this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.errors import PermanentError, TransientError
from libs.common.queue_stats import GroupStats, group_stats
from libs.common.store.models import AuditEntry, Booking, FortnoxToken, TenantRow
from libs.common.topology import Topology

__all__ = ["BookingLine", "Overview", "TenantHealth", "audit_trail", "overview", "rate_limit_use", "store_errors",
           "token_health"]

# The writers' limiter window (services/fortnox_writer/settings.py rate_window: 5.1 s).
RATE_WINDOW_MS = 5100
# Fortnox access tokens live one hour (Fortnox developer docs,
# https://www.fortnox.se/developer/authorization); the writer refreshes ahead.
EXPIRING = timedelta(minutes=5)


def token_health(expires_at: datetime | None, has_refresh: bool, now: datetime) -> str:
    """ok / expiring / expired (refreshable) / refresh-missing / none (never connected)."""
    if expires_at is None and not has_refresh:
        return "none"
    if expires_at is not None and expires_at - now > EXPIRING:
        return "ok"
    if not has_refresh:
        return "refresh-missing"
    return "expiring" if expires_at is not None and expires_at > now else "expired"


class BookingLine(BaseModel):
    tenant: str
    woo_resource: str
    woo_id: str
    kind: str
    fortnox_number: str | None
    at: datetime


class TenantHealth(BaseModel):
    id: str
    name: str = ""
    shop_url: str = ""
    status: str = "active"
    status_reason: str | None = None
    token_health: str = "none"  # noqa: S105 (a state name, not a secret)
    token_expires_at: datetime | None = None
    scopes: list[str] = Field(default_factory=list)
    last_booking: BookingLine | None = None
    queue_depth: int | None = Field(None, description="Its own queue, for per-tenant consumer groups")
    rate_limit_used: int | None = Field(None, description="Fortnox requests granted in the current window")
    rate_limit_blocked_ms: int = Field(0, description="> 0 while every writer holds off after a 429")
    fortnox_client_id: str = Field("", exclude=True)  # names the limiter's Redis key


class Overview(BaseModel):
    at: datetime
    groups: list[GroupStats]
    tenants: list[TenantHealth]
    recent_bookings: list[BookingLine]

    @property
    def dead_letters(self) -> int:
        return sum(g.dead.messages for g in self.groups)


@contextlib.contextmanager
def store_errors() -> Iterator[None]:
    """PostgreSQL's failures as woonox errors, so the CLI answers in one line (errors.py)."""
    try:
        yield
    except ProgrammingError as exc:
        raise PermanentError(f"the store of record is not set up ({type(exc.orig).__name__}): run `woonox db "
                             "upgrade` with this WOONOX_DB_SCHEMA", code="store-not-migrated") from exc
    except (OperationalError, InterfaceError, OSError) as exc:
        raise TransientError(f"cannot reach PostgreSQL: {exc}", code="database-unavailable") from exc


def _line(row: Booking) -> BookingLine:
    return BookingLine(tenant=row.tenant_id, woo_resource=row.woo_resource, woo_id=row.woo_id, kind=row.kind,
                       fortnox_number=row.fortnox_number, at=row.updated_at)


async def _tenants(sessions: async_sessionmaker[AsyncSession], now: datetime) -> list[TenantHealth]:
    with store_errors():
        return await _read_tenants(sessions, now)


async def _read_tenants(sessions: async_sessionmaker[AsyncSession], now: datetime) -> list[TenantHealth]:
    async with sessions() as session:
        rows = (await session.execute(
            select(TenantRow, FortnoxToken).outerjoin(FortnoxToken, FortnoxToken.tenant_id == TenantRow.id)
            .order_by(TenantRow.id)
        )).all()
        latest = (
            select(Booking.tenant_id, func.max(Booking.updated_at).label("at")).group_by(Booking.tenant_id).subquery()
        )
        last = {b.tenant_id: _line(b) for b in (await session.scalars(
            select(Booking).join(latest, (Booking.tenant_id == latest.c.tenant_id)
                                 & (Booking.updated_at == latest.c.at))
        )).all()}
    out: list[TenantHealth] = []
    for tenant, token in rows:
        out.append(TenantHealth(
            fortnox_client_id=tenant.fortnox_client_id,
            id=tenant.id, name=tenant.name, shop_url=tenant.shop_url, status=tenant.status,
            status_reason=tenant.status_reason,
            token_health=token_health(token.expires_at, bool(token.refresh_token_enc), now) if token else "none",
            token_expires_at=token.expires_at if token else None,
            scopes=sorted(token.scope.split()) if token and token.scope else [],
            last_booking=last.get(tenant.id),
        ))
    return out


async def recent_bookings(sessions: async_sessionmaker[AsyncSession], *, limit: int = 20,
                          tenant: str | None = None) -> list[BookingLine]:
    query = select(Booking).order_by(Booking.updated_at.desc()).limit(limit)
    if tenant:
        query = query.where(Booking.tenant_id == tenant)
    with store_errors():
        async with sessions() as session:
            return [_line(b) for b in (await session.scalars(query)).all()]


async def rate_limit_use(redis: aioredis.Redis, prefix: str, tenants: list[TenantHealth],
                         window_ms: int = RATE_WINDOW_MS) -> None:
    """Fill in each tenant's use of its Fortnox rate limit from the writers' sliding log in Redis
    (libs/common/fortnox/ratelimit.lua: a sorted set of grant times per client and tenant). Redis
    being away leaves the figures empty: this is a view, not a dependency."""
    try:
        seconds, micros = await redis.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        for t in tenants:
            base = f"{prefix}:rl:{t.fortnox_client_id}:{t.id}"
            t.rate_limit_used = int(await redis.zcount(base, now_ms - window_ms, "+inf"))
            t.rate_limit_blocked_ms = max(0, int(await redis.pttl(base + ":block")))
    except RedisError:
        return


async def overview(rabbitmq_url: str, topology: Topology, sessions: async_sessionmaker[AsyncSession],
                   *, bookings: int = 20, redis: aioredis.Redis | None = None, redis_prefix: str = "woonox",
                   ) -> Overview:
    now = datetime.now(UTC)
    tenants = await _tenants(sessions, now)
    if redis is not None:
        await rate_limit_use(redis, redis_prefix, tenants)
    groups = await group_stats(rabbitmq_url, topology, [t.id for t in tenants])
    for g in groups:
        for q in g.tenant_queues:
            for t in tenants:
                if q.name.endswith(f".{t.id}") and q.exists:
                    t.queue_depth = (t.queue_depth or 0) + q.messages
    return Overview(at=now, groups=groups, tenants=tenants,
                    recent_bookings=await recent_bookings(sessions, limit=bookings))


async def audit_trail(sessions: async_sessionmaker[AsyncSession], tenant: str, woo_id: str,
                      woo_resource: str = "order") -> dict[str, Any]:
    """Everything the store of record knows about one WooCommerce object: its bookings (one per
    document kind) and every audit entry (events received, documents, payments, retries), oldest first."""
    with store_errors():
        return await _read_trail(sessions, tenant, woo_id, woo_resource)


async def _read_trail(sessions: async_sessionmaker[AsyncSession], tenant: str, woo_id: str,
                      woo_resource: str) -> dict[str, Any]:
    async with sessions() as session:
        booked = (await session.scalars(select(Booking).where(
            Booking.tenant_id == tenant, Booking.woo_resource == woo_resource, Booking.woo_id == woo_id,
        ).order_by(Booking.kind))).all()
        entries = (await session.scalars(select(AuditEntry).where(
            AuditEntry.tenant_id == tenant, AuditEntry.woo_resource == woo_resource, AuditEntry.woo_id == woo_id,
        ).order_by(AuditEntry.at, AuditEntry.id))).all()
    return {
        "bookings": [
            {"kind": b.kind, "fortnox_number": b.fortnox_number, "snapshot_modified": b.snapshot_modified,
             "snapshot_hash": b.snapshot_hash, "detail": b.detail, "updated_at": b.updated_at} for b in booked
        ],
        "events": [{"at": e.at, "action": e.action, "detail": e.detail} for e in entries],
    }
