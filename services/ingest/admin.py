"""The admin HTTP API (operator token, `operator_auth.py`): tenants, their sync settings, the Fortnox
OAuth2 connect flow, and health. FastAPI generates its OpenAPI document at /openapi.json.

Secrets go in (webhook secret, WooCommerce keys, Fortnox client secret) but never come out: views say
only whether each is set."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Security
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from sqlalchemy import text

from libs.common.errors import PermanentError, TransientError
from libs.common.fortnox.oauth import (
    CALLBACK_PATH,
    COOKIE,
    COOKIE_PATH,
    START_PATH,
    STATE_SECONDS,
    OAuthRefused,
    code_challenge,
    code_verifier,
    consent_url,
    exchange_code,
    new_start,
    new_state,
    take_start,
    take_state,
    verified_company,
)
from libs.common.shop_settings import ShopSettings
from libs.common.store.tenants import Tenant, TenantNew
from services.ingest.operator_auth import bearer_scheme, require_operator

__all__ = ["TenantPatch", "TenantView", "callback_router", "router"]

log = structlog.get_logger("woonox.ingest.admin")
router = APIRouter(prefix="/admin", tags=["admin"],
                   dependencies=[Security(bearer_scheme), Depends(require_operator)])
callback_router = APIRouter(prefix="/admin", tags=["admin"])


class TenantView(BaseModel):
    id: str
    name: str
    shop_url: str
    status: str
    status_reason: str | None
    fortnox_api_url: str
    fortnox_auth_url: str
    fortnox_client_id: str
    fortnox_tenant_id: str | None
    fortnox_organisation_number: str | None = None
    webhook_url_path: str
    woo_keys_set: bool
    fortnox_client_secret_set: bool
    warnings: list[str] = Field(default_factory=list, description="accepted but weak, e.g. a short webhook secret")
    secrets_unreadable: bool = Field(False, description="its stored secrets cannot be decrypted with "
                                                        "WOONOX_SECRET_KEYS (status secrets_unreadable)")
    settings: dict[str, Any]

    @classmethod
    def of(cls, t: Tenant) -> TenantView:
        return cls(id=t.id, name=t.name, shop_url=t.shop_url, status=t.status, status_reason=t.status_reason,
                   fortnox_api_url=t.fortnox_api_url, fortnox_auth_url=t.fortnox_auth_url,
                   fortnox_client_id=t.fortnox_client_id, fortnox_tenant_id=t.fortnox_tenant_id,
                   fortnox_organisation_number=t.fortnox_organisation_number,
                   webhook_url_path=f"/webhooks/woocommerce/{t.id}",
                   woo_keys_set=t.woo_consumer_key is not None and t.woo_consumer_secret is not None,
                   fortnox_client_secret_set=t.fortnox_client_secret is not None,
                   secrets_unreadable=t.secrets_unreadable, settings=t.settings)


class TenantPatch(BaseModel):
    """Fields to change; absent ones stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    shop_url: str | None = None
    webhook_secret: SecretStr | None = Field(None, min_length=8)
    woo_consumer_key: SecretStr | None = None
    woo_consumer_secret: SecretStr | None = None
    fortnox_api_url: str | None = None
    fortnox_auth_url: str | None = None
    fortnox_client_id: str | None = None
    fortnox_client_secret: SecretStr | None = None
    fortnox_tenant_id: str | None = None
    fortnox_organisation_number: str | None = None


def _fail(status: int, error: str, reason: str) -> HTTPException:
    return HTTPException(status, {"error": error, "reason": reason})


def _no_nul(model: BaseModel) -> None:
    """PostgreSQL text cannot hold NUL: refuse it here with a reason instead of failing in the driver."""
    for name in model.model_fields_set:
        value = getattr(model, name)
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and "\x00" in text:
            raise _fail(422, "invalid-tenant", f"{name}: contains a NUL character")


