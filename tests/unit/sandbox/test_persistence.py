"""SQLite persistence: a second sandbox on the same file carries on where the first stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from services.fortnox_sandbox.app import create_app
from services.fortnox_sandbox.settings import SandboxSettings


def _client(path: Path) -> httpx.AsyncClient:
    app = create_app(SandboxSettings(sqlite_path=str(path)))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")


async def test_a_restarted_sandbox_keeps_everything(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite"
    async with _client(db) as first:
        tenant: dict[str, Any] = (await first.post("/_sandbox/companies", json={
            "name": "Kvar AB", "client_id": "c", "client_secret": "s", "rounding": True})).json()
        h = {"Authorization": f"Bearer {tenant['access_token']}"}
        await first.post("/3/customers", headers=h, json={"Customer": {"Name": "Anna", "CustomerNumber": "K1"}})
        await first.post("/3/customers", headers=h, json={"Customer": {"Name": "Bort", "CustomerNumber": "K2"}})
        assert (await first.delete("/3/customers/K2", headers=h)).status_code == 204
        order = (await first.post("/3/orders", headers=h, json={"Order": {"CustomerNumber": "K1", "OrderRows": [
            {"Description": "A", "OrderedQuantity": 3, "Price": "33.33", "VAT": 12}]}})).json()
        refreshed = (await first.post("/oauth-v1/token", auth=("c", "s"), data={
            "grant_type": "refresh_token", "refresh_token": tenant["refresh_token"]})).json()
    async with _client(db) as second:
        h = {"Authorization": f"Bearer {refreshed['access_token']}"}  # same signing key after the restart
        assert (await second.get("/3/orders/1", headers=h)).json() == order
        reused = await second.post("/3/customers", headers=h, json={"Customer": {"Name": "Ny", "CustomerNumber": "K2"}})
        assert reused.json()["ErrorInformation"]["code"] == 2000637  # deleted numbers stay reserved
        again = await second.post("/3/orders", headers=h, json={"Order": {"CustomerNumber": "K1", "OrderRows": [
            {"Description": "B", "OrderedQuantity": 1, "Price": "10.10"}]}})
        assert again.json()["Order"]["DocumentNumber"] == "2"
        assert again.json()["Order"]["RoundOff"] == 0.37  # the company still rounds (12.63 -> 13)
        old = await second.post("/oauth-v1/token", auth=("c", "s"), data={
            "grant_type": "refresh_token", "refresh_token": tenant["refresh_token"]})
        assert old.status_code == 400  # the rotation survived the restart
        new = await second.post("/oauth-v1/token", auth=("c", "s"), data={
            "grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]})
        assert new.status_code == 200
