"""Fortnox OAuth2 tokens: PostgreSQL is the record, Redis a cache, one refresh at a time.

Refresh tokens are single-use and rotating (Fortnox developer docs, https://www.fortnox.se/developer/authorization): two
replicas refreshing at once lock the tenant out until a human re-consents. So:

1. An access token is taken from memory, else Redis (encrypted, expiring before the token does),
   else PostgreSQL.
2. Only when PostgreSQL's token is expired (or was rejected with 401) does a replica refresh, and it
   does so while holding the tenant's token row `FOR UPDATE`: a second replica blocks on the row,
   then finds the new pair and uses it. A Redis lock in front keeps the herd off PostgreSQL; it is
   not what makes this correct, so a Redis flush (FLUSHALL) cannot cause a second refresh.
3. The new pair is committed to PostgreSQL before it is used or cached.
4. A refresh token Fortnox rejects marks the tenant `needs_reconnect`; its messages dead-letter
   with that reason (PermanentError) instead of retrying in a hot loop.

Service-account tenants (a `fortnox_tenant_id` and no refresh token) use `client_credentials` with
the `TenantId` header; that grant returns no refresh token.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta

import httpx
import redis.asyncio as aioredis
import structlog
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common import metrics
from libs.common.crypto import SecretBox
from libs.common.errors import PermanentError, TransientError
from libs.common.fortnox.errors import parse_error_body
from libs.common.store.models import FortnoxToken, TenantRow
from libs.common.store.tenants import Tenant

__all__ = ["TokenManager", "TokenResponse", "cache_key"]

log = structlog.get_logger("woonox.tokens")

# A token with less than this left is treated as expired: requests in flight must not outlive it.
EXPIRY_MARGIN = timedelta(seconds=120)
LOCK_LEASE_MS = 30_000  # longer than the token endpoint's HTTP timeout
TOKEN_HTTP_TIMEOUT = 10.0
NEEDS_RECONNECT = "needs_reconnect"


def cache_key(prefix: str, tenant_id: str) -> str:
    """Where Redis caches a tenant's access token (encrypted; `woonox keys rotate` drops it)."""
    return f"{prefix}:token:{tenant_id}"


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str | None = None
    expires_in: int = 3600
    scope: str = ""
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


