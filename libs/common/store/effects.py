"""The durable record of the writer's effects on Fortnox: `attempt` before the call, `done` after.

Redis holds the fast ledger (claims, the limiter); this table is the memory of attempts that no
Redis loss can take away (docs/writer.md). A result is written in the same transaction as the
booking it produces, so an effect costs one extra write: its intent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.store.bookings import BookingRecord, upsert_booking
from libs.common.store.models import EffectRow

__all__ = ["EffectRecord", "EffectStore"]

ATTEMPT, DONE = "attempt", "done"


class EffectRecord(BaseModel):
    effect: str
    reference: str
    state: str
    result: str | None = None
    attempts: int = 0


class EffectStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def load(self, tenant_id: str, obj: str) -> dict[str, EffectRecord]:
        async with self._sessions() as session:
            rows = (await session.scalars(
                select(EffectRow).where(EffectRow.tenant_id == tenant_id, EffectRow.obj == obj))).all()
        return {r.effect: EffectRecord.model_validate(r, from_attributes=True) for r in rows}

    async def attempt(self, tenant_id: str, obj: str, effect: str, reference: str) -> None:
        """Before the call: from now on, Fortnox may hold this effect."""
        async with self._sessions.begin() as session:
            stmt = insert(EffectRow).values(tenant_id=tenant_id, obj=obj, effect=effect, reference=reference,
                                            state=ATTEMPT, result=None, attempts=1)
            await session.execute(stmt.on_conflict_do_update(
                index_elements=["tenant_id", "obj", "effect"],
                set_={"reference": reference, "state": ATTEMPT, "result": None,
                      "attempts": EffectRow.attempts + 1}))

    async def done(self, tenant_id: str, obj: str, effect: str, reference: str, result: str, *,
                   booking: BookingRecord | None = None, action: str = "", audit: dict[str, Any] | None = None) -> None:
        """After the answer (or a lookup that found the effect): its result, with the booking it makes."""
        async with self._sessions.begin() as session:
            stmt = insert(EffectRow).values(tenant_id=tenant_id, obj=obj, effect=effect, reference=reference,
                                            state=DONE, result=result, attempts=0)
            await session.execute(stmt.on_conflict_do_update(
                index_elements=["tenant_id", "obj", "effect"],
                set_={"reference": reference, "state": DONE, "result": result}))
            if booking is not None:
                await upsert_booking(session, booking, action=action, audit=audit)

    async def forget(self, tenant_id: str, obj: str) -> None:
        async with self._sessions.begin() as session:
            await forget_effects(session, tenant_id, obj)


async def forget_effects(session: AsyncSession, tenant_id: str, obj: str) -> None:
    await session.execute(delete(EffectRow).where(EffectRow.tenant_id == tenant_id, EffectRow.obj == obj))
