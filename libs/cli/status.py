"""`woonox status`: queue depths (and their rates), DLQ sizes, tenants with token health, last booking.

Exit codes: 0 all well; 1 a server is unreachable; 5 something needs attention (dead letters waiting,
a tenant not active, a Fortnox token expired or missing its refresh token) — so a cron job or a
monitoring check can run `woonox status --json` and act on the exit code alone.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import redis.asyncio as aioredis
import typer
from rich.table import Table

from libs.cli.context import console, dump, run
from libs.cli.safe import cell
from libs.common.overview import Overview, overview
from libs.common.settings import CommonSettings
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.topology import Topology

__all__ = ["EXIT_ATTENTION", "needs_attention", "status"]

EXIT_ATTENTION = 5
_BAD_TOKENS = {"expired", "refresh-missing"}


def needs_attention(view: Overview) -> list[str]:
    problems = [f"{g.dead.messages} dead letter(s) in {g.dead.name}" for g in view.groups if g.dead.messages]
    for t in view.tenants:
        if t.status != "active":
            problems.append(f"tenant {t.id} is {t.status}" + (f": {t.status_reason}" if t.status_reason else ""))
        if t.token_health in _BAD_TOKENS:
            problems.append(f"tenant {t.id}: Fortnox token {t.token_health} (run `woonox connect {t.id}`)")
    return problems


async def _gather(sample: float) -> tuple[Overview, dict[str, float]]:
    settings = CommonSettings()
    engine = make_engine(settings.database_url, settings.db_schema, pool_size=1)
    redis = aioredis.from_url(settings.redis_url)
    topology = Topology(settings.broker_prefix)
    try:
        sessions = make_sessionmaker(engine)
        first = await overview(settings.rabbitmq_url, topology, sessions, redis=redis,
                               redis_prefix=settings.redis_prefix)
        if sample <= 0:
            return first, {}
        await asyncio.sleep(sample)  # the rate is the depth's change over this window
        second = await overview(settings.rabbitmq_url, topology, sessions, redis=redis,
                                redis_prefix=settings.redis_prefix)
        before = {g.group: g.queue.messages for g in first.groups}
        return second, {g.group: (g.queue.messages - before[g.group]) / sample for g in second.groups}
    finally:
        await redis.aclose()
        await engine.dispose()


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    sample: Annotated[float, typer.Option(min=0, help="Seconds to watch the queues to report their rate")] = 0,
) -> None:
    """Queues, dead letters, tenants (status, Fortnox token, last booking)."""
    view, rates = run(lambda: _gather(sample))
    problems = needs_attention(view)
    if as_json:
        data = view.model_dump(mode="json")
        data["rates_per_second"] = rates
        data["attention"] = problems
        dump(data)
    else:
        queues = Table("group", "queue", "ready", "consumers", "retrying", "dead letters", title="queues")
        if rates:
            queues.add_column("Δ/s")
        for g in view.groups:
            row = [g.group, g.queue.name if g.queue.exists else f"{g.queue.name} (missing)", str(g.queue.messages),
                   str(g.queue.consumers), str(g.retrying), str(g.dead.messages)]
            queues.add_row(*map(cell, row), *([f"{rates.get(g.group, 0):+.1f}"] if rates else []))
        console.print(queues)
        tenants = Table("tenant", "status", "fortnox token", "expires", "queue", "Fortnox requests / 5 s",
                        "last booking", title="tenants")
        for t in view.tenants:
            last = t.last_booking
            # Ids, reasons and Fortnox numbers come from outside: `cell` never reads them as markup.
            tenants.add_row(*map(cell, (
                t.id, t.status + (f" ({t.status_reason})" if t.status_reason else ""), t.token_health,
                t.token_expires_at.strftime("%Y-%m-%d %H:%M") if t.token_expires_at else "",
                "" if t.queue_depth is None else str(t.queue_depth),
                ("" if t.rate_limit_used is None else f"{t.rate_limit_used}/25")
                + (f" (held {t.rate_limit_blocked_ms} ms after a 429)" if t.rate_limit_blocked_ms else ""),
                f"{last.kind} {last.fortnox_number or '-'} for {last.woo_resource} {last.woo_id} "
                f"at {last.at:%Y-%m-%d %H:%M}" if last else "never",
            )))
        console.print(tenants)
        for p in problems:
            console.print("[yellow]attention:[/yellow]", cell(p))
    if problems:
        raise typer.Exit(EXIT_ATTENTION)
