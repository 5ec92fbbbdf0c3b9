"""`woonox test-connection TENANT`: can woonox work for this shop? Each problem named with its fix.

    WooCommerce   reachable, the REST keys valid (they can read orders) and allowed to write (order
                  notes, stock/price batches: a read-only key passes every GET and fails those);
                  (only WooCommerce's own permission refusal says read-only; a timeout or 5xx is
                  "could not check"); for each topic woonox needs, an active webhook whose
                  delivery URL is this tenant's ingest endpoint, scheme, host, port and path
                  (`--webhook-url` / WOONOX_WEBHOOK_URL + `/webhooks/woocommerce/<tenant>`)
    Fortnox       the token works; every scope the shop's settings need is granted and licensed
                  (one cheap read per scope: Fortnox answers 2000663 for a scope not granted,
                  2001101 for one without licence, 2001103 without API licence; Fortnox developer
                  docs, https://www.fortnox.se/developer/guides-and-good-to-know/errors);
                  every account of the account map exists in the company's chart of accounts;
                  every mode of payment the payment settings use exists

Exit codes: 0 everything works; 1 error; 3 unknown tenant; 7 problems found.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from pydantic import BaseModel
from rich.table import Table

from libs.cli.context import EXIT_NOT_FOUND, console, dump, err_console, run
from libs.cli.reconcile import Connections, connections
from libs.cli.safe import cell
from libs.common.errors import PermanentError, WoonoxError
from libs.common.fortnox.errors import FortnoxTransient
from libs.common.shop_settings import Region, ShopSettings

__all__ = ["EXIT_PROBLEMS", "NEEDED_TOPICS", "READ_ONLY_CODES", "Check", "account_map", "check_connection",
           "checks_table", "delivery_url", "needed_scopes", "run_checks", "webhook_checks", "write_permission"]

EXIT_PROBLEMS = 7
# scope -> a cheap read that needs it
PROBES: dict[str, str] = {
    "companyinformation": "/3/companyinformation", "customer": "/3/customers", "article": "/3/articles",
    "order": "/3/orders", "invoice": "/3/invoices", "offer": "/3/offers", "payment": "/3/invoicepayments",
    "bookkeeping": "/3/accounts", "settings": "/3/modesofpayments", "price": "/3/pricelists",
}


class Check(BaseModel):
    system: str
    check: str
    ok: bool
    detail: str = ""
    fix: str = ""


def needed_scopes(shop: ShopSettings) -> list[str]:
    """The Fortnox scopes this shop's settings make woonox use."""
    kind = shop.documents.kind
    scopes = {"companyinformation", "customer", "bookkeeping", "settings", kind}
    if (kind == "order" and shop.documents.convert_on_completed) or kind == "invoice":
        scopes.add("invoice")
    if any(m.register_payment for m in shop.payments.methods.values()):
        scopes |= {"payment", "invoice"}
    if shop.products.direction != "off":
        scopes.add("article")
        if shop.products.price:
            scopes.add("price")
    return sorted(scopes)


def account_map(shop: ShopSettings) -> dict[int, str]:
    """Every account the settings book to, with where it is set (for the operator's fix)."""
    accounts: dict[int, str] = {}
    a = shop.accounts
    regions: tuple[Region, ...] = ("se", "eu_consumer", "eu_business", "export")
    for region in regions:
        ra = a.region(region)
        for rate, number in ra.by_rate.items():
            accounts.setdefault(number, f"accounts.{region}.by_rate.{rate}")
        for field in ("other_rates", "shipping", "fee"):
            value = getattr(ra, field, None)
            if value is not None:
                accounts.setdefault(int(value), f"accounts.{region}.{field}")
    accounts.setdefault(a.foreign_tax, "accounts.foreign_tax")
    accounts.setdefault(a.rounding, "accounts.rounding")
    for name, method in shop.payments.methods.items():
        if method.account is not None:
            accounts.setdefault(method.account, f"payments.methods.{name}.account")
    return accounts


# The topics whose deliveries woonox reads (order, product and customer changes).
NEEDED_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored", "product.created",
                 "product.updated", "product.deleted", "product.restored", "customer.created", "customer.updated")


# What WooCommerce answers a key that may not write (WC_REST_Authentication::check_permissions: 401
# woocommerce_rest_authentication_error "The API key provided does not have write permissions";
# the batch endpoint's own check, WC_REST_Controller::batch_items_permissions_check: 403
# woocommerce_rest_cannot_batch). Anything else says nothing about the key.
READ_ONLY_CODES = frozenset({"woocommerce_rest_authentication_error", "woocommerce_rest_cannot_batch"})


