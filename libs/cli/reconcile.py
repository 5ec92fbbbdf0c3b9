"""`woonox reconcile --tenant T --since DATE [--fix] [--json]`: WooCommerce orders against Fortnox.

Reports missing documents, duplicates (two Fortnox documents for one order) and amount / VAT
mismatches (libs/cli/reconciliation.py); `--fix` republishes the missing orders so the pipeline
books them again. Fortnox is read through the tenant's shared rate limiter, so a reconcile never
pushes the running writers over Fortnox's 25 requests per 5 s.

Exit codes: 0 the books match (or every finding was fixed); 1 error; 3 unknown tenant;
6 discrepancies remain.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import redis.asyncio as aioredis
import typer
from rich.progress import Progress
from rich.table import Table

from libs.cli.context import EXIT_NOT_FOUND, console, dump, err_console, run
from libs.cli.dlq import parse_since
from libs.cli.reconciliation import ReconcileReport, fix_missing
from libs.cli.reconciliation import reconcile as run_reconcile
from libs.cli.safe import cell
from libs.common.crypto import SecretBox
from libs.common.errors import PermanentError
from libs.common.fortnox.client import FortnoxClient
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.fortnox.tokens import TokenManager
from libs.common.outbound import guarded_client
from libs.common.overview import store_errors
from libs.common.publisher import Publisher
from libs.common.settings import CommonSettings
from libs.common.shop_settings import ShopSettings
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.store.tenants import Tenant, TenantStore
from libs.common.topology import Topology
from libs.common.woo import WooClient, WooCredentials

__all__ = ["EXIT_DISCREPANCIES", "Connections", "connections", "findings_table", "reconcile"]

EXIT_DISCREPANCIES = 6


@dataclass
class Connections:
    """What a command needs to talk to one tenant's shop and Fortnox company."""

    settings: CommonSettings
    tenant: Tenant
    shop: ShopSettings
    sessions: Any
    redis: aioredis.Redis
    http: httpx.AsyncClient
    woo: WooClient | None
    fortnox: FortnoxClient


@contextlib.asynccontextmanager
async def connections(tenant_id: str) -> AsyncIterator[Connections]:
    settings = CommonSettings()
    engine = make_engine(settings.database_url, settings.db_schema, pool_size=2)
    redis = aioredis.from_url(settings.redis_url)
    http = guarded_client(timeout=30)  # tenant URLs: the resolved address is checked at connect
    try:
        sessions = make_sessionmaker(engine)
        box = SecretBox(settings.secret_keys.get_secret_value())
        with store_errors():
            tenant = await TenantStore(sessions, box).get(tenant_id)
        if tenant is None:
            raise PermanentError(f"unknown tenant {tenant_id!r}", code="unknown-tenant")
        woo = None
        if tenant.woo_consumer_key and tenant.woo_consumer_secret:
            woo = WooClient(WooCredentials(tenant.shop_url, tenant.woo_consumer_key, tenant.woo_consumer_secret),
                            http=http)
        fortnox = FortnoxClient(http, tenant, TokenManager(sessions, redis, box, http, settings.redis_prefix),
                                RateLimiter(redis, settings.redis_prefix))
        yield Connections(settings, tenant, ShopSettings.model_validate(tenant.settings), sessions, redis, http,
                          woo, fortnox)
    finally:
        await http.aclose()
        await redis.aclose()
        await engine.dispose()


def findings_table(report: ReconcileReport) -> Table:
    table = Table("order", "problem", "documents", "detail", "fixed",
                  title=f"{report.tenant}: {report.orders_checked} order(s) checked against "
                        f"{report.documents_seen} Fortnox {report.kind}(s) since {report.since:%Y-%m-%d %H:%M}")
    for f in report.findings:
        # Document numbers and details come from Fortnox and the shop: never markup.
        table.add_row(str(f.order), f.problem, cell(", ".join(f.documents)), cell(f.detail), "yes" if f.fixed else "")
    return table


def reconcile(
    tenant: Annotated[str, typer.Option(help="The shop (tenant) id")],
    since: Annotated[str, typer.Option(help="Orders changed at or after: ISO date/time or 30m, 6h, 2d")],
    fix: Annotated[bool, typer.Option("--fix", help="Republish the orders whose document is missing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Check that every WooCommerce order has exactly one Fortnox document with the right amounts."""
    moment = parse_since(since)
    assert moment is not None

    async def work(c: Connections) -> ReconcileReport:
        if c.woo is None:
            raise PermanentError(f"tenant {tenant} has no WooCommerce keys: woonox tenant add --replace ...",
                                 code="no-woo-keys")
        with Progress(console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("reading WooCommerce orders", total=None)
            report, orders = await run_reconcile(tenant, c.shop, c.woo, c.fortnox, moment,
                                                 progress=lambda n: bar.advance(task, n))
        if fix and any(f.problem == "missing" for f in report.findings):
            publisher = Publisher(c.settings.rabbitmq_url, Topology(c.settings.broker_prefix))
            await publisher.connect(declare=False)
            try:
                await fix_missing(report, orders, publisher=publisher, sessions=c.sessions, redis=c.redis,
                                  redis_prefix=c.settings.redis_prefix)
            finally:
                await publisher.close()
        return report

    async def go() -> ReconcileReport | None:
        try:
            async with connections(tenant) as c:
                return await work(c)
        except PermanentError as exc:
            if exc.code == "unknown-tenant":
                return None
            raise

    report = run(go)
    if report is None:
        err_console.print(f"[red]error:[/red] no tenant {tenant!r}")
        raise typer.Exit(EXIT_NOT_FOUND)
    if as_json:
        dump(report.model_dump(mode="json"))
    else:
        console.print(findings_table(report))
        if not report.findings:
            console.print("[green]the books match the shop[/green]")
    if report.unresolved:
        raise typer.Exit(EXIT_DISCREPANCIES)
