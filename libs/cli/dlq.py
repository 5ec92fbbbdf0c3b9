"""`woonox dlq list/show/replay/purge`: dead letters, why they died, and sending them back.

Exit codes: 0 done; 1 error (server unreachable, a replay publish refused: what was not confirmed
stays in the DLQ); 2 bad usage; 3 `show` found no such id; 4 `replay`/`purge` matched nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from libs.cli.context import EXIT_NOT_FOUND, console, dump, err_console, run
from libs.cli.safe import cell
from libs.common.dead_letters import DeadLetter, DeadLetterFilter, DeadLetters, ReplayReport
from libs.common.settings import CommonSettings
from libs.common.topology import Topology

__all__ = ["EXIT_NOTHING_MATCHED", "app", "parse_since"]

EXIT_NOTHING_MATCHED = 4
app = typer.Typer(help="Dead letters: list, show, replay after the cause is fixed, purge.", no_args_is_help=True)

_RELATIVE = re.compile(r"^(\d+)\s*([mhd])$")


def parse_since(value: str | None) -> datetime | None:
    """An ISO date/datetime (UTC unless it says otherwise) or a span back from now: 30m, 6h, 2d."""
    if not value:
        return None
    if m := _RELATIVE.match(value.strip()):
        unit = {"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: int(m.group(1))})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use an ISO date (2026-11-24, 2026-11-24T10:00) or 30m / 6h / 2d",
                                 param_hint="--since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


Tenant = Annotated[str | None, typer.Option(help="Only this tenant's dead letters")]
Reason = Annotated[str | None, typer.Option(help="Substring of the reason or code, e.g. 'account'")]
Code = Annotated[str | None, typer.Option(help="Exact error code, e.g. 2000588 or missing-sku")]
Since = Annotated[str | None, typer.Option(help="Dead-lettered at or after: ISO date/time or 30m, 6h, 2d")]
Group = Annotated[str | None, typer.Option(help="Consumer group: mapper, fortnox-writer, woo-writer, results")]
Type = Annotated[str | None, typer.Option("--type", help="Message type, e.g. fortnox.command.document")]
Ids = Annotated[list[str] | None, typer.Option("--id", help="Only this message id (repeatable)")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def _filter(tenant: str | None, reason: str | None, code: str | None, since: str | None, group: str | None,
            type_: str | None = None, ids: list[str] | None = None) -> DeadLetterFilter:
    topology = Topology(CommonSettings().broker_prefix)
    if group is not None:
        try:
            topology.group(group)
        except KeyError:
            names = ", ".join(g.name for g in topology.groups)
            raise typer.BadParameter(f"unknown group {group!r} (one of {names})", param_hint="--group") from None
    return DeadLetterFilter(tenant=tenant, reason=reason, code=code, since=parse_since(since), group=group,
                            type=type_, ids=frozenset(ids or ()))


def _summary(d: DeadLetter) -> dict[str, object]:
    return d.model_dump(mode="json", exclude={"payload", "headers", "history"})


def _table(letters: list[DeadLetter], title: str) -> Table:
    table = Table("id", "tenant", "type", "queue", "reason", "code", "attempts", "at", title=title)
    for d in letters:
        # Every field but `at` comes from the message: escaped, control characters replaced.
        table.add_row(*map(cell, (d.id, d.tenant, d.type, d.queue, d.reason, d.code)), str(d.attempts),
                      d.at.strftime("%Y-%m-%d %H:%M:%S") if d.at else "")
    return table


async def _list(where: DeadLetterFilter, limit: int | None = None) -> list[DeadLetter]:
    settings = CommonSettings()
    async with DeadLetters(settings.rabbitmq_url, Topology(settings.broker_prefix)) as dl:
        return await dl.list(where, limit=limit)


@app.command("list")
def list_(tenant: Tenant = None, reason: Reason = None, code: Code = None, since: Since = None,
          group: Group = None, type_: Type = None, limit: Annotated[int, typer.Option(min=1)] = 1000,
          as_json: Json = False) -> None:
    """List dead letters (oldest first) with their reason; nothing is removed."""
    where = _filter(tenant, reason, code, since, group, type_)
    letters = run(lambda: _list(where, limit))
    if as_json:
        dump([_summary(d) for d in letters])
    else:
        console.print(_table(letters, f"{len(letters)} dead letter(s)"))


@app.command()
def show(message_id: Annotated[str, typer.Argument(help="The id `dlq list` shows")], as_json: Json = False) -> None:
    """One dead letter in full: payload, reason, Fortnox code, attempts, history."""
    letters = run(lambda: _list(DeadLetterFilter(ids=frozenset({message_id}))))
    if not letters:
        err_console.print(f"[red]error:[/red] no dead letter with id {message_id!r}")
        raise typer.Exit(EXIT_NOT_FOUND)
    if as_json:
        dump([d.model_dump(mode="json") for d in letters])
        return
    for d in letters:
        for key, value in d.model_dump(mode="json", exclude={"payload", "headers", "history"}).items():
            console.print(f"[bold]{key}[/bold]: {value}")
        for entry in d.history:
            console.print(f"[bold]history[/bold]: {entry}")
        console.print("[bold]payload[/bold]:")
        console.print_json(data=d.payload) if not isinstance(d.payload, str) else console.print(d.payload)


@app.command()
def replay(tenant: Tenant = None, reason: Reason = None, code: Code = None, since: Since = None,
           group: Group = None, type_: Type = None, ids: Ids = None,
           dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be replayed")] = False,
           all_: Annotated[bool, typer.Option("--all", help="Replay every dead letter (no filter)")] = False,
           as_json: Json = False) -> None:
    """Send matching dead letters back to the queue they died in (after fixing the cause).

    Each is republished with confirms and only then removed from the DLQ."""
    where = _filter(tenant, reason, code, since, group, type_, ids)
    if where.empty and not all_ and not dry_run:
        raise typer.BadParameter("give a filter (--tenant, --reason, --id, ...) or --all")

    async def go() -> ReplayReport:
        settings = CommonSettings()
        async with DeadLetters(settings.rabbitmq_url, Topology(settings.broker_prefix)) as dl:
            if dry_run or as_json:
                return await dl.replay(where, dry_run=dry_run)
            with Progress(console=err_console, transient=True) as bar:
                task = bar.add_task("replaying", total=None)
                return await dl.replay(where, progress=lambda n: bar.advance(task, n))

    report = run(go)
    if as_json:
        dump(report.model_dump(mode="json", exclude={"letters": {"__all__": {"payload", "headers", "history"}}}))
    elif dry_run:
        console.print(_table(report.letters, f"would replay {report.matched} dead letter(s) (dry run)"))
    else:
        console.print(f"replayed {report.replayed} dead letter(s)")
    if report.matched == 0:
        raise typer.Exit(EXIT_NOTHING_MATCHED)


@app.command()
def purge(tenant: Tenant = None, reason: Reason = None, code: Code = None, since: Since = None,
          group: Group = None, type_: Type = None, ids: Ids = None,
          yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False, as_json: Json = False) -> None:
    """Delete matching dead letters for good (asks first; they are not booked anywhere)."""
    where = _filter(tenant, reason, code, since, group, type_, ids)
    if not yes:
        count = len(run(lambda: _list(where)))
        if count == 0:
            console.print("nothing to purge")
            raise typer.Exit(EXIT_NOTHING_MATCHED)
        typer.confirm(f"Delete {count} dead letter(s) for good?", abort=True)

    async def go() -> int:
        settings = CommonSettings()
        async with DeadLetters(settings.rabbitmq_url, Topology(settings.broker_prefix)) as dl:
            return await dl.purge(where)

    removed = run(go)
    if as_json:
        dump({"purged": removed})
    else:
        console.print(f"purged {removed} dead letter(s)")
    if removed == 0:
        raise typer.Exit(EXIT_NOTHING_MATCHED)
