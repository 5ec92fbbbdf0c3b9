"""Every endpoint the sandbox implements, driven once; every request and response checked against
Fortnox's OpenAPI document (tests/contract/openapi_check.py), and no endpoint left out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.contract.openapi_check import OpenApi
from tests.fixtures import original_digests, sha256_of


class Driver:
    def __init__(self, client: httpx.AsyncClient, openapi: OpenApi, headers: dict[str, str]) -> None:
        self.client, self.openapi, self.headers = client, openapi, headers
        self.hit: set[tuple[str, str]] = set()
        self.problems: list[str] = []

    async def __call__(self, method: str, template: str, params: dict[str, str] | None = None,
                       body: dict[str, Any] | None = None, query: dict[str, str] | None = None,
                       expect: int = 200) -> dict[str, Any]:
        path = template.format(**(params or {}))
        where = f"{method} {template}"
        if body is not None:
            name = self.openapi.request_schema(method, template)
            assert name, f"{where}: the document has no request body"
            self.problems += [f"{where} request: {p}" for p in self.openapi.problems(name, body,
                                                                                     partial=method == "PUT")]
        r = await self.client.request(method, path, headers=self.headers, json=body, params=query)
        assert r.status_code == expect, f"{where}: {r.status_code} {r.text}"
        self.hit.add((method, template))
        answer: dict[str, Any] = r.json(parse_float=Decimal) if r.content else {}
        name = self.openapi.response_schema(method, template, r.status_code)
        if name:
            self.problems += [f"{where} response: {p}" for p in self.openapi.problems(name, answer)]
        return answer


def test_the_packaged_document_is_fortnox_s() -> None:
    from importlib import resources

    packaged = resources.files("services.fortnox_sandbox").joinpath("openapi/openapi.json")
    with resources.as_file(packaged) as path:
        assert sha256_of(path) == original_digests()["fortnox/openapi.json"]


@pytest.fixture
async def drive(client: httpx.AsyncClient, openapi: OpenApi) -> Driver:
    r = await client.post("/_sandbox/companies", json={"name": "Kontrakt AB", "client_id": "c", "client_secret": "s"})
    return Driver(client, openapi, {"Authorization": f"Bearer {r.json()['access_token']}"})


async def test_every_endpoint_matches_the_document(drive: Driver, sandbox_app: Any) -> None:
    d = drive
    await d("GET", "/3/companyinformation")
    # customers
    c = (await d("POST", "/3/customers", body={"Customer": {"Name": "Anna", "Email": "anna@example.com",
                                                            "Address1": "Gatan 1", "Type": "PRIVATE"}},
                 expect=201))["Customer"]
    cn = {"CustomerNumber": c["CustomerNumber"]}
    await d("GET", "/3/customers", query={"email": "anna"})
    await d("GET", "/3/customers/{CustomerNumber}", cn)
    await d("PUT", "/3/customers/{CustomerNumber}", cn, {"Customer": {"City": "Lund"}})
    gone = (await d("POST", "/3/customers", body={"Customer": {"Name": "Bort"}}, expect=201))["Customer"]
    await d("DELETE", "/3/customers/{CustomerNumber}", {"CustomerNumber": gone["CustomerNumber"]}, expect=204)
    # articles and prices
    art = {"ArticleNumber": "TSHIRT-1"}
    await d("POST", "/3/articles", body={"Article": {**art, "Description": "T-shirt", "VAT": 25}}, expect=201)
    await d("GET", "/3/articles", query={"articlenumber": "SHIRT"})
    await d("GET", "/3/articles/{ArticleNumber}", art)
    await d("PUT", "/3/articles/{ArticleNumber}", art, {"Article": {"EAN": "7310000000001"}})
    await d("POST", "/3/articles", body={"Article": {"ArticleNumber": "X/1", "Description": "Bort"}}, expect=201)
    price = {"PriceList": "A", **art, "FromQuantity": "0"}
    await d("POST", "/3/prices", body={"Price": {"PriceList": "A", **art, "FromQuantity": 0, "Price": 199}},
            expect=201)
    await d("POST", "/3/prices", body={"Price": {"PriceList": "A", **art, "FromQuantity": 10, "Price": 179}},
            expect=201)
    await d("GET", "/3/prices/sublist/{PriceList}/{ArticleNumber}", price)
    await d("GET", "/3/prices/{PriceList}/{ArticleNumber}", price)
    await d("PUT", "/3/prices/{PriceList}/{ArticleNumber}", price, {"Price": {"Price": 189}})
    await d("GET", "/3/prices/{PriceList}/{ArticleNumber}/{FromQuantity}", price)
    await d("PUT", "/3/prices/{PriceList}/{ArticleNumber}/{FromQuantity}", price, {"Price": {"Price": 199}})
    await d("DELETE", "/3/prices/{PriceList}/{ArticleNumber}/{FromQuantity}", {**price, "FromQuantity": "10"},
            expect=204)
    await d("DELETE", "/3/articles/{ArticleNumber}", {"ArticleNumber": "X%2F1"}, expect=204)
    rows = [{"ArticleNumber": "TSHIRT-1", "Price": 199}, {"Description": "Kaffe", "Price": 45.9, "VAT": 12}]
    # orders
    o_rows = [{**r, "OrderedQuantity": "2"} for r in rows]
    order = (await d("POST", "/3/orders", body={"Order": {**cn, "OrderRows": o_rows,
                                                          "ExternalInvoiceReference1": "id:1"}}, expect=201))["Order"]
    on = {"DocumentNumber": order["DocumentNumber"]}
    await d("GET", "/3/orders", query={"externalinvoicereference1": "id:"})
    await d("GET", "/3/orders/{DocumentNumber}", on)
    keep = [{"RowId": order["OrderRows"][0]["RowId"]}]
    await d("PUT", "/3/orders/{DocumentNumber}", on, {"Order": {"OrderRows": keep}})
    await d("PUT", "/3/orders/{DocumentNumber}/createinvoice", on)
    spare = (await d("POST", "/3/orders", body={"Order": {**cn, "OrderRows": o_rows}}, expect=201))["Order"]
    await d("PUT", "/3/orders/{DocumentNumber}/cancel", {"DocumentNumber": spare["DocumentNumber"]})
    # offers
    q_rows = [{**r, "Quantity": "1"} for r in rows]
    offer = (await d("POST", "/3/offers", body={"Offer": {**cn, "OfferRows": q_rows}}, expect=201))["Offer"]
    fn = {"DocumentNumber": offer["DocumentNumber"]}
    await d("GET", "/3/offers")
    await d("GET", "/3/offers/{DocumentNumber}", fn)
    await d("PUT", "/3/offers/{DocumentNumber}", fn, {"Offer": {"Remarks": "Gäller 30 dagar"}})
    await d("PUT", "/3/offers/{DocumentNumber}/createorder", fn)
    second = (await d("POST", "/3/offers", body={"Offer": {**cn, "OfferRows": q_rows}}, expect=201))["Offer"]
    await d("PUT", "/3/offers/{DocumentNumber}/createinvoice", {"DocumentNumber": second["DocumentNumber"]})
    third = (await d("POST", "/3/offers", body={"Offer": {**cn, "OfferRows": q_rows}}, expect=201))["Offer"]
    await d("PUT", "/3/offers/{DocumentNumber}/cancel", {"DocumentNumber": third["DocumentNumber"]})
    # invoices and payments
    i_rows = [{**r, "DeliveredQuantity": "1"} for r in rows]
    inv = (await d("POST", "/3/invoices", body={"Invoice": {**cn, "InvoiceRows": i_rows, "Freight": 49}},
                   expect=201))["Invoice"]
    inn = {"DocumentNumber": inv["DocumentNumber"]}
    await d("GET", "/3/invoices", query={"externalinvoicereference1": "id"})
    await d("GET", "/3/invoices/{DocumentNumber}", inn)
    await d("PUT", "/3/invoices/{DocumentNumber}", inn, {"Invoice": {"YourOrderNumber": "4711"}})
    await d("PUT", "/3/invoices/{DocumentNumber}/bookkeep", inn)
    pay = {"InvoiceNumber": int(inv["DocumentNumber"]), "Amount": 100, "PaymentDate": inv["InvoiceDate"],
           "ModeOfPayment": "KORT"}
    p = (await d("POST", "/3/invoicepayments", body={"InvoicePayment": pay}, expect=201))["InvoicePayment"]
    pn = {"Number": p["Number"]}
    await d("GET", "/3/invoicepayments", query={"invoicenumber": inv["DocumentNumber"]})
    await d("GET", "/3/invoicepayments/{Number}", pn)
    await d("PUT", "/3/invoicepayments/{Number}", pn, {"InvoicePayment": {"Amount": 120}})
    await d("PUT", "/3/invoicepayments/{Number}/bookkeep", pn)
    p2 = (await d("POST", "/3/invoicepayments", body={"InvoicePayment": pay}, expect=201))["InvoicePayment"]
    await d("DELETE", "/3/invoicepayments/{Number}", {"Number": p2["Number"]}, expect=204)
    await d("PUT", "/3/invoices/{DocumentNumber}/credit", inn)
    spare_inv = (await d("POST", "/3/invoices", body={"Invoice": {**cn, "InvoiceRows": i_rows}}, expect=201))["Invoice"]
    await d("PUT", "/3/invoices/{DocumentNumber}/cancel", {"DocumentNumber": spare_inv["DocumentNumber"]})
    # vouchers
    v_rows = [{"Account": 1930, "Debit": 975}, {"Account": 6570, "Debit": 25}, {"Account": 1580, "Credit": 1000}]
    v = (await d("POST", "/3/vouchers", body={"Voucher": {"VoucherSeries": "A", "TransactionDate": "2026-11-24",
                                                          "Description": "Utbetalning", "Year": 2026,
                                                          "VoucherRows": v_rows}}, expect=201))["Voucher"]
    await d("GET", "/3/vouchers")
    await d("GET", "/3/vouchers/sublist/{VoucherSeries}", {"VoucherSeries": "A"})
    await d("GET", "/3/vouchers/{VoucherSeries}/{VoucherNumber}", {"VoucherSeries": "A",
                                                                    "VoucherNumber": str(v["VoucherNumber"])})
    await _registers(d)
    endpoints = {(e.method, e.template) for e in sandbox_app.state.sandbox.router.endpoints}
    assert endpoints - d.hit == set(), "endpoints the contract suite does not drive"
    assert d.problems == [], "\n".join(sorted(set(d.problems)))


async def _registers(d: Driver) -> None:
    new = {
        "accounts": ("Number", {"Account": {"Number": 3011, "Description": "Försäljning webb", "VATCode": "MP1"}}),
        "termsofpayments": ("Code", {"TermsOfPayment": {"Code": "45", "Description": "45 dagar"}}),
        "modesofpayments": ("Code", {"ModeOfPayment": {"Code": "KLARNA", "Description": "Klarna",
                                                       "AccountNumber": "1580"}}),
        "wayofdeliveries": ("Code", {"WayOfDelivery": {"Code": "BUD", "Description": "Bud"}}),
        "pricelists": ("Code", {"PriceList": {"Code": "B", "Description": "Återförsäljare"}}),
        "voucherseries": ("Code", {"VoucherSeries": {"Code": "W", "Description": "Webbshop"}}),
    }
    for kind, (key, body) in new.items():
        wrap = next(iter(body))
        value = str(body[wrap][key])
        one = f"/3/{kind}/{{{key}}}"
        await d("POST", f"/3/{kind}", body=body, expect=201)
        await d("GET", f"/3/{kind}")
        await d("GET", one, {key: value})
        await d("PUT", one, {key: value}, {wrap: {"Description": "Ändrad"}})
        if kind not in ("pricelists", "voucherseries"):
            await d("DELETE", one, {key: value}, expect=204)
    await d("GET", "/3/predefinedaccounts")
    await d("GET", "/3/predefinedaccounts/{Name}", {"Name": "SALES"})
    await d("PUT", "/3/predefinedaccounts/{Name}", {"Name": "SALES"}, {"PreDefinedAccount": {"Account": 3001}})


async def test_response_validation_catches_a_broken_answer(drive: Driver, sandbox_app: Any) -> None:
    """The sandbox's own check (validate_responses) is what turns a drift from the document into a failure."""
    customer = (await drive("POST", "/3/customers", body={"Customer": {"Name": "Anna"}}, expect=201))["Customer"]
    company = next(iter(sandbox_app.state.sandbox.state.companies.values()))
    company.get("customers", customer["CustomerNumber"])["Active"] = "yes"  # a bug, simulated
    path = f"/3/customers/{customer['CustomerNumber']}"
    broken = await drive.client.get(path, headers=drive.headers)
    assert broken.status_code == 500
    assert "Active" in broken.json()["ErrorInformation"]["message"]
    assert (await drive.client.put("/_sandbox/settings", json={"validate_responses": False})).status_code == 200
    assert (await drive.client.get(path, headers=drive.headers)).status_code == 200
