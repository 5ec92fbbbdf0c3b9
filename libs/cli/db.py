"""`woonox db upgrade`: apply the store-of-record migrations."""

from __future__ import annotations

import typer

from libs.cli.context import console, run
from libs.common.settings import CommonSettings
from libs.common.store.migrate import upgrade as _upgrade

app = typer.Typer(help="The store of record (PostgreSQL).", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply all migrations to the configured schema (safe to run from many processes at once)."""
    settings = CommonSettings()

    async def go() -> None:
        await _upgrade(settings.database_url, settings.db_schema)

    run(go)
    console.print(f"schema [bold]{settings.db_schema}[/bold] is up to date")
