"""OAuth as Fortnox does it (Fortnox developer docs, Authorization,
https://www.fortnox.se/developer/authorization)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import httpx

from libs.common.fortnox.oauth import code_challenge, code_verifier
from tests.unit.sandbox.conftest import Tenant, make_tenant


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def _refresh(client: httpx.AsyncClient, tenant: Tenant, token: str | None) -> httpx.Response:
    return await client.post("/oauth-v1/token", headers=_basic(tenant.client_id, tenant.client_secret),
                             data={"grant_type": "refresh_token", "refresh_token": token or ""})


async def test_refresh_rotates_and_reuse_fails(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await _refresh(client, tenant, tenant.refresh_token)
    assert first.status_code == 200
    new = first.json()
    assert new["refresh_token"] != tenant.refresh_token
    assert new["expires_in"] == 3600
    reuse = await _refresh(client, tenant, tenant.refresh_token)
    assert reuse.status_code == 400
    assert reuse.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    r = await client.get("/3/companyinformation", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert r.json()["CompanyInformation"]["DatabaseNumber"] == tenant.database_number
    assert (await _refresh(client, tenant, new["refresh_token"])).status_code == 200


async def test_wrong_client_secret_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    data = {"grant_type": "refresh_token", "refresh_token": tenant.refresh_token or ""}
    r = await client.post("/oauth-v1/token", headers=_basic(tenant.client_id, "wrong"), data=data)
    assert r.status_code == 401
    assert (await _refresh(client, tenant, tenant.refresh_token)).status_code == 200  # not consumed


async def test_expired_access_token_gets_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await client.get("/3/companyinformation", headers=tenant.headers)).status_code == 200
    r = await client.post(f"/_sandbox/companies/{tenant.database_number}/expire-tokens")
    assert r.status_code == 200
    r = await client.get("/3/companyinformation", headers=tenant.headers)
    assert r.status_code == 401
    assert r.json()["ErrorInformation"]["error"] == 1


async def test_short_ttl_tokens_expire(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await client.put("/_sandbox/settings", json={"access_token_ttl": 0})).status_code == 200
    fresh = (await _refresh(client, tenant, tenant.refresh_token)).json()
    assert fresh["expires_in"] == 0
    r = await client.get("/3/companyinformation", headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert r.status_code == 401


async def test_missing_token_gets_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/3/customers")).status_code == 401
    assert (await client.get("/3/customers", headers={"Authorization": "Bearer nonsense"})).status_code == 401


async def test_authorization_code_flow(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.get("/oauth-v1/auth", params={
        "client_id": tenant.client_id, "redirect_uri": "http://shop/callback", "scope": "order customer",
        "state": "xyz", "access_type": "offline", "response_type": "code",
    })
    assert r.status_code == 302
    query = parse_qs(urlparse(r.headers["location"]).query)
    assert query["state"] == ["xyz"]
    data = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": "http://shop/callback"}
    token = await client.post("/oauth-v1/token", headers=_basic(tenant.client_id, tenant.client_secret), data=data)
    assert token.status_code == 200
    assert token.json()["scope"] == "order customer"
    again = await client.post("/oauth-v1/token", headers=_basic(tenant.client_id, tenant.client_secret), data=data)
    assert again.status_code == 400  # a code is single use
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await client.get("/3/customers", headers=headers)).status_code == 200
    # Fortnox developer docs (https://www.fortnox.se/developer/authorization): a token without the
    # scope cannot touch the resource.
    denied = await client.get("/3/invoices", headers=headers)
    assert denied.status_code == 403
    assert denied.json()["ErrorInformation"]["code"] == 2000663


async def test_consent_requires_state(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.get("/oauth-v1/auth", params={"client_id": tenant.client_id, "redirect_uri": "http://x/cb",
                                                   "response_type": "code"})
    assert r.status_code == 400


async def test_service_account_client_credentials(client: httpx.AsyncClient) -> None:
    service = await make_tenant(client, "Service AB", client_id="svc", service_account=True)
    assert service.refresh_token is None
    headers = {**_basic("svc", "s3cret"), "TenantId": str(service.database_number)}
    r = await client.post("/oauth-v1/token", headers=headers, data={"grant_type": "client_credentials"})
    assert r.status_code == 200
    assert "refresh_token" not in r.json()
    other = await make_tenant(client, "Human AB", client_id="svc")
    headers = {**_basic("svc", "s3cret"), "TenantId": str(other.database_number)}
    r = await client.post("/oauth-v1/token", headers=headers, data={"grant_type": "client_credentials"})
    assert r.status_code == 400


async def test_tenants_are_isolated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    other = await make_tenant(client, "Annan AB")
    r = await client.post("/3/customers", headers=tenant.headers, json={"Customer": {"Name": "Only in A"}})
    assert r.status_code == 201
    listed = (await client.get("/3/customers", headers=other.headers)).json()
    assert listed["Customers"] == []
    info = (await client.get("/3/companyinformation", headers=other.headers)).json()["CompanyInformation"]
    assert info["DatabaseNumber"] == other.database_number != tenant.database_number


async def test_consent_registers_an_unknown_client_trusting_its_first_secret(client: httpx.AsyncClient) -> None:
    params = {"client_id": "staging-app", "redirect_uri": "http://shop/cb", "state": "s", "response_type": "code"}
    r = await client.get("/oauth-v1/auth", params=params)
    assert r.status_code == 302
    code = parse_qs(urlparse(r.headers["location"]).query)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://shop/cb"}
    first = await client.post("/oauth-v1/token", headers=_basic("staging-app", "chosen"), data=data)
    assert first.status_code == 200
    refresh = {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    wrong = await client.post("/oauth-v1/token", headers=_basic("staging-app", "other"), data=refresh)
    assert wrong.status_code == 401
    right = await client.post("/oauth-v1/token", headers=_basic("staging-app", "chosen"), data=refresh)
    assert right.status_code == 200
    companies = (await client.get("/_sandbox/companies")).json()["companies"]
    assert [c["clients"] for c in companies] == [["staging-app"]]  # the consent created a fresh company


async def _pkce_code(client: httpx.AsyncClient, tenant: Tenant, challenge: str) -> str:
    r = await client.get("/oauth-v1/auth", params={
        "client_id": tenant.client_id, "redirect_uri": "http://shop/callback", "scope": "order", "state": "s",
        "response_type": "code", "code_challenge": challenge, "code_challenge_method": "S256"})
    assert r.status_code == 302, r.text
    return parse_qs(urlparse(r.headers["location"]).query)["code"][0]


async def test_pkce_a_wrong_verifier_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """RFC 7636 section 4.6: a code asked for with an S256 challenge is redeemed only with its verifier."""
    verifier = code_verifier("the operator's browser nonce")
    auth = _basic(tenant.client_id, tenant.client_secret)
    form = {"grant_type": "authorization_code", "redirect_uri": "http://shop/callback"}
    for wrong in ("", code_verifier("another browser")):
        code = await _pkce_code(client, tenant, code_challenge(verifier))
        r = await client.post("/oauth-v1/token", headers=auth, data={**form, "code": code, "code_verifier": wrong})
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    code = await _pkce_code(client, tenant, code_challenge(verifier))
    r = await client.post("/oauth-v1/token", headers=auth, data={**form, "code": code, "code_verifier": verifier})
    assert r.status_code == 200, r.text


async def test_pkce_plain_method_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.get("/oauth-v1/auth", params={
        "client_id": tenant.client_id, "redirect_uri": "http://shop/callback", "state": "s", "response_type": "code",
        "code_challenge": "x" * 43, "code_challenge_method": "plain"})
    assert r.status_code == 400
