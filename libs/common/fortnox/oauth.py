"""Connecting a tenant to Fortnox: OAuth2 authorization-code flow (Fortnox developer docs,
https://www.fortnox.se/developer/authorization). The operator opens `connect`, which redirects to the
consent page of the tenant's
`fortnox_auth_url` with a one-time `state` kept in Redis for the code's 10 minutes; Fortnox redirects
back to `callback`, which swaps the code for a token pair at `/oauth-v1/token` (HTTP Basic with the
client id and secret) and stores it encrypted through `TokenManager.store`."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import httpx
import redis.asyncio as aioredis
from pydantic import ValidationError

from libs.common.errors import PermanentError, TransientError
from libs.common.fortnox.tokens import TokenResponse
from libs.common.store.tenants import Tenant

__all__ = ["CALLBACK_PATH", "SCOPES", "consent_url", "exchange_code", "new_state", "take_state"]

# Where Fortnox sends the user back: ingest's admin API (services/ingest/admin.py).
CALLBACK_PATH = "/admin/fortnox/callback"
SCOPES = "companyinformation customer article order invoice offer payment bookkeeping settings price"
STATE_SECONDS = 600  # a Fortnox authorization code lives 10 minutes


def _state_key(prefix: str, state: str) -> str:
    return f"{prefix}:oauth:state:{state}"


async def new_state(redis: aioredis.Redis, prefix: str, tenant_id: str) -> str:
    state = secrets.token_urlsafe(24)
    await redis.set(_state_key(prefix, state), tenant_id, ex=STATE_SECONDS)
    return state


async def take_state(redis: aioredis.Redis, prefix: str, state: str) -> str | None:
    """The tenant a state was issued for; single use."""
    value = await redis.getdel(_state_key(prefix, state))
    return value.decode() if isinstance(value, bytes) else value


def consent_url(tenant: Tenant, redirect_uri: str, state: str) -> str:
    query = urlencode({"client_id": tenant.fortnox_client_id, "redirect_uri": redirect_uri, "scope": SCOPES,
                       "state": state, "access_type": "offline", "response_type": "code"})
    return f"{tenant.fortnox_auth_url}/oauth-v1/auth?{query}"


async def exchange_code(http: httpx.AsyncClient, tenant: Tenant, code: str, redirect_uri: str) -> TokenResponse:
    secret = tenant.fortnox_client_secret.get_secret_value() if tenant.fortnox_client_secret else ""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
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
