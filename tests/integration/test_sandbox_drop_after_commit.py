"""Why the writer needs its ledger: a create whose response is lost after Fortnox committed it.

The sandbox runs as a real uvicorn process; the fault closes the socket after the order is stored.
A naive client that retries on the transport error books the order twice; a client that searches
`?externalinvoicereference1=` (Fortnox developer docs,
https://www.fortnox.se/developer/guides-and-good-to-know/parameters;
the ledger of last resort, as existing integrations use it) before retrying books it once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.broker_helpers import wait_for

pytestmark = pytest.mark.integration


def order(reference: str) -> dict[str, Any]:
    return {"Order": {"CustomerNumber": "1", "ExternalInvoiceReference1": reference,
                      "OrderRows": [{"Description": "Tröja", "OrderedQuantity": 1, "Price": 100}]}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def running_sandbox(**env: str) -> AsyncIterator[str]:
    port = free_port()
    environment = {**os.environ, "WOONOX_SANDBOX_PORT": str(port), "WOONOX_SANDBOX_LOG_LEVEL": "warning",
                   **{f"WOONOX_SANDBOX_{k.upper()}": v for k, v in env.items()}}
    process = subprocess.Popen([sys.executable, "-m", "services.fortnox_sandbox"], env=environment)
    url = f"http://127.0.0.1:{port}"

    async def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"sandbox exited with {process.returncode}")
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{url}/healthz", timeout=1)).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await wait_for(healthy, timeout=30, what="the sandbox to answer /healthz")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _setup(client: httpx.AsyncClient) -> dict[str, str]:
    r = await client.post("/_sandbox/companies", json={"name": "Butik AB", "client_id": "c", "client_secret": "s"})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.post("/3/customers", headers=headers, json={"Customer": {"Name": "Anna"}})).status_code == 201
    # Drop the next create's response after the write is committed.
    fault = {"drop_after_commit_next": 1, "path_prefix": "/3/orders"}
    assert (await client.put("/_sandbox/faults", json=fault)).status_code == 200
    return headers


async def _orders(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get("/3/orders", headers=headers, params={"externalinvoicereference1": "id:4711"})
    found: list[dict[str, Any]] = [o for o in r.json()["Orders"] if o["ExternalInvoiceReference1"] == "id:4711"]
    return found


async def test_naive_retry_books_twice_and_a_ledger_check_books_once() -> None:
    async with running_sandbox() as url, httpx.AsyncClient(base_url=url) as client:
        headers = await _setup(client)
        # Naive: create, and on a transport error create again.
        for _attempt in range(3):
            try:
                r = await client.post("/3/orders", headers=headers, json=order("id:4711"))
                break
            except httpx.TransportError:
                continue
        assert r.status_code == 201
        assert len(await _orders(client, headers)) == 2  # booked twice

        # Careful: after a transport error, search by the external reference before creating again.
        await client.put("/_sandbox/faults", json={"drop_after_commit_next": 1, "path_prefix": "/3/orders"})
        with pytest.raises(httpx.TransportError):
            await client.post("/3/orders", headers=headers, json=order("id:4712"))
        r = await client.get("/3/orders", headers=headers, params={"externalinvoicereference1": "id:4712"})
        exact = [o for o in r.json()["Orders"] if o["ExternalInvoiceReference1"] == "id:4712"]
        assert len(exact) == 1  # found: no second create
        journal = (await client.get("/_sandbox/journal", params={"method": "POST", "path_prefix": "/3/orders"})).json()
        assert [e["fault"] for e in journal["entries"]] == ["drop_after_commit", None, "drop_after_commit"]


async def test_sqlite_keeps_companies_across_a_restart(tmp_path: Any) -> None:
    path = str(tmp_path / "sandbox.sqlite")
    async with running_sandbox(sqlite_path=path) as url, httpx.AsyncClient(base_url=url) as client:
        r = await client.post("/_sandbox/companies", json={"name": "Kvar AB", "client_id": "c", "client_secret": "s"})
        tenant = r.json()
        headers = {"Authorization": f"Bearer {tenant['access_token']}"}
        await client.post("/3/customers", headers=headers, json={"Customer": {"Name": "Anna"}})
        created = await client.post("/3/orders", headers=headers, json=order("id:1"))
        assert created.status_code == 201
    async with running_sandbox(sqlite_path=path) as url, httpx.AsyncClient(base_url=url) as client:
        again = await client.get(f"/3/orders/{created.json()['Order']['DocumentNumber']}", headers=headers)
        assert again.status_code == 200
        assert again.json() == created.json()
        basic = httpx.BasicAuth("c", "s")
        data = {"grant_type": "refresh_token", "refresh_token": tenant["refresh_token"]}
        assert (await client.post("/oauth-v1/token", auth=basic, data=data)).status_code == 200
