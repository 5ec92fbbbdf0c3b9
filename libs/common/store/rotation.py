"""Re-encrypting every stored secret under the first key of WOONOX_SECRET_KEYS (`woonox keys rotate`).

The encrypted columns are every `*_enc` column of the store of record (libs.common.store.models):
a tenant's webhook secret, WooCommerce key and secret, Fortnox client secret, and its Fortnox access
and refresh tokens. Each tenant is one transaction holding both its rows `FOR UPDATE`: a token
refresh (which holds the token row the same way, libs.common.fortnox.tokens) waits for it or it for
the refresh, so a refresh token is never overwritten with an older one. A value already under the
first key is left as it is, so running it again changes nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from libs.common.crypto import SecretBox
from libs.common.errors import PermanentError
from libs.common.store.models import FortnoxToken, TenantRow

__all__ = ["RotationReport", "rotate_secrets"]


class RotationReport(BaseModel):
    tenants: int = 0
    rotated: int = Field(0, description="values re-encrypted under the first key")
    current: int = Field(0, description="values that were under the first key already")
    failed: dict[str, str] = Field(default_factory=dict, description="tenant -> why (never a secret)")


def _encrypted_columns(model: type[DeclarativeBase]) -> list[str]:
    return [c.key for c in model.__table__.columns if c.key.endswith("_enc")]


async def rotate_secrets(sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> RotationReport:
    report = RotationReport()
    async with sessions() as session:
        ids = set((await session.scalars(select(TenantRow.id))).all())
        ids |= set((await session.scalars(select(FortnoxToken.tenant_id))).all())
    for tenant_id in sorted(ids):
        report.tenants += 1
        rotated = current = 0
        try:
            async with sessions.begin() as session:
                for model in (TenantRow, FortnoxToken):
                    row = await session.get(model, tenant_id, with_for_update=True)
                    for column in _encrypted_columns(model) if row is not None else []:
                        value = getattr(row, column)
                        if value is None:
                            continue
                        if box.is_current(value):
                            current += 1
                        else:
                            setattr(row, column, box.rotate(value))
                            rotated += 1
        except PermanentError as exc:  # nothing of this tenant was written; the others go on
            report.failed[tenant_id] = exc.reason
            continue
        report.rotated += rotated
        report.current += current
    return report
