"""`/oauth-v1/auth` (consent, auto-approved) and `/oauth-v1/token`, as Fortnox runs them.

Fortnox developer docs, Authorization (https://www.fortnox.se/developer/authorization): HTTP Basic client
auth, form body; grants authorization_code,
refresh_token (single use, rotating; a dead one answers "Invalid refresh token") and
client_credentials with a `TenantId` header for service accounts (no refresh token). The consent
code lives 10 minutes; `state` is required.

Sandbox extension: PKCE as RFC 7636 defines it. Fortnox documents no `code_challenge`; the sandbox
accepts one (method S256 only, as RFC 7636 section 4.2 recommends; `plain` is refused) and then
redeems the code only with the matching `code_verifier` (section 4.6). A code asked for without a
challenge is redeemed as before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.fortnox_sandbox.runtime import Sandbox
from services.fortnox_sandbox.state import ALL_SCOPES, Client, CodeGrant

__all__ = ["authorize", "token"]

CODE_TTL = 600
# RFC 7636 section 4.1 (verifier) and 4.2 (an S256 challenge is 43 base64url characters).
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


async def authorize(request: Request) -> Response:
    """Consent, approved at once. Sandbox extension: `database_number` picks the company; without it a new
    company is created for the consent (what a shop owner connecting a fresh Fortnox would see)."""
    sandbox: Sandbox = request.app.state.sandbox
    q = request.query_params
    client = sandbox.state.clients.get(q.get("client_id", ""))
    if client is None and q.get("client_id") and sandbox.settings.auto_register_clients:
        client = sandbox.state.clients[q["client_id"]] = Client(q["client_id"], None)
        sandbox.flush_clients()
    if client is None:
        return _oauth_error(400, "invalid_client", "Unknown client_id")
    if q.get("response_type") != "code" or not q.get("redirect_uri"):
        return _oauth_error(400, "invalid_request", "response_type=code and redirect_uri are required")
    if not q.get("state"):
        return _oauth_error(400, "invalid_request", "state is required")
    challenge = q.get("code_challenge")
    if challenge is not None and (q.get("code_challenge_method") != "S256" or not _CHALLENGE.match(challenge)):
        return _oauth_error(400, "invalid_request", "code_challenge must be S256 (code_challenge_method=S256)")
    scopes = tuple(s for s in q.get("scope", "").split() if s in ALL_SCOPES) or ALL_SCOPES
    if q.get("database_number"):
        company = sandbox.state.companies.get(int(q["database_number"]))
        if company is None:
            return _oauth_error(400, "invalid_request", "Unknown database_number")
    else:
        company = sandbox.create_company(f"Sandbox AB {len(sandbox.state.companies) + 1}")
    sandbox.consent(company, client.client_id, scopes, q.get("account_type") == "service")
    code = secrets.token_urlsafe(24)
    sandbox.state.codes[code] = CodeGrant(client.client_id, company.database_number, scopes, q["redirect_uri"],
                                          time.time() + CODE_TTL, challenge)
    sep = "&" if "?" in q["redirect_uri"] else "?"
    return RedirectResponse(f"{q['redirect_uri']}{sep}{urlencode({'code': code, 'state': q['state']})}", 302)


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


async def token(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    form = dict(parse_qsl((await request.body()).decode(errors="replace"), keep_blank_values=True))
    grant_type = form.get("grant_type", "")
    db: int | None = None
    client_id: str | None = None

    def finish(response: Response, status_text: dict[str, Any]) -> Response:
        # Secrets never enter the journal: the grant type and the outcome are enough to follow a flow.
        sandbox.journal.record(database_number=db, client_id=client_id, method="POST", path="/oauth-v1/token",
                               query="", status=response.status_code, request_body={"grant_type": grant_type},
                               response_body=status_text)
        return response

    credentials = _basic(request)
    client = sandbox.state.clients.get(credentials[0]) if credentials else None
    if credentials is not None and client is not None and client.client_secret is None and credentials[1]:
        client.client_secret = credentials[1]  # trust on first use (auto_register_clients)
        sandbox.flush_clients()
    if credentials is None or client is None or client.client_secret is None \
            or not secrets.compare_digest(client.client_secret, credentials[1]):
        return finish(_oauth_error(401, "invalid_client", "Client authentication failed"), {"error": "invalid_client"})
    client_id = client.client_id
    # Where the grant names a tenant, find it before anything is consumed, for scoped outages.
    if grant_type == "refresh_token":
        peek = sandbox.state.refresh_tokens.get(form.get("refresh_token", ""))
        db = peek.database_number if peek else None
    elif grant_type == "client_credentials":
        db = int(request.headers["tenantid"]) if request.headers.get("tenantid", "").isdigit() else None
    if sandbox.faults.token_outage(db):
        return finish(_oauth_error(503, "temporarily_unavailable", "Service unavailable"), {"error": "outage"})
    answer, status = _grant(sandbox, client_id, grant_type, form, request.headers.get("tenantid"))
    if status == 200:
        db = int(answer.pop("_database_number"))
        shown = {k: ("***" if k.endswith("token") else v) for k, v in answer.items()}
        return finish(JSONResponse(answer), shown)
    return finish(JSONResponse(answer, status), answer)


def _grant(sandbox: Sandbox, client_id: str, grant_type: str, form: dict[str, str],
           tenant_header: str | None) -> tuple[dict[str, Any], int]:
    state = sandbox.state
    if grant_type == "authorization_code":
        code = state.codes.pop(form.get("code", ""), None)
        if code is None or code.client_id != client_id or code.expires_at < time.time():
            return {"error": "invalid_grant", "error_description": "Invalid authorization code"}, 400
        if form.get("redirect_uri") and form["redirect_uri"] != code.redirect_uri:
            return {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}, 400
        if code.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not _VERIFIER.match(verifier) or not secrets.compare_digest(_s256(verifier), code.code_challenge):
                return {"error": "invalid_grant", "error_description": "code_verifier does not match"}, 400
        company, scopes, refresh = state.companies[code.database_number], code.scopes, True
    elif grant_type == "refresh_token":
        grant = sandbox.tokens.take_refresh(form.get("refresh_token", ""), client_id)
        sandbox.flush_clients()
        if grant is None or grant.database_number not in state.companies:
            # Fortnox developer docs, https://www.fortnox.se/developer/authorization: an invalid refresh
            # token answers "Invalid refresh token".
            return {"error": "invalid_grant", "error_description": "Invalid refresh token"}, 400
        company, scopes, refresh = state.companies[grant.database_number], grant.scopes, True
    elif grant_type == "client_credentials":
        target = state.companies.get(int(tenant_header)) if tenant_header and tenant_header.isdigit() else None
        consent = target.consents.get(client_id) if target else None
        if target is None or consent is None or not consent.service_account:
            return {"error": "invalid_grant", "error_description": "No service account consent for TenantId"}, 400
        company, scopes, refresh = target, consent.scopes, False
    else:
        return {"error": "unsupported_grant_type", "error_description": f"Unsupported grant_type {grant_type!r}"}, 400
    if client_id not in company.consents:
        return {"error": "invalid_grant", "error_description": "Consent withdrawn"}, 400
    answer = sandbox.tokens.issue(company, client_id, scopes, refresh=refresh)
    sandbox.flush_clients()
    answer["_database_number"] = company.database_number
    return answer, 200
