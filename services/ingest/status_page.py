"""The status page of ingest's admin API: tenants and their health, queue and DLQ sizes, recent
bookings, and dead letters with a replay button. Server-rendered HTML (Jinja2, autoescaped); the only
script is the confirm() before a replay, in static/status.js.

    GET  /status           the page
    GET  /status.json      the same facts as JSON (libs.common.overview.Overview + dead letters)
    GET  /status/static/*  the page's script and style sheet (a strict CSP allows nothing inline)
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
from pathlib import Path

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
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
    return HTMLResponse(_page(view, letters, _csrf(token), replayed, error), headers=SECURITY_HEADERS)


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
# Jinja2 with autoescape: every value from outside (dead-letter ids and reasons, tenant names) is text.
# No inline script or style: the one script reads values from data- attributes, and the CSP forbids
# anything else, so a value that did slip through escaping still could not run (issue 16).

_HERE = Path(__file__).parent
_STATIC = {"status.js": "text/javascript; charset=utf-8", "status.css": "text/css; charset=utf-8"}
_templates = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"]),
                         finalize=lambda value: "" if value is None else value)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@router.get("/status/static/{name}", include_in_schema=False)
async def static(request: Request, name: str) -> Response:
    _authorise(request)
    if name not in _STATIC:
        raise HTTPException(404, "no such file")
    return Response((_HERE / "static" / name).read_bytes(), media_type=_STATIC[name], headers=SECURITY_HEADERS)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _page(view: Overview, letters: list[DeadLetter], csrf: str, replayed: int | None, error: str | None) -> str:
    return _templates.get_template("status.html").render(view=view, letters=letters, csrf=csrf, replayed=replayed,
                                                         error=error, when=_when)
