"""Connecting a tenant to Fortnox: OAuth2 authorization-code flow (Fortnox developer docs,
https://www.fortnox.se/developer/authorization). The operator opens `connect`, which redirects to the
consent page of the tenant's `fortnox_auth_url`; Fortnox redirects back to `callback`, which swaps the
code for a token pair at `/oauth-v1/token` (HTTP Basic with the client id and secret) and stores it
encrypted through `TokenManager.store`.

The flow is bound to the browser that started it (RFC 6749 section 10.12, RFC 9700 section 4.7): the
start sets an HttpOnly, SameSite=Lax cookie holding a random nonce, and the `state` kept in Redis for
the code's 10 minutes records only the nonce's SHA-256. A callback without that cookie (the consent
link opened in another browser, or a code injected by someone else) is refused before the code is
used, so whoever else holds the consent link cannot bind the shop to their own Fortnox company.

Where the flow starts outside a browser (`woonox connect`, `?redirect=false`), it starts from a
single-use *start link* instead: opening it sets the cookie and goes on to the consent page.

PKCE (RFC 7636, S256) is sent only when the deployment turns it on (`WOONOX_FORTNOX_PKCE`): Fortnox's
authorization documentation names no `code_challenge` parameter. The verifier is derived from the
browser's nonce, so Redis holds nothing that can redeem a code.

After the exchange, `company_of` reads `/3/companyinformation` and `check_company` refuses a company
whose organisation number differs from the one configured for the tenant.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import redis.asyncio as aioredis
from pydantic import ValidationError

from libs.common.errors import PermanentError, TransientError
from libs.common.fortnox.tokens import TokenResponse
from libs.common.store.tenants import Tenant

__all__ = ["CALLBACK_PATH", "COOKIE", "COOKIE_PATH", "SCOPES", "START_PATH", "STATE_SECONDS", "OAuthRefused",
           "check_company", "code_challenge", "code_verifier", "company_of", "consent_url", "exchange_code",
           "new_start", "new_state", "take_start", "take_state", "verified_company"]

# Where Fortnox sends the user back: ingest's admin listener (services/ingest/admin.py).
CALLBACK_PATH = "/admin/fortnox/callback"
START_PATH = "/admin/fortnox/start"
COOKIE = "woonox_oauth"
COOKIE_PATH = "/admin/fortnox"
SCOPES = "companyinformation customer article order invoice offer payment bookkeeping settings price"
STATE_SECONDS = 600  # a Fortnox authorization code lives 10 minutes


class OAuthRefused(Exception):
    """A callback (or start link) that must not go on; `status` and `code` are the HTTP answer."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def code_verifier(nonce: str) -> str:
    """43 characters of the unreserved set (RFC 7636 section 4.1), from the browser's nonce."""
    return _b64(hashlib.sha256(b"woonox-pkce:" + nonce.encode()).digest())


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(code_verifier))) (RFC 7636 section 4.2)."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _state_key(prefix: str, state: str) -> str:
    return f"{prefix}:oauth:state:{state}"


def _start_key(prefix: str, ticket: str) -> str:
    return f"{prefix}:oauth:start:{ticket}"


async def new_state(redis: aioredis.Redis, prefix: str, tenant_id: str) -> tuple[str, str]:
    """A state for `tenant_id` and the nonce its browser must hold (the cookie's value)."""
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    record = json.dumps({"tenant": tenant_id, "nonce_sha256": _digest(nonce)})
    await redis.set(_state_key(prefix, state), record, ex=STATE_SECONDS)
    return state, nonce


async def take_state(redis: aioredis.Redis, prefix: str, state: str, nonce: str | None) -> str:
    """The tenant `state` was issued for, if `nonce` is the one it was issued with; single use.
    A wrong or missing nonce leaves the state alone: the operator's own browser can still finish."""
    raw = await redis.get(_state_key(prefix, state))
    if raw is None:
        raise OAuthRefused(400, "bad-state", "unknown or expired state: start again from the connect link")
    record = json.loads(raw)
    if not nonce:
        raise OAuthRefused(403, "no-oauth-session", "this browser did not start the connection (no session "
                           "cookie): open the connect link and approve in the same browser")
    if not secrets.compare_digest(_digest(nonce), str(record.get("nonce_sha256", ""))):
        raise OAuthRefused(403, "oauth-session-mismatch", "this browser started a different connection: "
                           "open the connect link again and approve in the same browser")
    if await redis.getdel(_state_key(prefix, state)) is None:  # taken meanwhile by a second callback
        raise OAuthRefused(400, "bad-state", "unknown or expired state: start again from the connect link")
    return str(record["tenant"])


