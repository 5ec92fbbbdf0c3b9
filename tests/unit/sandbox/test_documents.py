"""Orders, invoices and offers: wrapping, search, rows, totals, createinvoice, booked invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.unit.sandbox.conftest import Tenant, make_customer


def _money(response: httpx.Response, wrap: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.Response(200, content=response.content).json(parse_float=Decimal)[wrap]
    return data


async def _order(client: httpx.AsyncClient, tenant: Tenant, customer: str, **fields: Any) -> httpx.Response:
    body = {"CustomerNumber": customer, "OrderRows": [{"Description": "Vara", "OrderedQuantity": 1, "Price": 100}],
            **fields}
    return await client.post("/3/orders", headers=tenant.headers, json={"Order": body})


async def test_order_is_wrapped_and_numbered(client: httpx.AsyncClient, tenant: Tenant) -> None:
    customer = await make_customer(client, tenant)
    r = await _order(client, tenant, customer["CustomerNumber"])
    assert r.status_code == 201
    order = r.json()["Order"]
    assert order["DocumentNumber"] == "1"
    assert order["OrderRows"][0]["DeliveredQuantity"] == "1.00"
    again = await client.get("/3/orders/1", headers=tenant.headers)
    assert again.json() == {"Order": order}


async def test_substring_search_returns_near_matches(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant))["CustomerNumber"]
    for ref in ("id:12", "id:112", "id:123", "id:7"):
        assert (await _order(client, tenant, number, ExternalInvoiceReference1=ref)).status_code == 201
    r = await client.get("/3/orders", headers=tenant.headers, params={"externalinvoicereference1": "12"})
    refs = sorted(o["ExternalInvoiceReference1"] for o in r.json()["Orders"])
    assert refs == ["id:112", "id:12", "id:123"]
    assert r.json()["MetaInformation"]["@TotalResources"] == 3


async def test_paging(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant))["CustomerNumber"]
    for _ in range(5):
        await _order(client, tenant, number)
    r = await client.get("/3/orders", headers=tenant.headers, params={"limit": 2, "page": 3})
    body = r.json()
    assert [o["DocumentNumber"] for o in body["Orders"]] == ["5"]
    assert body["MetaInformation"] == {"@TotalResources": 5, "@TotalPages": 3, "@CurrentPage": 3}
    assert (await client.get("/3/orders", headers=tenant.headers, params={"limit": 501})).status_code == 400


async def test_put_without_a_row_deletes_it_and_rowid_keeps_one(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant))["CustomerNumber"]
    rows = [{"Description": "A", "OrderedQuantity": 1, "Price": 10}, {"Description": "B", "OrderedQuantity": 2,
                                                                       "Price": 20}]
    order = (await _order(client, tenant, number, OrderRows=rows)).json()["Order"]
    keep = order["OrderRows"][1]["RowId"]
    r = await client.put("/3/orders/1", headers=tenant.headers, json={"Order": {"OrderRows": [{"RowId": keep}]}})
    assert r.status_code == 200
    updated = r.json()["Order"]
    assert [row["Description"] for row in updated["OrderRows"]] == ["B"]
    assert updated["OrderRows"][0]["RowId"] != keep  # every update issues new RowIds
    assert updated["Total"] == 50  # 40 + 25 % VAT


async def test_mixed_rate_totals_to_the_ore(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant))["CustomerNumber"]
    rows = [
        {"Description": "Tröja", "OrderedQuantity": 3, "Price": "199.20", "VAT": 25},
        {"Description": "Kaffe", "OrderedQuantity": 2, "Price": "45.90", "VAT": 12},
        {"Description": "Bok", "OrderedQuantity": 1, "Price": "149.33", "VAT": 6, "Discount": 10},
        {"Description": "Porto", "OrderedQuantity": 1, "Price": "12.00", "VAT": 0},
    ]
    r = await _order(client, tenant, number, OrderRows=rows, Freight="49.00")
    order = _money(r, "Order")
    # 25 %: 597.60 + freight 49.00 = 646.60 → 161.65; 12 %: 91.80 → 11.02 (11.016); 6 %: 134.40 (134.397) → 8.06
    assert [row["Total"] for row in order["OrderRows"]] == [Decimal("597.60"), Decimal("91.80"), Decimal("134.40"),
                                                            Decimal("12.00")]
    assert order["Net"] == Decimal("835.80")
    assert order["FreightVAT"] == Decimal("12.25")
    assert order["TotalVAT"] == Decimal("180.73")
    assert order["RoundOff"] == 0
    assert order["Total"] == Decimal("1065.53")
    state = (await client.get(f"/_sandbox/companies/{tenant.database_number}/state")).json()
    assert len(state["resources"]["orders"]) == 1


async def test_vat_included_prices(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant))["CustomerNumber"]
    rows = [{"Description": "A", "OrderedQuantity": 1, "Price": 125, "VAT": 25},
            {"Description": "B", "OrderedQuantity": 1, "Price": 106, "VAT": 6}]
    order = _money(await _order(client, tenant, number, OrderRows=rows, VATIncluded=True), "Order")
    assert order["TotalVAT"] == Decimal("31.00")
    assert order["Net"] == Decimal("200.00")
    assert order["Total"] == Decimal("231.00")


@pytest.mark.parametrize("rounding", [True])
async def test_round_off_when_the_company_rounds(client: httpx.AsyncClient, rounding: bool) -> None:
    from tests.unit.sandbox.conftest import make_tenant

    tenant = await make_tenant(client, "Avrundning AB", rounding=rounding)
    number = (await make_customer(client, tenant))["CustomerNumber"]
    order = _money(await _order(client, tenant, number, OrderRows=[{"Description": "A", "OrderedQuantity": 1,
                                                                    "Price": "10.10"}]), "Order")
    assert order["TotalVAT"] == Decimal("2.53")  # RoundOff stays out of VAT
    assert order["Total"] == Decimal("13")
    assert order["RoundOff"] == Decimal("0.37")


async def test_createinvoice_returns_the_order_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant))["CustomerNumber"]
    await _order(client, tenant, number, ExternalInvoiceReference1="id:1")
    r = await client.put("/3/orders/1/createinvoice", headers=tenant.headers)
    assert r.status_code == 200
    order = r.json()["Order"]
    invoice_number = order["InvoiceReference"]
    invoice = (await client.get(f"/3/invoices/{invoice_number}", headers=tenant.headers)).json()["Invoice"]
    assert invoice["OrderReference"] == "1"
    assert invoice["Total"] == order["Total"]
    assert invoice["ExternalInvoiceReference1"] == "id:1"
    again = await client.put("/3/orders/1/createinvoice", headers=tenant.headers)
    assert again.status_code == 400
    listed = (await client.get("/3/invoices", headers=tenant.headers)).json()["Invoices"]
    assert len(listed) == 1


async def test_booked_invoice_refuses_a_change_and_credits_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant))["CustomerNumber"]
    rows = [{"Description": "A", "DeliveredQuantity": 2, "Price": 50}]
    r = await client.post("/3/invoices", headers=tenant.headers,
                          json={"Invoice": {"CustomerNumber": number, "InvoiceRows": rows}})
    assert r.status_code == 201
    assert (await client.put("/3/invoices/1/bookkeep", headers=tenant.headers)).json()["Invoice"]["Booked"] is True
    change = await client.put("/3/invoices/1", headers=tenant.headers, json={"Invoice": {"Remarks": "ändrad"}})
    assert change.status_code == 400
    assert change.json()["ErrorInformation"]["error"] == 1
    assert (await client.put("/3/invoices/1/cancel", headers=tenant.headers)).status_code == 400
    credited = await client.put("/3/invoices/1/credit", headers=tenant.headers)
    assert credited.status_code == 200
    credit_number = credited.json()["Invoice"]["CreditInvoiceReference"]
    credit = (await client.get(f"/3/invoices/{credit_number}", headers=tenant.headers)).json()["Invoice"]
    assert credit["Total"] == -125
    assert credit["CreditInvoiceReference"] == "1"
    assert (await client.put("/3/invoices/1/credit", headers=tenant.headers)).status_code == 400


async def test_errors_have_fortnox_shape(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant))["CustomerNumber"]
    cases = [
        ({"Order": {"CustomerNumber": number, "Bogus": 1}}, 2001399),
        ({"Order": {"CustomerNumber": number, "OrderRows": [{"ArticleNumber": "NOPE"}]}}, 2001302),
        ({"Order": {"CustomerNumber": number, "OrderRows": [{"AccountNumber": 9999}]}}, 2001304),
        ({"Order": {"CustomerNumber": number, "VATIncluded": "perhaps"}}, 2000134),
        ({"Order": {"CustomerNumber": number, "Freight": "much"}}, 2000108),
    ]
    for body, code in cases:
        r = await client.post("/3/orders", headers=tenant.headers, json=body)
        assert r.status_code == 400, body
        assert r.json()["ErrorInformation"]["code"] == code, r.text
    r = await client.post("/3/orders", headers=tenant.headers, content=b"{not json")
    assert r.json()["ErrorInformation"]["code"] == 2002115
    assert (await client.get("/3/orders/77", headers=tenant.headers)).status_code == 404
    assert (await client.get("/_sandbox/companies/1/state")).status_code == 404


async def test_date_range_combines_with_a_search(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant))["CustomerNumber"]
    for day, ref in (("2026-01-10", "id:1"), ("2026-02-10", "id:2"), ("2026-03-10", "id:3")):
        assert (await _order(client, tenant, number, OrderDate=day, ExternalInvoiceReference1=ref)).status_code == 201
    params = {"fromdate": "2026-02-01", "todate": "2026-03-31", "externalinvoicereference1": "id:"}
    found = (await client.get("/3/orders", headers=tenant.headers, params=params)).json()["Orders"]
    assert [o["OrderDate"] for o in found] == ["2026-02-10", "2026-03-10"]
    two = {"externalinvoicereference1": "id:", "customernumber": number}
    assert (await client.get("/3/orders", headers=tenant.headers, params=two)).status_code == 400