async def _tenant(request: Request, tenant_id: str) -> Tenant:
    try:
        tenant: Tenant | None = await request.app.state.tenant_store.get(tenant_id)
    except PermanentError as exc:
        if exc.code != "undecryptable-secret":
            raise
        raise _fail(409, "secrets-unreadable", f"tenant {tenant_id!r}: no key in WOONOX_SECRET_KEYS opens its "
                    "secrets; add the key they were stored under, then run `woonox keys rotate`") from None
    if tenant is None:
        raise _fail(404, "unknown-tenant", f"no tenant {tenant_id!r}")
    return tenant


@router.get("/tenants", summary="List tenants")
async def list_tenants(request: Request) -> list[TenantView]:
    return [TenantView.of(t) for t in await request.app.state.tenant_store.list()]


@router.post("/tenants", status_code=201, summary="Add a tenant (shop)")
async def create_tenant(request: Request, body: TenantNew) -> TenantView:
    _no_nul(body)
    if body.settings:
        _validated_settings(body.settings)
    try:
        created = await request.app.state.tenant_store.add(body)
    except PermanentError as exc:
        raise _fail(409, exc.code or "conflict", exc.reason) from None
    request.app.state.tenant_cache.forget(body.id)
    return _warned(TenantView.of(created), body)


@router.get("/tenants/{tenant_id}", summary="Show a tenant")
async def get_tenant(request: Request, tenant_id: str) -> TenantView:
    return TenantView.of(await _tenant(request, tenant_id))


@router.patch("/tenants/{tenant_id}", summary="Change a tenant (keys, URLs, Fortnox app)")
async def update_tenant(request: Request, tenant_id: str, patch: TenantPatch) -> TenantView:
    _no_nul(patch)
    current = await _tenant(request, tenant_id)
    fields = current.model_dump(include=set(TenantNew.model_fields))
    fields.update({k: v for k, v in patch if k in patch.model_fields_set and v is not None})
    try:
        merged = TenantNew.model_validate(fields)
    except ValidationError as exc:
        raise _fail(422, "invalid-tenant", str(exc)) from None
    store = request.app.state.tenant_store
    await store.add(merged, replace=True)
    if current.status != "active":  # a re-keyed tenant keeps its status until the cause is fixed
        await store.set_status(tenant_id, current.status, current.status_reason)
    request.app.state.tenant_cache.forget(tenant_id)
    view = TenantView.of(await _tenant(request, tenant_id))
    return _warned(view, merged) if "webhook_secret" in patch.model_fields_set else view


def _warned(view: TenantView, supplied: TenantNew) -> TenantView:
    view.warnings = supplied.warnings()
    if view.warnings:
        log.warning("weak_tenant_secret", tenant=supplied.id, warnings=view.warnings)  # says the length only
    return view


def _validated_settings(body: dict[str, Any]) -> dict[str, Any]:
    try:
        return ShopSettings.model_validate(body).model_dump(mode="json")
    except ValidationError as exc:
        reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise _fail(422, "invalid-settings", reason) from None


@router.get("/tenants/{tenant_id}/settings", summary="A tenant's sync settings")
async def get_settings(request: Request, tenant_id: str) -> dict[str, Any]:
    return (await _tenant(request, tenant_id)).settings