class TokenManager:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], redis: aioredis.Redis, box: SecretBox,
                 http: httpx.AsyncClient, prefix: str) -> None:
        self._sessions = sessions
        self._redis = redis
        self._box = box
        self._http = http
        self._prefix = prefix
        self._memory: dict[str, tuple[str, float]] = {}

    def _cache_key(self, tenant_id: str) -> str:
        return cache_key(self._prefix, tenant_id)

    async def store(self, tenant_id: str, access_token: str, refresh_token: str | None, expires_in: int,
                    scope: str = "") -> None:
        """Record a token pair (after consent or from `woonox connect`)."""
        async with self._sessions.begin() as session:
            row = await session.get(FortnoxToken, tenant_id) or FortnoxToken(tenant_id=tenant_id, generation=0)
            self._fill(row, access_token, refresh_token, expires_in, scope)
            session.add(row)
            tenant = await session.get(TenantRow, tenant_id)
            if tenant is not None and tenant.status == NEEDS_RECONNECT:
                tenant.status, tenant.status_reason = "active", None
        self._memory.pop(tenant_id, None)
        await self._uncache(tenant_id)

    async def forget(self, tenant_id: str) -> None:
        """Drop a tenant's tokens (before connecting it another way)."""
        async with self._sessions.begin() as session:
            row = await session.get(FortnoxToken, tenant_id)
            if row is not None:
                await session.delete(row)
            tenant = await session.get(TenantRow, tenant_id)
            if tenant is not None and tenant.status == NEEDS_RECONNECT:
                tenant.status, tenant.status_reason = "active", None
        self._memory.pop(tenant_id, None)
        await self._uncache(tenant_id)

    def _fill(self, row: FortnoxToken, access: str, refresh: str | None, expires_in: int, scope: str) -> None:
        row.access_token_enc = self._box.encrypt(access)
        row.refresh_token_enc = self._box.encrypt(refresh) if refresh else None
        row.expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        row.scope = scope
        row.generation = (row.generation or 0) + 1

    async def access_token(self, tenant: Tenant) -> str:
        if tenant.status == NEEDS_RECONNECT:
            raise PermanentError(f"tenant {tenant.id} must reconnect to Fortnox: {tenant.status_reason}",
                                 code="needs-reconnect")
        cached = self._memory.get(tenant.id)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            enc = await self._redis.get(self._cache_key(tenant.id))
        except RedisError:
            enc = None  # Redis is only a cache: go to the record
        if enc:
            token = self._box.decrypt(enc.decode() if isinstance(enc, bytes) else enc)
            ttl = await self._ttl(tenant.id)
            self._memory[tenant.id] = (token, time.monotonic() + min(ttl, 60.0))
            return token
        return await self._from_record(tenant, rejected=None)

    async def invalidate(self, tenant: Tenant, token: str) -> str:
        """Fortnox rejected `token` (401): drop it everywhere and get a fresh one."""
        self._memory.pop(tenant.id, None)
        await self._uncache(tenant.id)
        return await self._from_record(tenant, rejected=token)

    async def _ttl(self, tenant_id: str) -> float:
        try:
            return max(0.0, float(await self._redis.pttl(self._cache_key(tenant_id))) / 1000)
        except RedisError:
            return 0.0

    async def _uncache(self, tenant_id: str) -> None:
        with contextlib.suppress(RedisError):
            await self._redis.delete(self._cache_key(tenant_id))

    async def _cache(self, tenant_id: str, token: str, expires_at: datetime) -> None:
        ttl = (expires_at - datetime.now(UTC) - EXPIRY_MARGIN).total_seconds()
        if ttl <= 1:
            return
        self._memory[tenant_id] = (token, time.monotonic() + min(ttl, 60.0))
        with contextlib.suppress(RedisError):
            await self._redis.set(self._cache_key(tenant_id), self._box.encrypt(token), px=int(ttl * 1000))

    async def _from_record(self, tenant: Tenant, rejected: str | None) -> str:
        lock_key = f"{self._prefix}:lock:token:{tenant.id}"
        try:
            got_lock = bool(await self._redis.set(lock_key, "1", nx=True, px=LOCK_LEASE_MS))
        except RedisError:
            got_lock = True  # no Redis: the row lock below still serialises refreshes
        if not got_lock:
            # Someone is refreshing: their result lands in the cache shortly.
            for _ in range(100):
                await asyncio.sleep(0.1)  # bounded wait for another replica's refresh
                cached = self._memory.get(tenant.id)
                try:
                    enc = await self._redis.get(self._cache_key(tenant.id))
                except RedisError:
                    break
                if enc:
                    token = self._box.decrypt(enc.decode() if isinstance(enc, bytes) else enc)
                    if token != rejected:
                        return token
                if cached and cached[0] != rejected:
                    return cached[0]
        try:
            return await self._refresh_under_row_lock(tenant, rejected)
        finally:
            if got_lock:
                with contextlib.suppress(RedisError):
                    await self._redis.delete(lock_key)

    async def _refresh_under_row_lock(self, tenant: Tenant, rejected: str | None) -> str:
        async with self._sessions.begin() as session:
            row = (await session.execute(
                select(FortnoxToken).where(FortnoxToken.tenant_id == tenant.id).with_for_update()
            )).scalar_one_or_none()
            if row is None:
                row = FortnoxToken(tenant_id=tenant.id, generation=0)
            current = self._box.decrypt(row.access_token_enc) if row.access_token_enc else None
            fresh = row.expires_at is not None and row.expires_at - EXPIRY_MARGIN > datetime.now(UTC)
            if current and fresh and current != rejected:
                await self._cache(tenant.id, current, row.expires_at)  # type: ignore[arg-type]
                return current
            refresh = self._box.decrypt(row.refresh_token_enc) if row.refresh_token_enc else None
            body = await self._token_request(tenant, refresh)
            self._fill(row, body.access_token, body.refresh_token, body.expires_in, body.scope or row.scope or "")
            session.add(row)
            expires_at = row.expires_at
            token = body.access_token
        # Committed: only now is the new pair used or cached (a crash before this line loses
        # nothing that was in use; one after it finds the pair in the record).
        metrics.TOKEN_REFRESHES.labels("ok").inc()
        log.info("fortnox_token_refreshed", tenant=tenant.id)
        await self._cache(tenant.id, token, expires_at)  # type: ignore[arg-type]
        return token

    async def _token_request(self, tenant: Tenant, refresh_token: str | None) -> TokenResponse:
        secret = tenant.fortnox_client_secret.get_secret_value() if tenant.fortnox_client_secret else ""
        headers: dict[str, str] = {}
        if refresh_token:
            data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        elif tenant.fortnox_tenant_id:
            data = {"grant_type": "client_credentials"}
            headers["TenantId"] = tenant.fortnox_tenant_id
        else:
            await self._mark_reconnect(tenant.id, "no Fortnox refresh token stored: connect the tenant")
            raise PermanentError(f"tenant {tenant.id} has no Fortnox token: run `woonox connect {tenant.id}`",
                                 code="needs-reconnect")
        try:
            response = await self._http.post(
                f"{tenant.fortnox_auth_url}/oauth-v1/token", data=data, headers=headers,
                auth=(tenant.fortnox_client_id, secret), timeout=TOKEN_HTTP_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            metrics.TOKEN_REFRESHES.labels("transport-error").inc()
            raise TransientError(f"Fortnox token endpoint unreachable: {exc!r}", code="token-endpoint") from exc
        if response.status_code >= 500 or response.status_code == 429:
            metrics.TOKEN_REFRESHES.labels("unavailable").inc()
            raise TransientError(f"Fortnox token endpoint answered {response.status_code}", code="token-endpoint")
        if response.status_code != 200:
            code, message = parse_error_body(response.content)
            metrics.TOKEN_REFRESHES.labels("rejected").inc()
            reason = f"Fortnox rejected the token request ({response.status_code} {code}: {message})"
            await self._mark_reconnect(tenant.id, reason)
            raise PermanentError(f"{reason}; reconnect with `woonox connect {tenant.id}`", code="needs-reconnect")
        try:
            return TokenResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise TransientError(f"Fortnox token endpoint sent an unexpected body: {exc}",
                                 code="token-endpoint") from exc

    async def _mark_reconnect(self, tenant_id: str, reason: str) -> None:
        # A separate transaction: the caller's row-lock transaction is about to roll back.
        async with self._sessions.begin() as session:
            row = await session.get(TenantRow, tenant_id)
            if row is not None:
                row.status, row.status_reason = NEEDS_RECONNECT, reason
        log.error("fortnox_needs_reconnect", tenant=tenant_id, reason=reason)
