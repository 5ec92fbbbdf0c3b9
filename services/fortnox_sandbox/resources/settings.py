"""The company's settings registers: accounts (with VATCode), predefined accounts, terms and modes of
payment, ways of delivery, price lists and voucher series (Fortnox API reference,
https://apps.fortnox.se/apidocs, Accounts, PredefinedAccounts, TermsOfPayments, ModesOfPayments,
WayOfDeliveries, PriceLists, VoucherSeries). One generic handler set, a table of names per register.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.fortnox_sandbox.errors import ACCOUNT_NOT_FOUND, BAD_PARAMETER, FortnoxError, bad_request, not_found
from services.fortnox_sandbox.fields import BLANK, as_bool, as_int, wrapped
from services.fortnox_sandbox.listing import page_of
from services.fortnox_sandbox.routing import Call, Reply, Router
from services.fortnox_sandbox.state import Resource

__all__ = ["register"]


@dataclass(frozen=True)
class Register:
    kind: str
    key: str  # the field that names an entry (and the path parameter)
    one: str  # {"TermsOfPayment": {...}}
    many: str  # {"TermsOfPayments": [...]}
    scope: str
    schema: str
    list_schema: str
    request_schema: str
    creatable: bool = True
    deletable: bool = True
    ints: tuple[str, ...] = ()
    bools: tuple[str, ...] = ()
    account_fields: tuple[str, ...] = ()
    list_hidden: tuple[str, ...] = ()  # fields of an entry its list schema does not have


REGISTERS = (
    Register("accounts", "Number", "Account", "Accounts", "bookkeeping", "fortnox_AccountSingleItem_Wrap",
             "fortnox_AccountListItem_Wrap", "fortnox_AccountPayload_Wrap", ints=("Number", "SRU", "Year"),
             bools=("Active",)),
    Register("predefinedaccounts", "Name", "PreDefinedAccount", "PreDefinedAccounts", "bookkeeping",
             "fortnox_PredefinedAccount_Wrap", "fortnox_PredefinedAccount_List", "fortnox_PredefinedAccount_Wrap",
             creatable=False, deletable=False, ints=("Account",), account_fields=("Account",)),
    Register("termsofpayments", "Code", "TermsOfPayment", "TermsOfPayments", "settings", "fortnox_TermsOfPayment_Wrap",
             "fortnox_TermsOfPayment_List", "fortnox_TermsOfPayment_Wrap"),
    Register("modesofpayments", "Code", "ModeOfPayment", "ModesOfPayments", "settings", "fortnox_ModeOfPayment_Wrap",
             "fortnox_ModeOfPayment_List", "fortnox_ModeOfPayment_Wrap", account_fields=("AccountNumber",)),
    Register("wayofdeliveries", "Code", "WayOfDelivery", "WayOfDeliveries", "settings", "fortnox_WayOfDelivery_Wrap",
             "fortnox_WayOfDelivery_List", "fortnox_WayOfDelivery_Wrap"),
    Register("pricelists", "Code", "PriceList", "PriceLists", "price", "fortnox_PriceList_Wrap",
             "fortnox_PriceList_List", "fortnox_PriceList_Wrap", deletable=False, bools=("PreSelected",)),
    Register("voucherseries", "Code", "VoucherSeries", "VoucherSeriesCollection", "bookkeeping",
             "fortnox_VoucherSeries_Wrap", "fortnox_VoucherSeriesListItem_List", "fortnox_VoucherSeries_Wrap",
             deletable=False, ints=("NextVoucherNumber", "Year"), bools=("Manual",),
             list_hidden=("NextVoucherNumber",)),
)


def _apply(call: Call, reg: Register, entry: Resource, given: dict[str, Any]) -> None:
    for name, value in given.items():
        if name == "@url":
            continue
        if name in reg.ints:
            entry[name] = as_int(value, name)
        elif name in reg.bools:
            entry[name] = as_bool(value, name)
        else:
            entry[name] = "" if value in (None, BLANK) else value
    for name in reg.account_fields:
        if name in entry and call.company.get("accounts", str(entry[name])) is None:
            raise bad_request(f"Kontot {entry[name]} hittades inte", ACCOUNT_NOT_FOUND)


def _save(call: Call, reg: Register, key: str, entry: Resource) -> Resource:
    entry["@url"] = f"{call.sandbox.settings.public_url}/3/{reg.kind}/{key}"
    return call.company.put(reg.kind, key, entry)


def _handlers(reg: Register) -> dict[str, Any]:
    def find(call: Call) -> Resource:
        entry = call.company.get(reg.kind, call.params[reg.key])
        if entry is None:
            raise not_found(f"{reg.one} {call.params[reg.key]}")
        return entry

    def list_all(call: Call) -> Reply:
        entries = [{k: v for k, v in e.items() if k not in reg.list_hidden}
                   for e in call.company.table(reg.kind).values()]
        page, meta = page_of(entries, call.query)
        return 200, {"MetaInformation": meta, reg.many: page}

    def get(call: Call) -> Reply:
        return 200, {reg.one: find(call)}

    def create(call: Call) -> Reply:
        given = wrapped(call.body, reg.one)
        key = str(given.get(reg.key) or "")
        if not key:
            raise bad_request(f"{reg.key} saknas", BAD_PARAMETER)
        if call.company.get(reg.kind, key) is not None:
            raise bad_request(f"{reg.one} {key} finns redan", BAD_PARAMETER)
        entry: Resource = {}
        _apply(call, reg, entry, given)
        return 201, {reg.one: _save(call, reg, key, entry)}

    def update(call: Call) -> Reply:
        given = wrapped(call.body, reg.one)
        entry = dict(find(call))
        given.pop(reg.key, None)  # the path names the entry
        _apply(call, reg, entry, given)
        return 200, {reg.one: _save(call, reg, call.params[reg.key], entry)}

    def delete(call: Call) -> Reply:
        find(call)
        if reg.kind == "accounts" and _account_in_use(call, call.params[reg.key]):
            raise FortnoxError(400, f"Kontot {call.params[reg.key]} används och kan inte tas bort", BAD_PARAMETER)
        call.company.delete(reg.kind, call.params[reg.key])
        return 204, {}

    return {"list": list_all, "get": get, "create": create, "update": update, "delete": delete}


def _account_in_use(call: Call, number: str) -> bool:
    return any(str(p.get("Account")) == number for p in call.company.table("predefinedaccounts").values())


def register(router: Router) -> None:
    for reg in REGISTERS:
        h = _handlers(reg)
        base, one = f"/3/{reg.kind}", f"/3/{reg.kind}/{{{reg.key}}}"
        router.add("GET", base, reg.scope, h["list"], response=reg.list_schema)
        router.add("GET", one, reg.scope, h["get"], response=reg.schema)
        router.add("PUT", one, reg.scope, h["update"], request=reg.request_schema, response=reg.schema)
        if reg.creatable:
            router.add("POST", base, reg.scope, h["create"], request=reg.request_schema, response=reg.schema)
        if reg.deletable:
            router.add("DELETE", one, reg.scope, h["delete"])
