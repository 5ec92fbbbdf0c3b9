"""Articles, prices, payments, vouchers, settings registers and list filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.unit.sandbox.conftest import Tenant, make_customer


async def _post(client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(path, headers=tenant.headers, json=body)


def _code(r: httpx.Response) -> int:
    code: int = r.json()["ErrorInformation"]["code"]
    return code


async def test_article_number_rules(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ok = await _post(client, tenant, "/3/articles", {"Article": {"ArticleNumber": "TS-1/röd", "Description": "T"}})
    assert ok.status_code == 201
    assert (await client.get("/3/articles/TS-1%2Fr%C3%B6d", headers=tenant.headers)).status_code == 200
    too_long = await _post(client, tenant, "/3/articles", {"Article": {"ArticleNumber": "x" * 51, "Description": "T"}})
    assert too_long.status_code == 400  # the document's maxLength 50 answers first (2000588)
    for bad in ("med mellanslag", "semi;colon"):
        r = await _post(client, tenant, "/3/articles", {"Article": {"ArticleNumber": bad, "Description": "T"}})
        assert (r.status_code, _code(r)) == (400, 2000359), bad
    taken = await _post(client, tenant, "/3/articles", {"Article": {"ArticleNumber": "TS-1/röd", "Description": "T"}})
    assert _code(taken) == 2000013
    missing = await client.get("/3/articles/NOPE", headers=tenant.headers)
    assert (missing.status_code, _code(missing)) == (404, 2000513)


async def test_prices_feed_sales_price_and_order_rows(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _post(client, tenant, "/3/articles", {"Article": {"ArticleNumber": "MUG", "Description": "Mugg", "VAT": 12,
                                                            "SalesAccount": 3002}})
    missing = await client.put("/3/prices/A/MUG/0", headers=tenant.headers, json={"Price": {"Price": 80}})
    assert (missing.status_code, _code(missing)) == (404, 2000342)
    price = {"Price": {"ArticleNumber": "MUG", "PriceList": "A", "FromQuantity": 0, "Price": "79.20"}}
    assert (await _post(client, tenant, "/3/prices", price)).status_code == 201
    article = (await client.get("/3/articles/MUG", headers=tenant.headers)).json(parse_float=Decimal)["Article"]
    assert article["SalesPrice"] == Decimal("79.20")
    number = (await make_customer(client, tenant))["CustomerNumber"]
    order = (await _post(client, tenant, "/3/orders", {"Order": {"CustomerNumber": number, "OrderRows": [
        {"ArticleNumber": "MUG", "OrderedQuantity": 2}]}})).json(parse_float=Decimal)["Order"]
    row = order["OrderRows"][0]
    assert (row["Price"], row["VAT"], row["AccountNumber"], row["Description"]) == (Decimal("79.20"), 12, 3002, "Mugg")
    assert order["TotalVAT"] == Decimal("19.01")  # 158.40 × 12 %


async def test_payment_in_foreign_currency_and_bookkeeping(client: httpx.AsyncClient, tenant: Tenant) -> None:
    number = (await make_customer(client, tenant, Currency="EUR"))["CustomerNumber"]
    invoice = (await _post(client, tenant, "/3/invoices", {"Invoice": {
        "CustomerNumber": number, "Currency": "EUR", "CurrencyRate": "11.50", "InvoiceDate": "2026-03-01",
        "InvoiceRows": [{"Description": "A", "DeliveredQuantity": 1, "Price": 80}]}})).json()["Invoice"]
    assert invoice["Total"] == 100
    early = await _post(client, tenant, "/3/invoicepayments", {"InvoicePayment": {
        "InvoiceNumber": int(invoice["DocumentNumber"]), "AmountCurrency": 100, "PaymentDate": "2026-02-28"}})
    assert early.status_code == 400
    paid = (await _post(client, tenant, "/3/invoicepayments", {"InvoicePayment": {
        "InvoiceNumber": int(invoice["DocumentNumber"]), "AmountCurrency": 100, "PaymentDate": "2026-03-02",
        "ModeOfPayment": "KORT"}})).json(parse_float=Decimal)["InvoicePayment"]
    assert paid["Amount"] == Decimal("1150.00")  # SEK = AmountCurrency × CurrencyRate × CurrencyUnit
    found = (await client.get("/3/invoicepayments", headers=tenant.headers,
                              params={"invoicenumber": invoice["DocumentNumber"]})).json()["InvoicePayments"]
    assert [p["Number"] for p in found] == [paid["Number"]]
    booked = await client.put(f"/3/invoicepayments/{paid['Number']}/bookkeep", headers=tenant.headers)
    assert booked.status_code == 200
    after = (await client.get(f"/3/invoices/{invoice['DocumentNumber']}", headers=tenant.headers)).json()["Invoice"]
    assert after["Balance"] == 0
    assert (await client.delete(f"/3/invoicepayments/{paid['Number']}", headers=tenant.headers)).status_code == 400


async def test_vouchers_balance_and_number_per_series(client: httpx.AsyncClient, tenant: Tenant) -> None:
    rows = [{"Account": 1930, "Debit": "975.00"}, {"Account": 6570, "Debit": 25}, {"Account": 1580, "Credit": 1000}]
    body = {"VoucherSeries": "A", "TransactionDate": "2026-11-24", "Description": "Utbetalning", "VoucherRows": rows}
    first = (await _post(client, tenant, "/3/vouchers", {"Voucher": body})).json()["Voucher"]
    second = (await _post(client, tenant, "/3/vouchers", {"Voucher": body})).json()["Voucher"]
    assert (first["VoucherNumber"], second["VoucherNumber"], first["Year"]) == (1, 2, 2026)
    unbalanced = await _post(client, tenant, "/3/vouchers", {"Voucher": {**body, "VoucherRows": rows[:2]}})
    assert unbalanced.status_code == 400
    unknown = await _post(client, tenant, "/3/vouchers", {"Voucher": {**body, "VoucherRows": [
        {"Account": 1999, "Debit": 1}, {"Account": 1930, "Credit": 1}]}})
    assert _code(unknown) == 2001304
    voucher = (await client.get("/3/vouchers/A/2", headers=tenant.headers)).json()["Voucher"]
    assert voucher["Description"] == "Utbetalning"


async def test_accounts_carry_vat_codes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    accounts = (await client.get("/3/accounts", headers=tenant.headers, params={"limit": 500})).json()["Accounts"]
    codes = {a["Number"]: a["VATCode"] for a in accounts}
    assert (codes[3001], codes[3002], codes[3003], codes[2611]) == ("MP1", "MP2", "MP3", "MP1")
    r = await client.put("/3/predefinedaccounts/SALES", headers=tenant.headers,
                         json={"PreDefinedAccount": {"Account": 3999}})
    assert _code(r) == 2001304


async def test_lastmodified_and_unknown_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await make_customer(client, tenant, Email="a@example.com")
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    since_past = await client.get("/3/customers", headers=tenant.headers, params={"lastmodified": past})
    since_future = await client.get("/3/customers", headers=tenant.headers, params={"lastmodified": future})
    assert len(since_past.json()["Customers"]) == 1
    assert since_future.json()["Customers"] == []
    assert (await client.get("/3/customers", headers=tenant.headers, params={"shoesize": "42"})).status_code == 400


async def test_deleted_customer_numbers_stay_reserved(client: httpx.AsyncClient, tenant: Tenant) -> None:
    customer = await make_customer(client, tenant, CustomerNumber="K1")
    assert (await client.delete("/3/customers/K1", headers=tenant.headers)).status_code == 204
    again = await _post(client, tenant, "/3/customers", {"Customer": {"Name": "Ny", "CustomerNumber": "K1"}})
    assert (again.status_code, _code(again)) == (400, 2000637)
    assert customer["CustomerNumber"] == "K1"


async def test_api_blank_clears_a_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    customer = await make_customer(client, tenant, City="Lund")
    r = await client.put(f"/3/customers/{customer['CustomerNumber']}", headers=tenant.headers,
                         json={"Customer": {"City": "API_BLANK"}})
    assert r.json()["Customer"]["City"] == ""
