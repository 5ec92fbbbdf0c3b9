"""`woonox backfill --tenant T --since DATE`: read a shop's changes since DATE and publish them, by hand.

The same code as the scheduled backfill (services/ingest/backfill.py): safe at any time, beside
webhooks, because what was published already is skipped at the edge and everything converges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import redis.asyncio as aioredis
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from libs.cli.context import EXIT_NOT_FOUND, console, err_console, run
from libs.cli.safe import cell
from libs.common.crypto import SecretBox
from libs.common.outbound import guarded_client
from libs.common.publisher import Publisher
from libs.common.settings import CommonSettings
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.store.tenants import TenantStore
from libs.common.topology import Topology
from services.ingest.backfill import Backfill, BackfillReport
from services.ingest.cursors import CursorStore
from services.ingest.dedup import EdgeDedup
from services.ingest.shop_clients import woo_client_for

__all__ = ["backfill"]

DEDUP_SECONDS = 7 * 24 * 3600


def _since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("use an ISO date, e.g. 2026-11-01 or 2026-11-01T08:00:00+01:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def backfill(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id")],
    since: Annotated[str, typer.Option("--since", help="Read changes modified after this ISO date (UTC if no zone)")],
) -> None:
    """Publish every order, product and customer of a shop modified since DATE (cursors move forward only)."""
    moment = _since(since)

    async def go() -> BackfillReport | None:
        settings = CommonSettings()
        engine = make_engine(settings.database_url, settings.db_schema, pool_size=2)
        sessions = make_sessionmaker(engine)
        publisher = Publisher(settings.rabbitmq_url, Topology(settings.broker_prefix))
        redis = aioredis.from_url(settings.redis_url)
        try:
            found = await TenantStore(sessions, SecretBox(settings.secret_keys.get_secret_value())).get(tenant)
            if found is None:
                return None
            await publisher.connect()
            job = Backfill(publisher, CursorStore(sessions), EdgeDedup(redis, settings.redis_prefix, DEDUP_SECONDS))
            async with guarded_client(timeout=60) as http:  # the shop URL is a tenant field
                woo = woo_client_for(found, http)
                with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), console=console) as bar:
                    tasks: dict[str, object] = {}

                    def progress(resource: str, done: int, total: int) -> None:
                        if resource not in tasks:
                            tasks[resource] = bar.add_task(f"{resource}s", total=None)
                        bar.update(tasks[resource], completed=done, total=max(total, done))  # type: ignore[arg-type]

                    return await job.run(found.id, woo, since=moment, progress=progress)
        finally:
            await publisher.close()
            await redis.aclose()
            await engine.dispose()

    report = run(go)
    if report is None:
        err_console.print(f"[red]error:[/red] no tenant {tenant!r}")
        raise typer.Exit(EXIT_NOT_FOUND)
    for resource in sorted(set(report.published) | set(report.skipped)):
        console.print(f"{resource}s: {report.published.get(resource, 0)} published, "
                      f"{report.skipped.get(resource, 0)} already published or ignored")
    for item in report.refused:  # the shop's data: shown, never read as markup
        err_console.print("[yellow]refused:[/yellow]", cell(f"{item.resource} {item.object_id}: {item.error}: "
                                                          f"{item.reason}"))