def _origin_and_path(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"https": 443, "http": 80}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def delivery_url(webhook_url: str, tenant: str) -> str:
    """Where this tenant's webhooks must deliver: ingest's webhook listener as the shops reach it."""
    return f"{webhook_url.rstrip('/')}/webhooks/woocommerce/{tenant}"


def _ours(hook: dict[str, Any], expected: str) -> bool:
    """Same scheme, host, port and path: a webhook pointed at another host with our path is not ours."""
    return _origin_and_path(str(hook.get("delivery_url") or "")) == _origin_and_path(expected)


def write_permission(tenant_id: str, error: WoonoxError | None) -> Check:
    """What an empty products/batch said of the key: written, refused for permission, or unknown."""
    name = "REST key can write"
    if error is None:
        return Check(system="WooCommerce", check=name, ok=True, detail="read_write")
    refused = isinstance(error, PermanentError) and error.code in READ_ONLY_CODES and (
        error.code != "woocommerce_rest_authentication_error" or "write permission" in error.reason)
    if refused:
        return Check(system="WooCommerce", check=name, ok=False, detail=error.reason,
                     fix="the key is read-only: order notes and stock/price updates fail. Create a key with "
                         "Read/Write permission (WooCommerce > Settings > Advanced > REST API) and store it "
                         f"with woonox tenant add {tenant_id} --replace")
    return Check(system="WooCommerce", check=name, ok=False, detail=f"could not check: {error.reason}",
                 fix="the shop did not answer the write check; try again later")


async def _write_permission(c: Connections) -> Check:
    """An empty batch writes nothing, and WooCommerce still checks the key's permission first."""
    assert c.woo is not None
    try:
        await c.woo.request("POST", "/products/batch", json={})
    except WoonoxError as exc:
        return write_permission(c.tenant.id, exc)
    return write_permission(c.tenant.id, None)


def webhook_checks(tenant: str, hooks: list[dict[str, Any]], webhook_url: str | None) -> list[Check]:
    """One check per topic woonox needs: an active webhook delivering it to this tenant's endpoint
    (scheme, host, port and path of `webhook_url`'s delivery URL)."""
    if not webhook_url:
        return [Check(system="WooCommerce", check="webhooks", ok=False,
                      detail="ingest's public webhook URL is not known, so no webhook can be matched to it",
                      fix="pass --webhook-url https://<ingest host> or set WOONOX_WEBHOOK_URL")]
    checks: list[Check] = []
    endpoint = delivery_url(webhook_url, tenant)
    for topic in NEEDED_TOPICS:
        same = [h for h in hooks if h.get("topic") == topic]
        ours = [h for h in same if _ours(h, endpoint)]
        active = [h for h in ours if h.get("status") == "active"]
        if active:
            checks.append(Check(system="WooCommerce", check=f"webhook {topic}", ok=True,
                                detail=str(active[0].get("delivery_url"))))
            continue
        if ours:
            detail = ", ".join(f"webhook {h.get('id')} is {h.get('status')}" for h in ours)
            fix = ("set it Active (WooCommerce > Settings > Advanced > Webhooks); WooCommerce disables a webhook "
                   "after repeated failed deliveries and keeps its failure count, so fix the cause first; the "
                   "backfill poll covers the gap")
        elif same:
            detail = "delivered elsewhere: " + ", ".join(f"webhook {h.get('id')} → {h.get('delivery_url')}"
                                                          for h in same)
            fix = f"point a {topic} webhook at {endpoint}"
        else:
            detail, fix = "no webhook has this topic", f"add a {topic} webhook delivering to {endpoint}"
        checks.append(Check(system="WooCommerce", check=f"webhook {topic}", ok=False, detail=detail, fix=fix))
    return checks


async def _woo(c: Connections, webhook_url: str | None) -> list[Check]:
    if c.woo is None:
        return [Check(system="WooCommerce", check="REST keys", ok=False, detail="no consumer key/secret stored",
                      fix=f"woonox tenant add {c.tenant.id} --replace with WOONOX_WOO_CONSUMER_KEY/SECRET set")]
    try:
        await c.woo.page("/orders", per_page=1)
    except WoonoxError as exc:
        fix = ("create a REST key with Read/Write access in WooCommerce > Settings > Advanced > REST API and "
               f"store it with woonox tenant add {c.tenant.id} --replace"
               if isinstance(exc, PermanentError) else f"check that {c.tenant.shop_url} is up and reachable")
        return [Check(system="WooCommerce", check="reachable, keys valid", ok=False, detail=exc.reason, fix=fix)]
    checks = [Check(system="WooCommerce", check="reachable, keys valid", ok=True, detail=c.tenant.shop_url),
              await _write_permission(c)]
    try:
        hooks = await c.woo.webhooks()
    except WoonoxError as exc:
        return [*checks, Check(system="WooCommerce", check="webhooks", ok=False, detail=exc.reason,
                               fix="give the REST key Read/Write access")]
    return [*checks, *webhook_checks(c.tenant.id, hooks, webhook_url)]


