"""`woonox map order|product|customer FILE`: what the mapper would send to Fortnox.

Shop owners run it on their own orders before going live: it shows the Fortnox document and the
check table (WooCommerce's total and VAT per rate beside the document's, computed from its rows
the way Fortnox computes them). Exit code 0 when the check passes, 1 when it does not or the
object cannot be mapped (the reason is printed). `--json` prints
`{"document": <Fortnox body>, "check": {...}}` on stdout, amounts as exact JSON numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from rich.table import Table
from rich.text import Text

from libs.cli.context import EXIT_ERROR, console, err_console
from libs.cli.safe import cell, clean
from libs.common import jsonmoney
from libs.common.errors import PermanentError
from libs.common.shop_settings import ShopSettings
from services.mapper.articles import article_command
from services.mapper.check import OrderCheck
from services.mapper.customers import customer_command, woo_customer_command
from services.mapper.orders import map_order
from services.mapper.rounding import amount_of
from services.mapper.rows import ROWS_FIELD
from services.mapper.shop_settings_cache import parse_shop_settings

app = typer.Typer(help="Show the Fortnox document the mapper makes of a WooCommerce object.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="WooCommerce JSON (as the REST API or a webhook gives it)",
                                         exists=True, dir_okay=False, readable=True)]
SettingsOpt = Annotated[Path | None, typer.Option("--settings", help="Shop settings JSON (docs/mapping.md)",
                                                  exists=True, dir_okay=False, readable=True)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant id used in references")]


def _read(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        _fail(f"{path} is not a readable {what} JSON file: {exc}", as_json=False)


def _settings(path: Path | None) -> ShopSettings:
    if path is None:
        return ShopSettings()
    raw = _read(path, "settings")
    if not isinstance(raw, dict):
        _fail(f"{path}: the settings must be a JSON object", as_json=False)
    return parse_shop_settings(raw, source=str(path))


def _fail(reason: str, *, as_json: bool, code: str | None = None) -> NoReturn:
    if as_json:
        typer.echo(jsonmoney.dumps({"error": reason, "code": code}).decode())
    else:
        err_console.print("[red]error:[/red]", cell(reason))
    raise typer.Exit(EXIT_ERROR)


def _field(key: object, value: object, style: str | None = None) -> None:
    """One `  key: value` line of outside data (names and notes typed in a shop)."""
    console.print(Text(f"  {clean(key)}: {clean(value)}", style=style or ""))


def _rows_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("Article", "Description", "Qty", "Price", "Discount", "VAT %", "Account", "Amount",
                  title="Rows")
    for row in rows:
        quantity = row.get("DeliveredQuantity", row.get("Quantity", row.get("OrderedQuantity", "")))
        table.add_row(*map(cell, (row.get("ArticleNumber", ""), row.get("Description", ""), quantity,
                                  row.get("Price", ""), row.get("Discount", ""), row.get("VAT", ""),
                                  row.get("AccountNumber", ""), amount_of(row))))
    return table


def _check_table(check: OrderCheck) -> Table:
    table = Table("", "WooCommerce", "Fortnox", "", title=f"Check (region {check.region}, "
                  f"VATIncluded {check.vat_included})")
    for row in check.rows:
        # The verdict is our markup; the label and figures come from the order: never read as markup.
        table.add_row(cell(row.label), cell(row.woocommerce), cell(row.fortnox), "[green]ok[/green]" if row.ok else
                      "[red]DIFFERS[/red]")
    if check.round_off:
        table.add_row("RoundOff (whole kronor, outside VAT)", "", cell(check.round_off), "")
    return table


@app.command()
def order(file: FileArg, settings: SettingsOpt = None, as_json: JsonOpt = False, tenant: TenantOpt = "shop") -> None:
    """An order → the Fortnox order/invoice/offer and the check table."""
    data = _read(file, "order")
    try:
        mapped = map_order(tenant, data, _settings(settings))
    except PermanentError as exc:
        _fail(exc.reason, as_json=as_json, code=exc.code)
    command, check = mapped.command, mapped.check
    if as_json:
        typer.echo(jsonmoney.dumps({
            "document": command.document,
            "check": check.as_json(),
            "kind": command.kind,
            "customer": command.customer.model_dump(),
            "credits": [c.model_dump() for c in command.credits],
            "payment": command.payment.model_dump() if command.payment else None,
        }).decode())
    else:
        console.print(f"[bold]Fortnox {command.kind}[/bold]",
                      cell(f"for WooCommerce order {command.woo_order_id} ({command.document.get('Currency')})"))
        header = {k: v for k, v in command.document.items() if k != ROWS_FIELD[command.kind]}
        for key, value in header.items():
            _field(key, value)
        _field("Customer", f"{command.customer.body.get('Name')} ({command.customer.body.get('Type')}, "
                           f"{command.customer.body.get('VATType')})")
        console.print(_rows_table(command.document[ROWS_FIELD[command.kind]]))
        for credit in command.credits:
            console.print(_rows_table(credit.rows), style=None)
            console.print(cell(f"  (credit for refund {credit.refund_id}: {credit.amount})"))
        console.print(_check_table(check))
        for warning in check.warnings:
            console.print("[yellow]warning:[/yellow]", cell(warning))
    if not check.ok:
        if not as_json:
            err_console.print("[red]the check fails:[/red]", cell("; ".join(check.failures())))
        raise typer.Exit(EXIT_ERROR)


def _show(model: BaseModel, body: dict[str, Any], check: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(jsonmoney.dumps({"document": body, "check": check, "command": model.model_dump()}).decode())
        return
    console.print(f"[bold]{title}[/bold]")
    for key, value in body.items():
        _field(key, value)
    for key, value in check.items():
        _field(key, value, "dim")


@app.command()
def product(file: FileArg, settings: SettingsOpt = None, as_json: JsonOpt = False, tenant: TenantOpt = "shop") -> None:
    """A product or variation → the Fortnox article (and its price-list price)."""
    data = _read(file, "product")
    try:
        command = article_command(tenant, data, _settings(settings))
    except PermanentError as exc:
        _fail(exc.reason, as_json=as_json, code=exc.code)
    if command is None:
        _fail(f"product {data.get('id')} ({data.get('type')}) is not synced to Fortnox as an article",
                    as_json=as_json, code="not-synced")
    check = {"ok": True, "article_number": command.body["ArticleNumber"], "price_list": command.price_list,
             "price_excluding_vat": command.price}
    _show(command, command.body, check, as_json, "Fortnox article")


@app.command()
def customer(file: FileArg, settings: SettingsOpt = None, as_json: JsonOpt = False,
             tenant: TenantOpt = "shop") -> None:
    """A customer (or the customer of an order) → the Fortnox customer and how it is matched."""
    data = _read(file, "customer")
    try:
        shop = _settings(settings)
        command = customer_command(tenant, data, shop) if "line_items" in data else \
            woo_customer_command(tenant, data, shop)
    except PermanentError as exc:
        _fail(exc.reason, as_json=as_json, code=exc.code)
    check = {"ok": True, "match": command.match.model_dump(), "create_if_missing": command.create_if_missing}
    _show(command, command.body, check, as_json, "Fortnox customer")
