"""The sandbox in-process (httpx.ASGITransport), with response validation on, and a consented company."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.fortnox_sandbox.app import create_app
from services.fortnox_sandbox.settings import SandboxSettings


@dataclass
class Tenant:
    database_number: int
    client_id: str
    client_secret: str
    access_token: str
    refresh_token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sandbox_app() -> Any:
    return create_app(SandboxSettings(validate_responses=True, fault_seed=7))


@pytest.fixture
async def client(sandbox_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox") as c:
        yield c


async def make_tenant(client: httpx.AsyncClient, name: str = "Butik AB", client_id: str = "woonox",
                      **extra: Any) -> Tenant:
    body = {"name": name, "client_id": client_id, "client_secret": "s3cret", **extra}
    r = await client.post("/_sandbox/companies", json=body)
    assert r.status_code == 201, r.text
    data = r.json()
    return Tenant(data["database_number"], client_id, "s3cret", data["access_token"], data["refresh_token"])


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_tenant(client)


async def make_customer(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    r = await client.post("/3/customers", headers=tenant.headers, json={"Customer": {"Name": "Anna", **fields}})
    assert r.status_code == 201, r.text
    customer: dict[str, Any] = r.json()["Customer"]
    return customer
