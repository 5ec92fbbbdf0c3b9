"""The booking map (WooCommerce object -> Fortnox document) and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.store.models import AuditEntry, Booking, EffectRow

__all__ = ["BookingRecord", "BookingStore", "upsert_booking"]


class BookingRecord(BaseModel):
    tenant_id: str
    woo_resource: str
    woo_id: str
    kind: str
    fortnox_number: str | None = None
    snapshot_modified: datetime | None = None
    snapshot_hash: str | None = None
    detail: dict[str, Any] = {}


class BookingStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._sessions = sessions

    async def get(self, tenant_id: str, woo_resource: str, woo_id: str, kind: str) -> BookingRecord | None:
        async with self._sessions() as session:
            row = await session.get(Booking, (tenant_id, woo_resource, woo_id, kind))
            if row is None:
                return None
            return BookingRecord.model_validate(row, from_attributes=True)

    async def record(self, booking: BookingRecord, *, action: str, audit: dict[str, Any] | None = None) -> None:
        """Upsert the booking and append to the audit trail, in one transaction."""
        async with self._sessions.begin() as session:
            await upsert_booking(session, booking, action=action, audit=audit)

    async def forget(self, tenant_id: str, woo_resource: str, woo_id: str, kind: str) -> None:
        """Forget a booking (reconcile, after Fortnox lost the document), and the writer's durable
        record of the object's effects with it (its ledger object is `{woo_resource}:{woo_id}`), so
        the next command starts from scratch instead of trusting a document that is gone."""
        async with self._sessions.begin() as session:
            await session.execute(delete(Booking).where(
                Booking.tenant_id == tenant_id, Booking.woo_resource == woo_resource, Booking.woo_id == woo_id,
                Booking.kind == kind))
            await session.execute(delete(EffectRow).where(EffectRow.tenant_id == tenant_id,
                                                          EffectRow.obj == f"{woo_resource}:{woo_id}"))

    async def audit(self, tenant_id: str, woo_resource: str, woo_id: str, action: str,
                    detail: dict[str, Any] | None = None) -> None:
        async with self._sessions.begin() as session:
            session.add(AuditEntry(tenant_id=tenant_id, woo_resource=woo_resource, woo_id=woo_id,
                                   action=action, detail=detail or {}))

    async def trail(self, tenant_id: str, woo_resource: str, woo_id: str) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = (await session.scalars(
                select(AuditEntry).where(AuditEntry.tenant_id == tenant_id, AuditEntry.woo_resource == woo_resource,
                                         AuditEntry.woo_id == woo_id).order_by(AuditEntry.id)
            )).all()
            return [{"at": r.at.isoformat(), "action": r.action, "detail": r.detail} for r in rows]

    async def all_for(self, tenant_id: str, woo_resource: str = "order") -> list[BookingRecord]:
        async with self._sessions() as session:
            rows = (await session.scalars(
                select(Booking).where(Booking.tenant_id == tenant_id, Booking.woo_resource == woo_resource)
            )).all()
            return [BookingRecord.model_validate(r, from_attributes=True) for r in rows]


async def upsert_booking(session: AsyncSession, booking: BookingRecord, *, action: str,
                         audit: dict[str, Any] | None = None) -> None:
    """The booking upsert and its audit entry, inside the caller's transaction."""
    stmt = insert(Booking).values(**booking.model_dump())
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "woo_resource", "woo_id", "kind"],
        set_={k: stmt.excluded[k] for k in ("fortnox_number", "snapshot_modified", "snapshot_hash", "detail")},
    )
    await session.execute(stmt)
    session.add(AuditEntry(tenant_id=booking.tenant_id, woo_resource=booking.woo_resource,
                           woo_id=booking.woo_id, action=action, detail=audit or {}))
