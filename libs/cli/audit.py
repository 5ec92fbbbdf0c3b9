"""`woonox audit ORDER --tenant T`: everything woonox did for one WooCommerce order — events received,
documents created, payments, retries (from the audit trail and booking map of record) and any dead
letter about it still waiting in a DLQ.

Exit codes: 0 found; 1 a server is unreachable; 3 woonox has no record of the order at all.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from libs.cli.context import EXIT_NOT_FOUND, console, dump, err_console, run
from libs.cli.safe import cell
from libs.common.dead_letters import DeadLetter, DeadLetterFilter, DeadLetters
from libs.common.overview import audit_trail
from libs.common.settings import CommonSettings
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.topology import Topology

__all__ = ["about_order", "audit"]


def about_order(letter: DeadLetter, order: str) -> bool:
    """Does this dead letter concern WooCommerce order `order`? (a Woo event carries `id`, a document
    command `woo_order_id`, libs/common/commands.py)."""
    p = letter.payload
    if not isinstance(p, dict):
        return False
    if letter.type.startswith("woo.order."):
        return str(p.get("id")) == order
    return str(p.get("woo_order_id", "")) == order


async def _collect(order: str, tenant: str, resource: str) -> dict[str, Any]:
    settings = CommonSettings()
    engine = make_engine(settings.database_url, settings.db_schema, pool_size=1)
    try:
        trail = await audit_trail(make_sessionmaker(engine), tenant, order, resource)
    finally:
        await engine.dispose()
    async with DeadLetters(settings.rabbitmq_url, Topology(settings.broker_prefix)) as dl:
        waiting = await dl.list(DeadLetterFilter(tenant=tenant)) if resource == "order" else []
    letters = [d for d in waiting if about_order(d, order)]
    trail["dead_letters"] = [d.model_dump(mode="json", exclude={"headers"}) for d in letters]
    return {"tenant": tenant, "woo_resource": resource, "woo_id": order, **trail}


def audit(
    order: Annotated[str, typer.Argument(help="The WooCommerce order id")],
    tenant: Annotated[str, typer.Option(help="The shop (tenant) id")],
    resource: Annotated[str, typer.Option(help="order, product or customer")] = "order",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Everything woonox did for one WooCommerce order, from the store of record."""
    found = run(lambda: _collect(order, tenant, resource))
    if not (found["bookings"] or found["events"] or found["dead_letters"]):
        if as_json:
            dump(found)
        err_console.print(f"[red]error:[/red] woonox has no record of {resource} {order} for tenant {tenant}")
        raise typer.Exit(EXIT_NOT_FOUND)
    if as_json:
        dump(found)
        return
    docs = Table("kind", "fortnox number", "snapshot", "updated", title=f"{resource} {order}: documents")
    for b in found["bookings"]:
        docs.add_row(*map(cell, (b["kind"], b["fortnox_number"] or "-", b["snapshot_modified"] or "", b["updated_at"])))
    console.print(docs)
    events = Table("at", "action", "detail", title="what woonox did")
    for e in found["events"]:
        events.add_row(*map(cell, (e["at"], e["action"],
                                   ", ".join(f"{k}={v}" for k, v in (e["detail"] or {}).items()))))
    console.print(events)
    for d in found["dead_letters"]:
        console.print(f"[red]dead letter[/red] {d['id']} in {d['queue']}: {d['reason']} (code {d['code'] or '-'}, "
                      f"{d['attempts']} attempt(s)) — fix the cause, then `woonox dlq replay --id {d['id']}`")
