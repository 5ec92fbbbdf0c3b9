"""Vouchers (Fortnox API reference, https://apps.fortnox.se/apidocs, Vouchers: VoucherSeries,
TransactionDate, VoucherRows with
Account, Debit, Credit — for payout and fee bookkeeping). A voucher must balance and name known
accounts (2001304); it takes the next number of its series.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from services.fortnox_sandbox.errors import ACCOUNT_NOT_FOUND, BAD_PARAMETER, bad_request, not_found
from services.fortnox_sandbox.fields import as_decimal, as_int, wrapped
from services.fortnox_sandbox.listing import Filter, listing
from services.fortnox_sandbox.routing import Call, Reply, Router
from services.fortnox_sandbox.state import Resource

__all__ = ["register"]

_LIST_FIELDS = ("@url", "Comments", "Description", "ReferenceNumber", "ReferenceType", "TransactionDate",
                "VoucherNumber", "VoucherSeries", "Year")
_SCHEMA = "fortnox_Voucher_Wrap"


def _rows(call: Call, given: Any) -> list[Resource]:
    if not isinstance(given, list) or len(given) < 2:
        raise bad_request("En verifikation behöver minst två rader", BAD_PARAMETER)
    rows: list[Resource] = []
    for row in given:
        if not isinstance(row, dict):
            raise bad_request("Ogiltig verifikationsrad", BAD_PARAMETER)
        account = as_int(row.get("Account"), "Account")
        if call.company.get("accounts", str(account)) is None:
            raise bad_request(f"Kontot {account} hittades inte", ACCOUNT_NOT_FOUND)
        rows.append({
            "Account": account, "Debit": as_decimal(row.get("Debit"), "Debit"),
            "Credit": as_decimal(row.get("Credit"), "Credit"), "Description": str(row.get("Description", "")),
            "TransactionInformation": str(row.get("TransactionInformation", "")),
            "CostCenter": str(row.get("CostCenter", "")), "Project": str(row.get("Project", "")), "Removed": False,
        })
    debit = sum((r["Debit"] for r in rows), Decimal(0))
    credit = sum((r["Credit"] for r in rows), Decimal(0))
    if debit != credit:
        raise bad_request(f"Verifikationen är inte i balans (debet {debit}, kredit {credit})", BAD_PARAMETER)
    return rows


def create(call: Call) -> Reply:
    given = wrapped(call.body, "Voucher")
    code = str(given.get("VoucherSeries") or "")
    series = call.company.get("voucherseries", code)
    if series is None:
        raise bad_request(f"Verifikationsserien {code!r} finns inte", BAD_PARAMETER)
    try:
        when = date.fromisoformat(str(given.get("TransactionDate")))
    except ValueError:
        raise bad_request("Ogiltigt TransactionDate", BAD_PARAMETER) from None
    rows = _rows(call, given.get("VoucherRows"))
    series = dict(series)
    number = int(series.get("NextVoucherNumber", 1))
    series["NextVoucherNumber"] = number + 1
    call.company.put("voucherseries", code, series)
    voucher: Resource = {
        "@url": f"{call.sandbox.settings.public_url}/3/vouchers/{code}/{number}?financialyear=1",
        "Comments": str(given.get("Comments", "")), "CostCenter": str(given.get("CostCenter", "")),
        "Description": str(given.get("Description", "")), "Project": str(given.get("Project", "")),
        "ReferenceNumber": str(given.get("ReferenceNumber", "")),
        "ReferenceType": str(given.get("ReferenceType") or "MANUAL"),
        "TransactionDate": when.isoformat(), "VoucherNumber": number, "VoucherSeries": code, "Year": when.year,
        "ApprovalState": 0, "VoucherRows": rows,
    }
    return 201, {"Voucher": call.company.put("vouchers", f"{code}/{number}", voucher)}


def get(call: Call) -> Reply:
    key = f"{call.params['VoucherSeries']}/{call.params['VoucherNumber']}"
    voucher = call.company.get("vouchers", key)
    if voucher is None:
        raise not_found(f"verifikation {key}")
    return 200, {"Voucher": voucher}


def _list(call: Call, series: str | None) -> Reply:
    filters: dict[str, Filter] = {}
    found, meta = listing(call.company, "vouchers", call.query, filters,
                          extra=(lambda v: v["VoucherSeries"] == series) if series else None)
    return 200, {"MetaInformation": meta, "Vouchers": [{n: v[n] for n in _LIST_FIELDS} for v in found]}


def register(router: Router) -> None:
    router.add("GET", "/3/vouchers", "bookkeeping", lambda call: _list(call, None),
               response="fortnox_VoucherListItem_List")
    router.add("POST", "/3/vouchers", "bookkeeping", create, request=_SCHEMA, response=_SCHEMA)
    router.add("GET", "/3/vouchers/sublist/{VoucherSeries}", "bookkeeping",
               lambda call: _list(call, call.params["VoucherSeries"]),
               response="fortnox_VoucherListItem_List")
    router.add("GET", "/3/vouchers/{VoucherSeries}/{VoucherNumber}", "bookkeeping", get, response=_SCHEMA)
