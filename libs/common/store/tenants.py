"""Tenants (shops) and their credentials, decrypted only in memory, as `SecretStr`."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.crypto import SecretBox
from libs.common.errors import PermanentError
from libs.common.outbound import check_url
from libs.common.store.models import TenantRow

__all__ = ["MIN_WEBHOOK_SECRET", "UNREADABLE", "Tenant", "TenantNew", "TenantStore", "generate_webhook_secret"]

log = structlog.get_logger("woonox.store.tenants")
UNREADABLE = "secrets_unreadable"
# A webhook secret is the only thing between the internet and a booking in Fortnox. WooCommerce lets the
# shop owner type any secret, so a shorter one is accepted (down to 8) with a warning; woonox's own
# are longer.
MIN_WEBHOOK_SECRET = 32
_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ORG_NUMBER = re.compile(r"^(\d{2})?\d{6}-?\d{4}$")


class TenantNew(BaseModel):
    """What an operator supplies to add a shop."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str = ""
    shop_url: str
    webhook_secret: SecretStr = Field(min_length=8)
    woo_consumer_key: SecretStr | None = None
    woo_consumer_secret: SecretStr | None = None
    fortnox_api_url: str = "https://api.fortnox.se"
    fortnox_auth_url: str = "https://apps.fortnox.se"
    fortnox_client_id: str = ""
    fortnox_client_secret: SecretStr | None = None
    fortnox_tenant_id: str | None = None
    # The shop's own company (Bolagsverket's format, 556677-8899): when set, a Fortnox consent from
    # any other company is refused before its tokens are stored (libs.common.fortnox.oauth).
    fortnox_organisation_number: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)

    def warnings(self) -> list[str]:
        """What is accepted but weak (shown by the admin API, logged without the secret)."""
        length = len(self.webhook_secret.get_secret_value())
        if length < MIN_WEBHOOK_SECRET:
            return [f"webhook_secret has {length} characters: use {MIN_WEBHOOK_SECRET} or more random ones "
                    "(set the same in WooCommerce's webhook)"]
        return []

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _TENANT_ID.match(value):
            raise ValueError("tenant id: lowercase letters, digits and '-', at most 63, e.g. 'my-shop'")
        return value

    @field_validator("fortnox_organisation_number")
    @classmethod
    def _org(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not _ORG_NUMBER.match(value.strip()):
            raise ValueError("fortnox_organisation_number: ten digits, e.g. 556677-8899")
        return value.strip()

    @field_validator("shop_url", "fortnox_api_url", "fortnox_auth_url")
    @classmethod
    def _url(cls, value: str) -> str:
        # The shop's keys and the Fortnox client secret are sent to these: no SSRF (libs.common.outbound).
        return check_url(value)


def generate_webhook_secret() -> str:
    """A webhook secret for a shop: 43 URL-safe characters (256 random bits)."""
    secret = secrets.token_urlsafe(32)
    assert len(secret) >= MIN_WEBHOOK_SECRET
    return secret


class Tenant(TenantNew):
    status: str = "active"
    status_reason: str | None = None
    created_at: datetime | None = None
    # Listed although its secrets cannot be decrypted with WOONOX_SECRET_KEYS: it carries none, its
    # status is UNREADABLE, and nothing may act for it until the key is back (`TenantStore.list`).
    secrets_unreadable: bool = False


class TenantStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        self._sessions = sessions
        self._box = box

    def _enc(self, value: SecretStr | None) -> str | None:
        return self._box.encrypt(value.get_secret_value()) if value is not None else None

    def _dec(self, value: str | None) -> SecretStr | None:
        return SecretStr(self._box.decrypt(value)) if value is not None else None

    def _to_model(self, row: TenantRow) -> Tenant:
        return Tenant(
            id=row.id,
            name=row.name,
            shop_url=row.shop_url,
            webhook_secret=SecretStr(self._box.decrypt(row.webhook_secret_enc)),
            woo_consumer_key=self._dec(row.woo_consumer_key_enc),
            woo_consumer_secret=self._dec(row.woo_consumer_secret_enc),
            fortnox_api_url=row.fortnox_api_url,
            fortnox_auth_url=row.fortnox_auth_url,
            fortnox_client_id=row.fortnox_client_id,
            fortnox_client_secret=self._dec(row.fortnox_client_secret_enc),
            fortnox_tenant_id=row.fortnox_tenant_id,
            fortnox_organisation_number=row.fortnox_organisation_number,
            settings=row.settings or {},
            status=row.status,
            status_reason=row.status_reason,
            created_at=row.created_at,
        )

    async def add(self, tenant: TenantNew, *, replace: bool = False) -> Tenant:
        async with self._sessions.begin() as session:
            existing = await session.get(TenantRow, tenant.id)
            if existing is not None and not replace:
                raise PermanentError(f"tenant {tenant.id!r} exists already", code="tenant-exists")
            row = existing or TenantRow(id=tenant.id)
            row.name = tenant.name
            row.shop_url = tenant.shop_url
            row.webhook_secret_enc = self._box.encrypt(tenant.webhook_secret.get_secret_value())
            row.woo_consumer_key_enc = self._enc(tenant.woo_consumer_key)
            row.woo_consumer_secret_enc = self._enc(tenant.woo_consumer_secret)
            row.fortnox_api_url = tenant.fortnox_api_url
            row.fortnox_auth_url = tenant.fortnox_auth_url
            row.fortnox_client_id = tenant.fortnox_client_id
            row.fortnox_client_secret_enc = self._enc(tenant.fortnox_client_secret)
            row.fortnox_tenant_id = tenant.fortnox_tenant_id
            row.fortnox_organisation_number = tenant.fortnox_organisation_number
            row.settings = tenant.settings
            row.status = "active"
            row.status_reason = None
            session.add(row)
        got = await self.get(tenant.id)
        assert got is not None
        return got

    async def get(self, tenant_id: str) -> Tenant | None:
        async with self._sessions() as session:
            row = await session.get(TenantRow, tenant_id)
            return self._to_model(row) if row is not None else None

    async def require(self, tenant_id: str) -> Tenant:
        tenant = await self.get(tenant_id)
        if tenant is None:
            raise PermanentError(f"unknown tenant {tenant_id!r}", code="unknown-tenant")
        return tenant

    async def list(self) -> list[Tenant]:
        """Every tenant; one whose secrets cannot be decrypted is listed marked (`secrets_unreadable`)
        instead of failing the list for all."""
        async with self._sessions() as session:
            rows = (await session.scalars(select(TenantRow).order_by(TenantRow.id))).all()
        tenants: list[Tenant] = []
        for row in rows:
            try:
                tenants.append(self._to_model(row))
            except PermanentError as exc:
                if exc.code != "undecryptable-secret":
                    raise
                log.error("tenant_secrets_unreadable", tenant=row.id, reason=exc.reason)
                tenants.append(_unreadable(row))
        return tenants

    async def remove(self, tenant_id: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(TenantRow).where(TenantRow.id == tenant_id))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def update_settings(self, tenant_id: str, settings: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(TenantRow, tenant_id)
            if row is None:
                raise PermanentError(f"unknown tenant {tenant_id!r}", code="unknown-tenant")
            row.settings = settings

    async def set_status(self, tenant_id: str, status: str, reason: str | None = None) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(TenantRow, tenant_id)
            if row is not None:
                row.status = status
                row.status_reason = reason


def _unreadable(row: TenantRow) -> Tenant:
    # No validation: the row was valid when stored. The webhook secret is a fresh random one nobody
    # knows, so anything that still tried to verify a signature with it would fail closed.
    return Tenant.model_construct(
        id=row.id, name=row.name, shop_url=row.shop_url, webhook_secret=SecretStr(secrets.token_urlsafe(32)),
        woo_consumer_key=None, woo_consumer_secret=None, fortnox_api_url=row.fortnox_api_url,
        fortnox_auth_url=row.fortnox_auth_url, fortnox_client_id=row.fortnox_client_id, fortnox_client_secret=None,
        fortnox_tenant_id=row.fortnox_tenant_id, fortnox_organisation_number=row.fortnox_organisation_number,
        settings=row.settings or {}, status=UNREADABLE, created_at=row.created_at, secrets_unreadable=True,
        status_reason="its stored secrets cannot be decrypted with WOONOX_SECRET_KEYS: put the key they were "
                      "encrypted with back in the list (docs/operations/security.md, Key rotation)")