async def new_start(redis: aioredis.Redis, prefix: str, tenant_id: str) -> str:
    """A single-use ticket for a start link (`START_PATH?ticket=...`)."""
    ticket = secrets.token_urlsafe(24)
    await redis.set(_start_key(prefix, ticket), tenant_id, ex=STATE_SECONDS)
    return ticket


async def take_start(redis: aioredis.Redis, prefix: str, ticket: str) -> str:
    value = await redis.getdel(_start_key(prefix, ticket))
    if value is None:
        raise OAuthRefused(400, "bad-start-link", "this connect link was used already or has expired: "
                           "ask for a new one (`woonox connect TENANT`)")
    return value.decode() if isinstance(value, bytes) else str(value)


def consent_url(tenant: Tenant, redirect_uri: str, state: str, challenge: str | None = None) -> str:
    params = {"client_id": tenant.fortnox_client_id, "redirect_uri": redirect_uri, "scope": SCOPES,
              "state": state, "access_type": "offline", "response_type": "code"}
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{tenant.fortnox_auth_url}/oauth-v1/auth?{urlencode(params)}"


async def exchange_code(http: httpx.AsyncClient, tenant: Tenant, code: str, redirect_uri: str,
                        verifier: str | None = None) -> TokenResponse:
    secret = tenant.fortnox_client_secret.get_secret_value() if tenant.fortnox_client_secret else ""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    try:
        response = await http.post(f"{tenant.fortnox_auth_url}/oauth-v1/token", data=form,
                                   auth=(tenant.fortnox_client_id, secret), timeout=15)
    except httpx.HTTPError as exc:
        raise TransientError(f"Fortnox token endpoint unreachable: {exc!r}", code="token-endpoint") from exc
    if response.status_code != 200:
        raise PermanentError(f"Fortnox refused the authorization code ({response.status_code}): "
                             f"{response.text[:200]}", code="oauth-code-rejected")
    try:
        return TokenResponse.model_validate_json(response.content)
    except ValidationError as exc:
        raise PermanentError(f"Fortnox token endpoint sent an unexpected body: {exc}", code="token-endpoint") from exc


async def company_of(http: httpx.AsyncClient, tenant: Tenant, access_token: str) -> dict[str, Any]:
    """The company a fresh token belongs to (Fortnox API, GET /3/companyinformation)."""
    try:
        response = await http.get(f"{tenant.fortnox_api_url}/3/companyinformation", timeout=15,
                                  headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise TransientError(f"Fortnox unreachable for company information: {exc!r}",
                             code="companyinformation") from exc
    if response.status_code != 200:
        raise TransientError(f"Fortnox answered {response.status_code} for company information",
                             code="companyinformation")
    try:
        return dict(response.json().get("CompanyInformation") or {})
    except (ValueError, AttributeError) as exc:
        raise TransientError("Fortnox sent an unreadable company information body", code="companyinformation") from exc


def _org_digits(value: str) -> str:
    """Swedish organisation numbers compare on their last ten digits (a personnummer of a sole trader
    may be written with the century)."""
    return re.sub(r"\D", "", value)[-10:]


def check_company(tenant: Tenant, company: dict[str, Any]) -> None:
    """Refuse a token pair for another company than the tenant's configured organisation number."""
    expected = tenant.fortnox_organisation_number
    if not expected:
        return
    got = str(company.get("OrganizationNumber") or "")
    if _org_digits(got) != _org_digits(expected):
        raise PermanentError(
            f"the Fortnox company that approved ({company.get('CompanyName') or 'unnamed'}, organisation "
            f"number {got or 'unknown'}) is not tenant {tenant.id}'s ({expected}): nothing was stored; log in "
            "to Fortnox as the right company and connect again", code="wrong-fortnox-company")


async def verified_company(http: httpx.AsyncClient, tenant: Tenant, access_token: str) -> dict[str, Any]:
    """The token's company, checked against the tenant's organisation number. Without one configured
    there is nothing to check, and a company-information failure only leaves the answer blank."""
    try:
        company = await company_of(http, tenant, access_token)
    except TransientError:
        if tenant.fortnox_organisation_number:
            raise
        return {}
    check_company(tenant, company)
    return company