@router.put("/tenants/{tenant_id}/settings", summary="Replace a tenant's sync settings (validated)")
async def put_settings(request: Request, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
    await _tenant(request, tenant_id)
    settings = _validated_settings(body)
    await request.app.state.tenant_store.update_settings(tenant_id, settings)
    return settings


@router.get("/tenants/{tenant_id}/fortnox/connect", summary="Start the Fortnox OAuth2 consent",
            responses={307: {"description": "redirect to Fortnox's consent page, with this browser's session cookie"}})
async def connect(request: Request, tenant_id: str, redirect: bool = True) -> Any:
    """`redirect=true`: this browser goes to the consent page and must come back to the callback.
    `redirect=false`: a single-use start link for the browser that will approve (10 minutes)."""
    tenant = await _tenant(request, tenant_id)
    if not tenant.fortnox_client_id or tenant.fortnox_client_secret is None:
        raise _fail(400, "no-fortnox-app", "set fortnox_client_id and fortnox_client_secret first (PATCH)")
    settings = request.app.state.settings
    if not redirect:
        ticket = await new_start(request.app.state.redis, settings.redis_prefix, tenant.id)
        return {"url": f"{settings.public_url.rstrip('/')}{START_PATH}?ticket={ticket}", "expires_in": STATE_SECONDS}
    return await _to_consent(request, tenant)


async def _to_consent(request: Request, tenant: Tenant) -> RedirectResponse:
    settings = request.app.state.settings
    state, nonce = await new_state(request.app.state.redis, settings.redis_prefix, tenant.id)
    challenge = code_challenge(code_verifier(nonce)) if settings.fortnox_pkce else None
    response = RedirectResponse(consent_url(tenant, settings.public_url.rstrip("/") + CALLBACK_PATH, state, challenge),
                                status_code=307)
    # Lax, not Strict: Fortnox's redirect back is a cross-site top-level GET, which Lax lets through.
    response.set_cookie(COOKIE, nonce, max_age=STATE_SECONDS, path=_cookie_path(settings.public_url), httponly=True,
                        secure=settings.public_url.startswith("https://"), samesite="lax")
    return response


def _cookie_path(public_url: str) -> str:
    """Under the path the browser sees (a proxy may serve the admin listener below a prefix)."""
    return urlsplit(public_url).path.rstrip("/") + COOKIE_PATH


@callback_router.get(START_PATH.removeprefix("/admin"), summary="Open a start link: session cookie, then consent",
                     responses={307: {"description": "redirect to Fortnox's consent page"}})
async def start(request: Request, ticket: str = Query(..., max_length=128)) -> RedirectResponse:
    settings = request.app.state.settings
    try:
        tenant_id = await take_start(request.app.state.redis, settings.redis_prefix, ticket)
    except OAuthRefused as exc:
        raise _fail(exc.status, exc.code, exc.reason) from None
    return await _to_consent(request, await _tenant(request, tenant_id))


@callback_router.get("/fortnox/callback", summary="Fortnox redirects here after consent (state and session cookie)")
async def callback(request: Request, state: str = Query(..., max_length=128), code: str | None = None,
                   error: str | None = None, error_description: str | None = None) -> JSONResponse:
    settings = request.app.state.settings
    nonce = request.cookies.get(COOKIE)
    try:
        tenant_id = await take_state(request.app.state.redis, settings.redis_prefix, state, nonce)
    except OAuthRefused as exc:
        raise _fail(exc.status, exc.code, exc.reason) from None
    if error or not code:
        raise _fail(400, error or "no-code", error_description or "Fortnox sent no authorization code")
    tenant = await _tenant(request, tenant_id)
    http = request.app.state.http
    try:
        tokens = await exchange_code(http, tenant, code, settings.public_url.rstrip("/") + CALLBACK_PATH,
                                     code_verifier(str(nonce)) if settings.fortnox_pkce else None)
        company = await verified_company(http, tenant, tokens.access_token)
    except TransientError as exc:
        raise _fail(503, exc.code or "token-endpoint", exc.reason) from None
    except PermanentError as exc:
        raise _fail(400, exc.code or "oauth-failed", exc.reason) from None
    await request.app.state.tokens.store(tenant.id, tokens.access_token, tokens.refresh_token, tokens.expires_in,
                                         tokens.scope)
    response = JSONResponse({"status": "connected", "tenant": tenant.id, "scope": tokens.scope,
                             "company": company.get("CompanyName"),
                             "organisation_number": company.get("OrganizationNumber")})
    response.delete_cookie(COOKIE, path=_cookie_path(settings.public_url))
    return response


@router.get("/health", summary="Broker, database and Redis as ingest sees them")
async def health(request: Request) -> JSONResponse:
    state = request.app.state
    checks = {"broker": bool(state.publisher.connected), "database": False, "redis": False}
    try:
        async with state.sessions() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:  # a probe: any failure means "not healthy", and the answer says which part
        checks["database"] = False
    try:
        checks["redis"] = bool(await state.redis.ping())
    except Exception:
        checks["redis"] = False
    return JSONResponse({"status": "ok" if all(checks.values()) else "degraded", **checks},
                        status_code=200 if all(checks.values()) else 503)
