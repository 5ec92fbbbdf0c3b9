"""The ledger's epoch, kept in the store of record too.

Redis losing its data is detected by the epoch key vanishing (ledger.py). A writer that was running
remembers the epoch it saw; a writer that starts after the loss has nothing to remember — so the
last epoch seen is also kept in PostgreSQL, and every writer starts from it.

The same record tells a new deployment from a loss for the rate limiter: with no epoch on record
nothing was ever sent, so its logs are not lost, only empty, and it need not stop everyone for a
window (libs/common/fortnox/ratelimit.lua).
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.store.models import SyncCursor
from services.fortnox_writer.ledger import Ledger

__all__ = ["EpochKeeper"]

_TENANT = "*"
_NAME = "ledger-epoch"


class EpochKeeper:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], ledger: Ledger,
                 limiter: RateLimiter | None = None) -> None:
        self._sessions = sessions
        self._ledger = ledger
        self._limiter = limiter
        self._recorded: str | None = None

    async def seed(self) -> None:
        """Before the first claim: start from the epoch the record holds."""
        if self._recorded is not None:
            return
        async with self._sessions() as session:
            row = await session.get(SyncCursor, (_TENANT, _NAME))
        self._recorded = row.value if row is not None else ""
        if self._recorded:
            self._ledger.know_epoch(self._recorded)
        elif self._limiter is not None:
            await self._limiter.fresh_start()

    async def record(self) -> None:
        """After claims: keep the epoch now in force (rarely changes: a new deployment, a Redis loss)."""
        epoch = self._ledger.epoch
        if not epoch or epoch == self._recorded:
            return
        async with self._sessions.begin() as session:
            stmt = insert(SyncCursor).values(tenant_id=_TENANT, name=_NAME, value=epoch)
            await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "name"],
                                                             set_={"value": epoch}))
        self._recorded = epoch
