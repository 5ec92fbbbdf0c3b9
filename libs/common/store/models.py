"""Tables of the store of record. Secrets are stored Fernet-encrypted (columns named `*_enc`).

Tables are unqualified: each deployment (and each test) lives in its own PostgreSQL schema,
chosen by the connection's search_path (`libs.common.store.db`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["AuditEntry", "Base", "Booking", "EffectRow", "FortnoxToken", "SyncCursor", "TenantRow"]


class Base(DeclarativeBase):
    pass


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    shop_url: Mapped[str] = mapped_column(Text)
    webhook_secret_enc: Mapped[str] = mapped_column(Text)
    woo_consumer_key_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    woo_consumer_secret_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    fortnox_api_url: Mapped[str] = mapped_column(Text)
    fortnox_auth_url: Mapped[str] = mapped_column(Text)
    fortnox_client_id: Mapped[str] = mapped_column(Text, default="")
    fortnox_client_secret_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    fortnox_tenant_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    fortnox_organisation_number: Mapped[str | None] = mapped_column(Text, nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(32), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class FortnoxToken(Base):
    __tablename__ = "fortnox_tokens"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    # Compare-and-set counter: a refresh commits only if nobody else committed since it read.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Booking(Base):
    """The booking map: which Fortnox object a WooCommerce object became, and from which snapshot."""

    __tablename__ = "bookings"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    woo_resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    woo_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    fortnox_number: Mapped[str | None] = mapped_column(Text, nullable=True)
    snapshot_modified: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    snapshot_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_object", "tenant_id", "woo_resource", "woo_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    woo_resource: Mapped[str] = mapped_column(String(32))
    woo_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class SyncCursor(Base):
    __tablename__ = "sync_cursors"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class EffectRow(Base):
    """One external effect of the writer on Fortnox (services/fortnox_writer/ledger.py, docs/writer.md):
    `attempt` is written before the call, `done` with its result after it. An attempt without a
    result means Fortnox may hold the effect: it is looked up before it is tried again."""

    __tablename__ = "effects"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    obj: Mapped[str] = mapped_column(String(200), primary_key=True)  # "order:175", "customer:email:a@b.se"
    effect: Mapped[str] = mapped_column(String(96), primary_key=True)  # "create", "invoice", "credit:7"
    reference: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
