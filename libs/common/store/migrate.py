"""Apply the Alembic migrations (migrations/) to one schema; safe to run from many processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from libs.common.store.db import async_url, valid_schema

__all__ = ["upgrade"]

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"
_LOCK_KEY = 0x776F6F6E6F78  # "woonox": one migrator at a time across processes


def _config(connection: Connection, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = schema
    return cfg


async def upgrade(url: str, schema: str, revision: str = "head") -> None:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{valid_schema(schema)}"'))
            await conn.execute(text(f'SET LOCAL search_path TO "{schema}"'))
            await conn.run_sync(lambda sync: command.upgrade(_config(sync, schema), revision))
    finally:
        await engine.dispose()


def upgrade_sync(url: str, schema: str) -> None:
    asyncio.run(upgrade(url, schema))
