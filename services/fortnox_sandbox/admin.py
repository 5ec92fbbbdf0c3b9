"""`/_sandbox/...`: the test-only admin API (no authentication: never expose a sandbox to the internet).

Creates consented companies with their first token pair (so tests and demos need no browser), reads
and clears the journal, shows a company's state, shortens token lifetimes, expires tokens and sets
faults.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.fortnox_sandbox.faults import FaultRule
from services.fortnox_sandbox.jsonbody import dumps
from services.fortnox_sandbox.runtime import Sandbox
from services.fortnox_sandbox.state import ALL_SCOPES

__all__ = ["router"]

router = APIRouter(prefix="/_sandbox", tags=["sandbox admin (test only)"])


class CompanyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    scopes: list[str] = Field(default_factory=lambda: list(ALL_SCOPES))
    database_number: int | None = Field(None, ge=1)
    service_account: bool = False
    # The company's rounding setting: Total rounded to whole kronor, the difference in RoundOff.
    rounding: bool = False
    organisation_number: str | None = None


class CompanyOut(BaseModel):
    database_number: int
    client_id: str
    access_token: str
    refresh_token: str | None
    expires_in: int
    scope: str


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_token_ttl: int | None = Field(None, ge=0)
    rate_limit: int | None = Field(None, ge=1)
    validate_responses: bool | None = None
    validate_requests: bool | None = None


class FaultsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[FaultRule]


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


@router.post("/clients", status_code=201)
async def register_client(body: ClientIn, request: Request) -> dict[str, str]:
    try:
        _sandbox(request).register_client(body.client_id, body.client_secret)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"client_id": body.client_id}


@router.post("/companies", status_code=201)
async def create_company(body: CompanyIn, request: Request) -> CompanyOut:
    sandbox = _sandbox(request)
    unknown = sorted(set(body.scopes) - set(ALL_SCOPES))
    if unknown:
        raise HTTPException(422, f"unknown scopes: {unknown}")
    try:
        sandbox.register_client(body.client_id, body.client_secret)
        company = sandbox.create_company(body.name, body.database_number, rounding=body.rounding,
                                         organisation_number=body.organisation_number)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    scopes = tuple(body.scopes)
    sandbox.consent(company, body.client_id, scopes, body.service_account)
    tokens = sandbox.tokens.issue(company, body.client_id, scopes, refresh=not body.service_account)
    sandbox.flush_clients()
    refresh = str(tokens["refresh_token"]) if "refresh_token" in tokens else None
    return CompanyOut(database_number=company.database_number, client_id=body.client_id,
                      access_token=str(tokens["access_token"]), refresh_token=refresh,
                      expires_in=int(str(tokens["expires_in"])), scope=str(tokens["scope"]))


@router.get("/companies")
async def list_companies(request: Request) -> dict[str, list[dict[str, Any]]]:
    return {"companies": [
        {"database_number": c.database_number, "name": c.name, "organisation_number": c.organisation_number,
         "clients": sorted(c.consents), "rounding": c.rounding}
        for c in _sandbox(request).state.companies.values()
    ]}


class CompanyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1)
    rounding: bool | None = None


@router.patch("/companies/{database_number}")
async def change_company(database_number: int, body: CompanyPatch, request: Request) -> dict[str, Any]:
    """Rename a company or switch its rounding (documents written after the change follow it)."""
    sandbox = _sandbox(request)
    company = sandbox.state.companies.get(database_number)
    if company is None:
        raise HTTPException(404, f"no company {database_number}")
    if body.name is not None:
        company.name = body.name
    if body.rounding is not None:
        company.rounding = body.rounding
    company.dirty.add(("_meta", "company"))
    sandbox.flush(company)
    return {"database_number": database_number, "name": company.name, "rounding": company.rounding}


@router.get("/companies/{database_number}/state")
async def company_state(database_number: int, request: Request) -> Response:
    company = _sandbox(request).state.companies.get(database_number)
    if company is None:
        raise HTTPException(404, f"no company {database_number}")
    body = {
        "database_number": company.database_number, "name": company.name,
        "resources": {kind: list(table.values()) for kind, table in company.resources.items() if table},
    }
    return Response(dumps(body), media_type="application/json")


@router.post("/companies/{database_number}/expire-tokens")
async def expire_tokens(database_number: int, request: Request) -> dict[str, int]:
    sandbox = _sandbox(request)
    company = sandbox.state.companies.get(database_number)
    if company is None:
        raise HTTPException(404, f"no company {database_number}")
    company.token_generation += 1
    company.dirty.add(("_meta", "company"))
    sandbox.flush(company)
    return {"database_number": database_number, "token_generation": company.token_generation}


@router.put("/settings")
async def change_settings(body: SettingsIn, request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    if body.access_token_ttl is not None:
        sandbox.tokens.access_ttl = body.access_token_ttl
    if body.rate_limit is not None:
        sandbox.limiter.limit = body.rate_limit
    for name in ("validate_responses", "validate_requests"):
        if getattr(body, name) is not None:
            sandbox.settings = sandbox.settings.model_copy(update={name: getattr(body, name)})
            sandbox.ensure_validator()
    return {"access_token_ttl": sandbox.tokens.access_ttl, "rate_limit": sandbox.limiter.limit,
            "validate_requests": sandbox.settings.validate_requests,
            "validate_responses": sandbox.settings.validate_responses}


@router.post("/ratelimit/reset")
async def reset_rate_limit(request: Request) -> dict[str, bool]:
    _sandbox(request).limiter.reset()
    return {"reset": True}


@router.get("/journal")
async def read_journal(request: Request, database_number: int | None = None, method: str | None = None,
                 path_prefix: str | None = None, after_id: int = 0,
                 limit: int | None = Query(None, ge=1), last: int | None = Query(None, ge=1)) -> Response:
    """Entries in order; `limit` = the first N after `after_id`, `last` = the latest N."""
    entries = _sandbox(request).journal.query(database_number=database_number, method=method,
                                              path_prefix=path_prefix, after_id=after_id, limit=limit,
                                              last=last)
    return Response(dumps({"entries": [e.render() for e in entries]}), media_type="application/json")


@router.delete("/journal", status_code=204)
async def clear_journal(request: Request) -> None:
    _sandbox(request).journal.clear()


@router.get("/faults")
async def show_faults(request: Request) -> FaultsIn:
    return FaultsIn(rules=_sandbox(request).faults.rules)


@router.put("/faults")
async def set_faults(body: FaultRule | FaultsIn, request: Request) -> FaultsIn:
    """Replace all rules: a single rule object, or `{"rules": [...]}`."""
    _sandbox(request).faults.rules = list(body.rules) if isinstance(body, FaultsIn) else [body]
    return FaultsIn(rules=_sandbox(request).faults.rules)


@router.post("/faults", status_code=201)
async def add_fault(body: FaultRule, request: Request) -> FaultsIn:
    _sandbox(request).faults.rules.append(body)
    return FaultsIn(rules=_sandbox(request).faults.rules)


@router.delete("/faults", status_code=204)
async def clear_faults(request: Request) -> None:
    _sandbox(request).faults.rules = []
