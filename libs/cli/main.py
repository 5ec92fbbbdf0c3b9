"""`woonox`, the operator CLI. Each command group lives in its own module."""

from __future__ import annotations

import typer

from libs.cli import (
    audit,
    backfill,
    connect,
    connection,
    db,
    demo,
    dlq,
    keygen,
    keys,
    map,
    reconcile,
    sandbox,
    status,
    tenant,
)

app = typer.Typer(
    help="woonox: WooCommerce → Fortnox, nothing lost, nothing booked twice.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
app.add_typer(tenant.app, name="tenant")
app.add_typer(db.app, name="db")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(map.app, name="map")
app.add_typer(dlq.app, name="dlq")
app.add_typer(keys.app, name="keys")
app.command("status")(status.status)
app.command("audit")(audit.audit)
app.command("reconcile")(reconcile.reconcile)
app.command("backfill")(backfill.backfill)
app.command("connect")(connect.connect)
app.command("test-connection")(connection.check_connection)
app.command("keygen")(keygen.keygen)
app.command("demo")(demo.demo)
