"""The status page of ingest's admin API: tenants and their health, queue and DLQ sizes, recent
bookings, and dead letters with a replay button. Server-rendered HTML; the only script is the
confirm() before a replay.

    GET  /status           the page
    GET  /status.json      the same facts as JSON (libs.common.overview.Overview + dead letters)
    POST /status/replay    form: id=<message id>&csrf=<token>  -> 303 back to /status

Access: the admin token (IngestSettings.admin_token), as `Authorization: Bearer <token>` or, for a
browser, HTTP Basic with the token as password. Browsers resend Basic credentials on their own, so
the replay form also carries a CSRF token derived from the admin token. No admin token configured
means no status page (404), like the rest of the admin API.

The app must hold `state.settings` (CommonSettings with `admin_token`) and may hold
`state.sessions` (an async_sessionmaker of the store of record); without one it makes its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from html import escape
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.dead_letters import DeadLetter, DeadLetterFilter, DeadLetters
from libs.common.overview import Overview, overview
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.topology import Topology

__all__ = ["router"]

router = APIRouter()
DEAD_LETTERS_SHOWN = 50


def _admin_token(request: Request) -> str:
    token = getattr(request.app.state.settings, "admin_token", None)
    value = token.get_secret_value() if token is not None else ""
    if not value:
        raise HTTPException(404, "the admin API is disabled (no admin token configured)")
    return str(value)


def _authorise(request: Request) -> str:
    expected = _admin_token(request)
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    given = ""
    if scheme.lower() == "bearer":
        given = credential
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(credential).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            given = ""
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "admin token required", headers={"WWW-Authenticate": 'Basic realm="woonox"'})
    return expected


def _csrf(token: str) -> str:
    return hmac.new(token.encode(), b"woonox-status-replay", hashlib.sha256).hexdigest()


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    state = request.app.state
    if getattr(state, "sessions", None) is None:
        settings = state.settings
        state.sessions = make_sessionmaker(make_engine(settings.database_url, settings.db_schema, pool_size=2))
    sessions: async_sessionmaker[AsyncSession] = state.sessions
    return sessions


async def _gather(request: Request) -> tuple[Overview, list[DeadLetter]]:
    settings = request.app.state.settings
    topology = Topology(settings.broker_prefix)
    view = await overview(settings.rabbitmq_url, topology, _sessions(request),
                          redis=getattr(request.app.state, "redis", None), redis_prefix=settings.redis_prefix)
    async with DeadLetters(settings.rabbitmq_url, topology) as dl:
        letters = await dl.list()
    newest = sorted(letters, key=lambda d: d.at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return view, newest[:DEAD_LETTERS_SHOWN]


@router.get("/status", response_class=HTMLResponse, include_in_schema=False)
async def status_page(request: Request, replayed: int | None = None, error: str | None = None) -> HTMLResponse:
    token = _authorise(request)
    view, letters = await _gather(request)
    return HTMLResponse(_page(view, letters, _csrf(token), replayed, error))


@router.get("/status.json", tags=["admin"], summary="Tenants, queues, recent bookings and dead letters")
async def status_json(request: Request) -> JSONResponse:
    _authorise(request)
    view, letters = await _gather(request)
    data = view.model_dump(mode="json")
    data["dead_letters"] = [d.model_dump(mode="json", exclude={"headers", "payload"}) for d in letters]
    return JSONResponse(data)


@router.post("/status/replay", include_in_schema=False)
async def replay(request: Request, id: str = Form(..., max_length=128),
                 csrf: str = Form(..., max_length=128)) -> RedirectResponse:
    token = _authorise(request)
    if not hmac.compare_digest(csrf.encode(), _csrf(token).encode()):
        raise HTTPException(403, "stale or forged form: reload the status page")
    settings = request.app.state.settings
    async with DeadLetters(settings.rabbitmq_url, Topology(settings.broker_prefix)) as dl:
        report = await dl.replay(DeadLetterFilter(ids=frozenset({id})))
    if report.replayed == 0:
        return RedirectResponse("/status?error=no+such+dead+letter", status_code=303)
    return RedirectResponse(f"/status?replayed={report.replayed}", status_code=303)


# --- rendering ---------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2330}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.8rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #dde}
th{background:#f3f4f8}.bad{color:#b00020;font-weight:600}.ok{color:#0a7a32}.muted{color:#778}
.flash{padding:.6rem 1rem;border-radius:4px;background:#e7f6ec}.flash.error{background:#fde8eb}
button{cursor:pointer}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _table(caption: str, headers: list[str], rows: list[list[str]], empty: str, table_id: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="muted">{_e(empty)}</td></tr>'
    return f'<h2>{_e(caption)}</h2><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _health(word: str, good: set[str]) -> str:
    return f'<span class="{"ok" if word in good else "bad"}">{_e(word)}</span>'


def _page(view: Overview, letters: list[DeadLetter], csrf: str, replayed: int | None, error: str | None) -> str:
    flash = ""
    if replayed:
        flash = f'<p class="flash" role="status">Replayed {replayed} dead letter(s).</p>'
    elif error:
        flash = f'<p class="flash error" role="alert">{_e(error)}</p>'
    tenants = [[
        _e(t.id), _e(t.name), _health(t.status, {"active"}) + (f" {_e(t.status_reason)}" if t.status_reason else ""),
        _health(t.token_health, {"ok", "expiring"}), _e(_when(t.token_expires_at)),
        "" if t.queue_depth is None else _e(t.queue_depth),
        "" if t.rate_limit_used is None else f"{t.rate_limit_used}/25"
        + (' <span class="bad">held after a 429</span>' if t.rate_limit_blocked_ms else ""),
        (f"{_e(t.last_booking.kind)} {_e(t.last_booking.fortnox_number or '-')} for "
         f"{_e(t.last_booking.woo_resource)} {_e(t.last_booking.woo_id)}, {_e(_when(t.last_booking.at))}")
        if t.last_booking else '<span class="muted">never</span>',
    ] for t in view.tenants]
    queues = [[
        _e(g.group), _e(g.queue.name) + ("" if g.queue.exists else ' <span class="bad">missing</span>'),
        _e(g.queue.messages), _e(g.queue.consumers), _e(g.retrying),
        f'<span class="{"bad" if g.dead.messages else "ok"}">{g.dead.messages}</span>',
    ] for g in view.groups]
    bookings = [[_e(_when(b.at)), _e(b.tenant), f"{_e(b.woo_resource)} {_e(b.woo_id)}", _e(b.kind),
                 _e(b.fortnox_number or "-")] for b in view.recent_bookings]
    dead = [[
        _e(_when(d.at)), _e(d.tenant), _e(d.type), _e(d.reason), _e(d.code), _e(d.attempts), f"<code>{_e(d.id)}</code>",
        f'<form method="post" action="/status/replay" onsubmit="return confirm(\'Replay {_e(d.id)}?\')">'
        f'<input type="hidden" name="id" value="{_e(d.id)}"><input type="hidden" name="csrf" value="{csrf}">'
        f'<button type="submit" aria-label="Replay {_e(d.id)}">Replay</button></form>',
    ] for d in letters]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>woonox status</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head><body>'
        f'<h1>woonox status</h1><p class="muted">as of {_e(_when(view.at))} UTC</p>{flash}'
        + _table("Tenants", ["tenant", "name", "status", "Fortnox token", "token expires", "queue",
                             "Fortnox requests / 5 s", "last booking"],
                 tenants, "No tenants yet: woonox tenant add", "tenants")
        + _table("Queues", ["group", "queue", "ready", "consumers", "retrying", "dead letters"], queues,
                 "No queues", "queues")
        + _table(f"Dead letters ({view.dead_letters})",
                 ["at", "tenant", "type", "reason", "code", "attempts", "id", ""], dead,
                 "No dead letters.", "dead-letters")
        + _table("Recent bookings", ["at", "tenant", "WooCommerce", "kind", "Fortnox number"], bookings,
                 "Nothing booked yet.", "bookings")
        + "</body></html>"
    )
