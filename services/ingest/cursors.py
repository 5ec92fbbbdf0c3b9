"""Sync cursors (how far each tenant's backfill has read), kept in the store of record.

docs/architecture.md ("Deviations from the brief") puts sync cursors in PostgreSQL: losing Redis
must not make a shop re-read its whole
history nor skip a window. A cursor is the newest `date_modified_gmt` (WooCommerce GMT, ISO 8601)
that was published *and confirmed*; the next run starts a little before it (the overlap)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.store.models import SyncCursor

__all__ = ["CursorStore", "parse_gmt"]


def parse_gmt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "")[:19]).replace(tzinfo=UTC)


class CursorStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, tenant_id: str, name: str) -> str | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(SyncCursor).where(SyncCursor.tenant_id == tenant_id, SyncCursor.name == name)
            )
            return row.value if row is not None else None

    async def advance(self, tenant_id: str, name: str, value: str) -> None:
        """Move the cursor forward only: a slow run that finishes late never moves it back."""
        statement = insert(SyncCursor).values(tenant_id=tenant_id, name=name, value=value)
        statement = statement.on_conflict_do_update(
            index_elements=[SyncCursor.tenant_id, SyncCursor.name],
            set_={"value": value, "updated_at": datetime.now(UTC)},
            where=SyncCursor.value < value,
        )
        async with self._sessions.begin() as session:
            await session.execute(statement)