async def _probe(c: Connections, scope: str) -> Check:
    try:
        await c.fortnox.request("GET", PROBES[scope], params={"limit": 1}, what=f"probe scope {scope}")
    except FortnoxTransient as exc:
        return Check(system="Fortnox", check=f"scope {scope}", ok=False, detail=exc.reason, fix="try again later")
    except PermanentError as exc:
        code = str(getattr(exc, "fortnox_code", "") or exc.code)
        fix = {
            "2000663": f"scope {scope} is not granted: run `woonox connect {c.tenant.id}` and consent with it",
            "2001101": f"the company has no licence for {scope}: add it in Fortnox (Admin > Licenses)",
            "2001103": "the company has no API (integration) licence: add it in Fortnox",
        }.get(code, f"run `woonox connect {c.tenant.id}`")
        return Check(system="Fortnox", check=f"scope {scope}", ok=False, detail=exc.reason, fix=fix)
    return Check(system="Fortnox", check=f"scope {scope}", ok=True, detail="granted and licensed")


async def _fortnox(c: Connections) -> list[Check]:
    try:
        company = await c.fortnox.company()
    except WoonoxError as exc:
        return [Check(system="Fortnox", check="token", ok=False, detail=exc.reason,
                      fix=f"run `woonox connect {c.tenant.id}` to consent again")]
    checks = [Check(system="Fortnox", check="token", ok=True, detail=str(company.get("CompanyName") or ""))]
    scopes = needed_scopes(c.shop)
    checks += [await _probe(c, s) for s in scopes if s != "companyinformation"]
    granted = {ch.check.removeprefix("scope ") for ch in checks if ch.ok}
    if "bookkeeping" in granted:
        chart = {str(a.get("Number")) for a in await c.fortnox.list_all("accounts", "Accounts")}
        for number, where in sorted(account_map(c.shop).items()):
            ok = str(number) in chart
            checks.append(Check(
                system="Fortnox", check=f"account {number}", ok=ok, detail=f"{where}",
                fix="" if ok else f"account {number} ({where}) is not in the chart of accounts: add it in Fortnox "
                                  f"or change {where} with `woonox tenant add {c.tenant.id} --replace --settings`"))
    if "settings" in granted:
        modes = {str(m.get("Code")) for m in await c.fortnox.list_all("modesofpayments", "ModesOfPayments")}
        for name, method in sorted(c.shop.payments.methods.items()):
            if method.register_payment and method.mode_of_payment not in modes:
                checks.append(Check(system="Fortnox", check=f"mode of payment {method.mode_of_payment}", ok=False,
                                    detail=f"payments.methods.{name}",
                                    fix=f"create mode of payment {method.mode_of_payment} in Fortnox or change "
                                        f"payments.methods.{name}.mode_of_payment"))
    return checks


def checks_table(tenant: str, checks: list[Check]) -> Table:
    table = Table("system", "check", "", "detail", "fix", title=f"test-connection {tenant}")
    for c in checks:
        # Details and fixes quote the shop's and Fortnox's answers and URLs: never markup.
        table.add_row(c.system, cell(c.check), "[green]ok[/green]" if c.ok else "[red]FAIL[/red]", cell(c.detail),
                      cell(c.fix))
    return table


async def run_checks(c: Connections, webhook_url: str | None = None) -> list[Check]:
    return [*await _woo(c, webhook_url), *await _fortnox(c)]


def check_connection(
    tenant: Annotated[str, typer.Argument(help="The shop (tenant) id")],
    webhook_url: Annotated[str | None, typer.Option(
        envvar="WOONOX_WEBHOOK_URL", help="Ingest's webhook listener as the shops reach it (https://ingest.example)",
    )] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Check WooCommerce and Fortnox access for a shop; every problem comes with its fix."""
    async def go() -> list[Check] | None:
        try:
            async with connections(tenant) as c:
                return await run_checks(c, webhook_url)
        except PermanentError as exc:
            if exc.code == "unknown-tenant":
                return None
            raise

    checks = run(go)
    if checks is None:
        err_console.print(f"[red]error:[/red] no tenant {tenant!r}")
        raise typer.Exit(EXIT_NOT_FOUND)
    problems = [c for c in checks if not c.ok]
    if as_json:
        data: dict[str, Any] = {"tenant": tenant, "ok": not problems, "checks": [c.model_dump() for c in checks]}
        dump(data)
    else:
        console.print(checks_table(tenant, checks))
    if problems:
        raise typer.Exit(EXIT_PROBLEMS)
