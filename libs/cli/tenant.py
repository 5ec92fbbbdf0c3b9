"""`woonox tenant add/list/show/remove`: the shops woonox serves."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr, ValidationError
from rich.table import Table

from libs.cli.context import EXIT_ERROR, EXIT_NOT_FOUND, console, dump, err_console, run, store
from libs.cli.safe import cell
from libs.common.store.tenants import Tenant, TenantNew

app = typer.Typer(help="Shops (tenants): add, list, show, remove.", no_args_is_help=True)


def _public(t: Tenant) -> dict[str, object]:
    """A tenant as shown to operators: secrets only say whether they are set."""
    return {
        "id": t.id, "name": t.name, "shop_url": t.shop_url, "status": t.status, "status_reason": t.status_reason,
        "fortnox_api_url": t.fortnox_api_url, "fortnox_auth_url": t.fortnox_auth_url,
        "fortnox_client_id": t.fortnox_client_id, "fortnox_tenant_id": t.fortnox_tenant_id,
        "webhook_secret": "set", "woo_keys": "set" if t.woo_consumer_key else "missing",
        "fortnox_client_secret": "set" if t.fortnox_client_secret else "missing",
        "settings": t.settings,
    }


MIN_WEBHOOK_SECRET = 32  # generated secrets are at least this long; a shorter one is accepted with a warning


def _webhook_secret(path: Path | None) -> str:
    if path is not None:
        secret = path.read_text().strip()
    else:
        secret = os.environ.get("WOONOX_WEBHOOK_SECRET") or typer.prompt("Webhook secret", hide_input=True)
    if len(secret) < MIN_WEBHOOK_SECRET:
        err_console.print(f"[yellow]warning:[/yellow] the webhook secret has {len(secret)} characters; "
                          f"{MIN_WEBHOOK_SECRET} or more (random) are advised")
    return secret


@app.command()
def add(
    tenant_id: Annotated[str, typer.Argument(help="Short id, e.g. 'my-shop'")],
    shop_url: Annotated[str, typer.Option(help="The WooCommerce shop's URL")],
    fortnox_client_id: Annotated[str, typer.Option(help="Fortnox app client id")] = "",
    fortnox_client_secret: Annotated[str | None, typer.Option(envvar="WOONOX_FORTNOX_CLIENT_SECRET",
                                                              help="Fortnox app client secret")] = None,
    fortnox_api_url: Annotated[str, typer.Option(help="Fortnox API base")] = "https://api.fortnox.se",
    fortnox_auth_url: Annotated[str, typer.Option(help="Fortnox OAuth base")] = "https://apps.fortnox.se",
    fortnox_tenant_id: Annotated[str | None, typer.Option(help="DatabaseNumber, for service accounts")] = None,
    woo_consumer_key: Annotated[str | None, typer.Option(envvar="WOONOX_WOO_CONSUMER_KEY")] = None,
    woo_consumer_secret: Annotated[str | None, typer.Option(envvar="WOONOX_WOO_CONSUMER_SECRET")] = None,
    settings_file: Annotated[Path | None, typer.Option("--settings", help="JSON file of sync settings")] = None,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    replace: Annotated[bool, typer.Option(help="Overwrite an existing tenant")] = False,
    webhook_secret_file: Annotated[Path | None, typer.Option(help="File holding the shop's webhook secret")] = None,
) -> None:
    """Add a shop. Secrets are stored encrypted; pass them by env var or prompt, not on the command line.

    The webhook secret comes from --webhook-secret-file, else WOONOX_WEBHOOK_SECRET, else a hidden prompt:
    never from an argument, which `ps` and shell history would show."""
    webhook_secret = _webhook_secret(webhook_secret_file)
    try:
        new = TenantNew(
            id=tenant_id, name=name, shop_url=shop_url, webhook_secret=SecretStr(webhook_secret),
            fortnox_client_id=fortnox_client_id,
            fortnox_client_secret=SecretStr(fortnox_client_secret) if fortnox_client_secret else None,
            fortnox_api_url=fortnox_api_url, fortnox_auth_url=fortnox_auth_url, fortnox_tenant_id=fortnox_tenant_id,
            woo_consumer_key=SecretStr(woo_consumer_key) if woo_consumer_key else None,
            woo_consumer_secret=SecretStr(woo_consumer_secret) if woo_consumer_secret else None,
            settings=json.loads(settings_file.read_text()) if settings_file else {},
        )
    except ValidationError as exc:
        for e in exc.errors():
            err_console.print(f"[red]error:[/red] {'.'.join(map(str, e['loc']))}: {e['msg']}")
        raise typer.Exit(EXIT_ERROR) from None

    async def go() -> Tenant:
        async with store() as s:
            return await s.tenants.add(new, replace=replace)

    tenant = run(go)
    console.print(f"tenant [bold]{tenant.id}[/bold] added ({tenant.shop_url})")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List shops."""
    async def go() -> list[Tenant]:
        async with store() as s:
            return await s.tenants.list()

    tenants = run(go)
    if as_json:
        dump([_public(t) for t in tenants])
        return
    table = Table("id", "shop", "status", "fortnox client")
    for t in tenants:
        table.add_row(*map(cell, (t.id, t.shop_url, t.status + (f" ({t.status_reason})" if t.status_reason else ""),
                                  t.fortnox_client_id)))
    console.print(table)


@app.command()
def show(tenant_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one shop (secrets are never printed)."""
    async def go() -> Tenant | None:
        async with store() as s:
            return await s.tenants.get(tenant_id)

    tenant = run(go)
    if tenant is None:
        err_console.print(f"[red]error:[/red] no tenant {tenant_id!r}")
        raise typer.Exit(EXIT_NOT_FOUND)
    if as_json:
        dump(_public(tenant))
    else:
        for key, value in _public(tenant).items():
            console.print(f"[bold]{key}[/bold]: {value}")


@app.command()
def remove(tenant_id: str, yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False) -> None:
    """Remove a shop and its credentials (its booking map stays, for audit)."""
    if not yes:
        typer.confirm(f"Remove tenant {tenant_id}?", abort=True)

    async def go() -> bool:
        async with store() as s:
            return await s.tenants.remove(tenant_id)

    if not run(go):
        err_console.print(f"[red]error:[/red] no tenant {tenant_id!r}")
        raise typer.Exit(EXIT_NOT_FOUND)
    console.print(f"tenant {tenant_id} removed")
