"""Engine and sessions for the store of record, confined to one PostgreSQL schema."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

__all__ = ["async_url", "make_engine", "make_sessionmaker", "valid_schema"]

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def valid_schema(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise ValueError(f"invalid database schema name {schema!r}: lowercase letters, digits, _")
    return schema


def async_url(url: str) -> str:
    """Accept plain `postgresql://` URLs (as compose and most tools write them) for asyncpg."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain):]
    return url


def make_engine(url: str, schema: str, *, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"search_path": valid_schema(schema)}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


async def drop_schema(url: str, schema: str) -> None:
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{valid_schema(schema)}" CASCADE'))
    await engine.dispose()
