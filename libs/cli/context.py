"""What CLI commands share: settings, the store of record, and turning errors into exit codes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.crypto import SecretBox
from libs.common.errors import WoonoxError
from libs.common.settings import CommonSettings
from libs.common.store.bookings import BookingStore
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.store.tenants import TenantStore

__all__ = ["EXIT_ERROR", "EXIT_NOT_FOUND", "Store", "console", "err_console", "run", "store"]

console = Console()
err_console = Console(stderr=True)
EXIT_ERROR = 1
EXIT_NOT_FOUND = 3
T = TypeVar("T")


@dataclass
class Store:
    settings: CommonSettings
    tenants: TenantStore
    bookings: BookingStore
    sessions: async_sessionmaker[AsyncSession]


@contextlib.asynccontextmanager
async def store() -> AsyncIterator[Store]:
    settings = CommonSettings()
    engine = make_engine(settings.database_url, settings.db_schema, pool_size=2)
    sessions = make_sessionmaker(engine)
    try:
        yield Store(settings, TenantStore(sessions, SecretBox(settings.secret_keys.get_secret_value())),
                    BookingStore(sessions), sessions)
    finally:
        await engine.dispose()


def run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async command; a woonox error becomes a one-line message and exit code 1."""
    try:
        return asyncio.run(fn())  # type: ignore[arg-type]
    except WoonoxError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_ERROR) from None
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot reach a server: {exc}")
        raise typer.Exit(EXIT_ERROR) from None


def dump(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
