"""Fault injection through the admin API, seen by an in-process httpx client."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.sandbox.conftest import Tenant, make_customer, make_tenant


async def test_drop_after_commit_is_a_transport_error_and_the_write_stays(client: httpx.AsyncClient,
                                                                          tenant: Tenant) -> None:
    r = await client.put("/_sandbox/faults", json={"drop_after_commit_share": 1.0, "path_prefix": "/3/customers"})
    assert r.status_code == 200
    with pytest.raises(httpx.TransportError):
        await client.post("/3/customers", headers=tenant.headers, json={"Customer": {"Name": "Tappad"}})
    assert (await client.delete("/_sandbox/faults")).status_code == 204
    listed = (await client.get("/3/customers", headers=tenant.headers, params={"name": "Tappad"})).json()
    assert [c["Name"] for c in listed["Customers"]] == ["Tappad"]
    entry = (await client.get("/_sandbox/journal", params={"method": "POST"})).json()["entries"][-1]
    assert entry["fault"] == "drop_after_commit"
    assert entry["status"] == 201


async def test_burst_of_429_then_normal(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.put("/_sandbox/faults", json={"burst_429": 2})
    statuses = [(await client.get("/3/companyinformation", headers=tenant.headers)).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]


async def test_error_share_scoped_to_one_tenant(client: httpx.AsyncClient, tenant: Tenant) -> None:
    other = await make_tenant(client, "Frisk AB")
    await client.put("/_sandbox/faults", json={"error_share": 1.0, "database_number": tenant.database_number})
    assert (await client.get("/3/customers", headers=tenant.headers)).status_code == 503
    assert (await client.get("/3/customers", headers=other.headers)).status_code == 200
    shown = (await client.get("/_sandbox/faults")).json()["rules"]
    assert shown[0]["database_number"] == tenant.database_number


async def test_token_endpoint_outage(client: httpx.AsyncClient, tenant: Tenant) -> None:
    import base64

    await client.put("/_sandbox/faults", json={"token_outage": True})
    basic = base64.b64encode(b"woonox:s3cret").decode()
    data = {"grant_type": "refresh_token", "refresh_token": tenant.refresh_token or ""}
    r = await client.post("/oauth-v1/token", headers={"Authorization": f"Basic {basic}"}, data=data)
    assert r.status_code == 503
    await client.delete("/_sandbox/faults")
    r = await client.post("/oauth-v1/token", headers={"Authorization": f"Basic {basic}"}, data=data)
    assert r.status_code == 200  # the outage consumed nothing


async def test_journal_records_and_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await make_customer(client, tenant, Email="a@example.com")
    await client.get("/3/customers", headers=tenant.headers, params={"email": "example"})
    params = {"database_number": tenant.database_number, "path_prefix": "/3/customers"}
    entries = (await client.get("/_sandbox/journal", params=params)).json()["entries"]
    assert [(e["method"], e["status"]) for e in entries] == [("POST", 201), ("GET", 200)]
    assert entries[0]["request_body"] == {"Customer": {"Name": "Anna", "Email": "a@example.com"}}
    assert entries[1]["query"] == "email=example"
    assert entries[1]["response_body"]["Customers"][0]["Email"] == "a@example.com"
    later = (await client.get("/_sandbox/journal", params={"after_id": entries[0]["id"]})).json()["entries"]
    assert entries[0]["id"] not in [e["id"] for e in later]
    assert (await client.delete("/_sandbox/journal")).status_code == 204
    assert (await client.get("/_sandbox/journal")).json() == {"entries": []}


async def test_journal_last_and_limit(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for _ in range(5):
        await client.get("/3/companyinformation", headers=tenant.headers)
    every = [e["id"] for e in (await client.get("/_sandbox/journal")).json()["entries"]]
    first = [e["id"] for e in (await client.get("/_sandbox/journal", params={"limit": 2})).json()["entries"]]
    latest = [e["id"] for e in (await client.get("/_sandbox/journal", params={"last": 2})).json()["entries"]]
    assert (first, latest) == (every[:2], every[-2:])
