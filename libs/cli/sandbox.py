"""`woonox sandbox ...`: drive a running Fortnox sandbox over HTTP (fault injection, journal, companies).

Talks to the sandbox's test-only admin API (`/_sandbox/...`) at `--url` (env WOONOX_SANDBOX_URL,
default http://127.0.0.1:8900). See docs/sandbox.md.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from libs.cli.context import EXIT_ERROR, console, dump, err_console
from libs.cli.safe import cell

__all__ = ["app"]

app = typer.Typer(help="The Fortnox sandbox: faults, journal, companies.", no_args_is_help=True)
faults_app = typer.Typer(help="Fault injection: latency, 5xx, 429 bursts, dropped responses, token outages.",
                         no_args_is_help=True)
company_app = typer.Typer(help="Sandbox companies (Fortnox tenants) with a consented client.", no_args_is_help=True)
app.add_typer(faults_app, name="faults")
app.add_typer(company_app, name="company")

Url = Annotated[str, typer.Option("--url", envvar="WOONOX_SANDBOX_URL", help="The sandbox's base URL")]
DEFAULT_URL = "http://127.0.0.1:8900"


def _call(url: str, method: str, path: str, **kwargs: Any) -> Any:
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        err_console.print(f"[red]error:[/red] cannot reach the sandbox at {url}: {exc}")
        raise typer.Exit(EXIT_ERROR) from None
    if response.status_code >= 400:
        err_console.print(f"[red]error:[/red] the sandbox answered {response.status_code}: {response.text}")
        raise typer.Exit(EXIT_ERROR)
    return response.json() if response.content else None


@faults_app.command("show")
def faults_show(url: Url = DEFAULT_URL) -> None:
    """The fault rules in force."""
    dump(_call(url, "GET", "/_sandbox/faults"))


@faults_app.command("set")
def faults_set(
    url: Url = DEFAULT_URL,
    latency_ms: Annotated[int, typer.Option(help="Added to every matching request")] = 0,
    error_share: Annotated[float, typer.Option(help="Share (0-1) of requests answered with --error-status")] = 0.0,
    error_status: Annotated[int, typer.Option(help="The 5xx status of injected errors")] = 503,
    burst_429: Annotated[int, typer.Option("--burst-429", help="The next N requests answer 429")] = 0,
    drop_after_commit_share: Annotated[float, typer.Option(
        help="Share (0-1) of creates whose connection is closed after the write committed")] = 0.0,
    drop_after_commit_next: Annotated[int, typer.Option(help="Drop the next N creates after commit")] = 0,
    token_outage: Annotated[bool, typer.Option(help="The token endpoint answers 503")] = False,
    database_number: Annotated[int | None, typer.Option(help="Only this company (tenant)")] = None,
    path_prefix: Annotated[str | None, typer.Option(help="Only paths starting so, e.g. /3/orders")] = None,
    add: Annotated[bool, typer.Option("--add", help="Add to the rules in force instead of replacing them")] = False,
) -> None:
    """Replace the fault rules with one rule (or add one with --add)."""
    rule = {
        "latency_ms": latency_ms, "error_share": error_share, "error_status": error_status, "burst_429": burst_429,
        "drop_after_commit_share": drop_after_commit_share, "drop_after_commit_next": drop_after_commit_next,
        "token_outage": token_outage, "database_number": database_number, "path_prefix": path_prefix,
    }
    dump(_call(url, "POST" if add else "PUT", "/_sandbox/faults", json=rule))


@faults_app.command("clear")
def faults_clear(url: Url = DEFAULT_URL) -> None:
    """Remove every fault rule."""
    _call(url, "DELETE", "/_sandbox/faults")
    console.print("faults cleared")


@app.command("journal")
def journal(
    url: Url = DEFAULT_URL,
    database_number: Annotated[int | None, typer.Option(help="Only this company")] = None,
    method: Annotated[str | None, typer.Option(help="Only this HTTP method")] = None,
    path_prefix: Annotated[str | None, typer.Option(help="Only paths starting so")] = None,
    after_id: Annotated[int, typer.Option(help="Only entries after this id")] = 0,
    last: Annotated[int, typer.Option(help="The latest N entries (after --after-id)")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Whole entries, bodies included, as JSON")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Empty the journal instead of reading it")] = False,
) -> None:
    """What the sandbox was asked and what it answered."""
    if clear:
        _call(url, "DELETE", "/_sandbox/journal")
        console.print("journal cleared")
        return
    params = {"database_number": database_number, "method": method, "path_prefix": path_prefix,
              "after_id": after_id, "last": last}
    entries = _call(url, "GET", "/_sandbox/journal", params={k: v for k, v in params.items() if v is not None})
    if as_json:
        dump(entries)
        return
    table = Table("id", "at", "company", "method")
    table.add_column("path", overflow="fold")
    table.add_column("status")
    table.add_column("fault")
    for e in entries["entries"]:
        path = e["path"] + (f"?{e['query']}" if e["query"] else "")
        table.add_row(*map(cell, (e["id"], e["at"], e["database_number"] or "", e["method"], path, e["status"],
                                  e.get("fault") or "")))
    console.print(table)


@company_app.command("add")
def company_add(
    name: Annotated[str, typer.Argument(help="The company's name")],
    client_id: Annotated[str, typer.Option(help="The Fortnox app's client id woonox uses")],
    client_secret: Annotated[str, typer.Option(envvar="WOONOX_SANDBOX_CLIENT_SECRET", prompt=True, hide_input=True,
                                               help="The app's client secret")],
    url: Url = DEFAULT_URL,
    database_number: Annotated[int | None, typer.Option(help="Pick the DatabaseNumber")] = None,
    service_account: Annotated[bool, typer.Option(help="Consent as a service account")] = False,
    rounding: Annotated[bool, typer.Option(help="The company rounds totals to whole kronor")] = False,
) -> None:
    """Create a company that has consented to the app, and print its first token pair (sandbox tokens only)."""
    body = {"name": name, "client_id": client_id, "client_secret": client_secret,
            "database_number": database_number, "service_account": service_account, "rounding": rounding}
    dump(_call(url, "POST", "/_sandbox/companies", json=body))


@company_app.command("set")
def company_set(
    database_number: Annotated[int, typer.Argument(help="The company's DatabaseNumber")],
    url: Url = DEFAULT_URL,
    name: Annotated[str | None, typer.Option(help="A new name")] = None,
    rounding: Annotated[bool | None, typer.Option("--rounding/--no-rounding",
                                                  help="Round totals to whole kronor (RoundOff)")] = None,
) -> None:
    """Change a company: its name, or whether it rounds totals to whole kronor."""
    body = {k: v for k, v in {"name": name, "rounding": rounding}.items() if v is not None}
    dump(_call(url, "PATCH", f"/_sandbox/companies/{database_number}", json=body))


@company_app.command("list")
def company_list(url: Url = DEFAULT_URL) -> None:
    """The sandbox's companies."""
    dump(_call(url, "GET", "/_sandbox/companies"))
