"""`/3/...`: every Fortnox API call goes through here: token, faults, rate limit, route, scope, body
checks, the handler, response checks, journal. One Starlette endpoint (no per-route FastAPI machinery)
because this is the hot path of every benchmark (measured on a CI-class 2-core machine, a bare FastAPI
endpoint costs ~1.8× a bare Starlette one).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.fortnox_sandbox import errors
from services.fortnox_sandbox.errors import FortnoxError, error_body
from services.fortnox_sandbox.faults import ConnectionDropped
from services.fortnox_sandbox.jsonbody import dumps, loads
from services.fortnox_sandbox.routing import Call
from services.fortnox_sandbox.runtime import Sandbox
from services.fortnox_sandbox.tokens import TokenRejected

__all__ = ["fortnox_api"]

_JSON = "application/json"


class DroppedResponse(Response):
    """Sends the response head, then fails: uvicorn closes the socket mid-response, and httpx (over a
    socket or through ASGITransport) raises a transport error. The write before it stays committed."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        raise ConnectionDropped("sandbox fault: connection dropped after the write was committed")


async def fortnox_api(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    method: str = request.scope["method"]
    raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    path = raw_path.decode("latin-1").split("?", 1)[0]
    query_string = request.scope["query_string"].decode("latin-1")
    raw_body = await request.body() if method in ("POST", "PUT") else b""
    db: int | None = None
    client_id: str | None = None
    fault: str | None = None

    def finish(status: int, body: dict[str, Any] | None) -> Response:
        raw = dumps(body) if body is not None and status != 204 else b""
        sandbox.journal.record(database_number=db, client_id=client_id, method=method, path=path,
                               query=query_string, status=status, request_body=raw_body or None,
                               response_body=raw or None, fault=fault)
        if fault == "drop_after_commit":
            return DroppedResponse(raw, status, media_type=_JSON)
        return Response(raw, status, media_type=_JSON if raw else None)

    try:
        claims = sandbox.tokens.verify(request.headers.get("authorization"))
    except TokenRejected:
        return finish(401, error_body("Ogiltig eller utgången access-token (401 Unauthorized)", errors.INVALID_TOKEN))
    db, client_id = claims.database_number, claims.client_id
    company = sandbox.state.companies[db]
    verdict = sandbox.faults.judge(db, path, method)
    if verdict is not None:
        if verdict.latency:
            await asyncio.sleep(verdict.latency)
        if verdict.status is not None:
            fault = f"status_{verdict.status}"
            return _fault_answer(finish, verdict.status)
    # Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits:
    # 25 per 5 s per (client, tenant), then 429 with no headers.
    if not sandbox.limiter.allow(client_id, db):
        return finish(429, error_body("Too many requests", 429))
    found = sandbox.router.route(method, path)
    if found is None:
        status = 405 if sandbox.router.allowed(path) else 404
        return finish(status, error_body(f"Resursen {path} finns inte för {method}", errors.NOT_FOUND))
    endpoint, params = found
    # Fortnox developer docs, https://www.fortnox.se/developer/authorization: a call outside the granted
    # scopes fails (2000663, https://www.fortnox.se/developer/guides-and-good-to-know/errors).
    if endpoint.scope not in claims.scopes:
        return finish(403, error_body(f"Har inte behörighet för scope {endpoint.scope}", errors.NO_SCOPE_ACCESS))
    try:
        body = _parse_body(raw_body, endpoint.request_schema)
        if body is not None and endpoint.request_schema and sandbox.validator and sandbox.settings.validate_requests:
            sandbox.validator.check_request(endpoint.request_schema, body, partial=method == "PUT")
        query = {k.lower(): v for k, v in parse_qsl(query_string, keep_blank_values=True)}
        status, answer = endpoint.handler(Call(sandbox, company, method, params, query, body))
    except FortnoxError as exc:
        sandbox.flush(company)
        return finish(exc.status, exc.body())
    sandbox.flush(company)
    if sandbox.validator and sandbox.settings.validate_responses and endpoint.response_schema and status < 300:
        problem = sandbox.validator.problem(endpoint.response_schema, loads(dumps(answer)))
        if problem:
            return finish(500, error_body(f"sandbox answer breaks openapi.json: {problem}", errors.SYSTEM_EXCEPTION))
    if method == "POST" and verdict is not None and verdict.drop_after_commit and status < 300:
        fault = "drop_after_commit"
    return finish(status, answer)


def _fault_answer(finish: Any, status: int) -> Response:
    if status == 429:
        result: Response = finish(429, error_body("Too many requests", 429))
    else:
        result = finish(status, error_body("Internt fel (sandbox fault)", errors.SYSTEM_EXCEPTION))
    return result


def _parse_body(raw: bytes, schema: str | None) -> Any:
    if not raw.strip():
        if schema:
            raise FortnoxError(400, "Tom begäran", errors.EMPTY_BODY)
        return None
    try:
        return loads(raw)
    except ValueError:
        raise FortnoxError(400, "Ogiltig JSON (syntaxfel)", errors.JSON_SYNTAX) from None
