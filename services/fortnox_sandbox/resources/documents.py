"""Orders, invoices and offers: create, read, list, update, with Fortnox's arithmetic on every write."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.fortnox_sandbox.arithmetic import compute
from services.fortnox_sandbox.errors import (
    BAD_PARAMETER,
    DOCUMENT_NUMBER_USED,
    FortnoxError,
    bad_request,
    not_found,
)
from services.fortnox_sandbox.fields import BLANK, as_bool, as_decimal, wrapped
from services.fortnox_sandbox.fields import today as fields_today
from services.fortnox_sandbox.resources.document_lists import list_handler
from services.fortnox_sandbox.resources.kinds import INVOICE, KINDS, ORDER, DocKind
from services.fortnox_sandbox.resources.rows import build_rows, line_of
from services.fortnox_sandbox.routing import Call, Reply, Router
from services.fortnox_sandbox.state import Company, Resource

__all__ = ["apply_totals", "load", "new_document", "register", "save"]

_TEXT_FIELDS = (
    "Address1", "Address2", "City", "Comments", "CostCenter", "Country", "Currency", "CustomerName",
    "DeliveryAddress1", "DeliveryAddress2", "DeliveryCity", "DeliveryCountry", "DeliveryName", "DeliveryZipCode",
    "ExternalInvoiceReference1", "ExternalInvoiceReference2", "Language", "OrganisationNumber", "OurReference",
    "Phone1", "Phone2", "PriceList", "PrintTemplate", "Project", "Remarks", "TermsOfDelivery", "TermsOfPayment",
    "WayOfDelivery", "YourOrderNumber", "YourReference", "ZipCode", "DeliveryDate", "DueDate", "OrderType",
    "YourReferenceNumber", "ExpireDate", "InvoiceType", "OCR", "EmailInformation", "Labels", "EDIInformation",
)
_MONEY_FIELDS = ("Freight", "AdministrationFee", "CurrencyRate", "CurrencyUnit")
_BOOL_FIELDS = ("VATIncluded", "NotCompleted", "Sent", "HouseWork", "CopyRemarks", "EUQuarterlyReport")
# Fortnox API reference (https://apps.fortnox.se/apidocs), Orders, Invoices and Offers: field lengths.
_MAX_LENGTH = {"ExternalInvoiceReference1": 80, "ExternalInvoiceReference2": 80, "YourOrderNumber": 75,
               "OurReference": 50, "YourReference": 50, "Remarks": 1024, "Currency": 3}


def load(company: Company, kind: DocKind, number: str) -> Resource:
    document = company.get(kind.kind, number)
    if document is None:
        raise not_found(f"{kind.wrap.lower()} {number}")
    return document


def save(call: Call, kind: DocKind, document: Resource) -> Resource:
    document["@url"] = f"{call.sandbox.settings.public_url}/3/{kind.kind}/{document['DocumentNumber']}"
    return call.company.put(kind.kind, document["DocumentNumber"], document)


def apply_totals(company: Company, kind: DocKind, document: Resource) -> None:
    totals = compute(
        [line_of(kind, row) for row in document[kind.rows]],
        freight=document["Freight"], administration_fee=document["AdministrationFee"],
        vat_included=document["VATIncluded"], rounding=company.rounding,
    )
    for row, total in zip(document[kind.rows], totals.rows, strict=True):
        row["Total"] = total
        if kind is INVOICE:
            excluding = total if not document["VATIncluded"] else total * 100 / (100 + row["VAT"])
            row["TotalExcludingVAT"] = excluding.quantize(Decimal("0.01"))
            quantity = Decimal(row["DeliveredQuantity"])
            row["PriceExcludingVAT"] = (excluding / quantity).quantize(Decimal("0.01")) if quantity else row["Price"]
    # Payments booked so far stay paid when the totals change.
    paid = document.get("Total", totals.total) - document.get("Balance", document.get("Total", totals.total))
    document.update({
        "Gross": totals.gross, "Net": totals.net, "TotalVAT": totals.total_vat, "RoundOff": totals.round_off,
        "Total": totals.total, "TotalToPay": totals.total, "FreightVAT": totals.freight_vat,
        "AdministrationFeeVAT": totals.administration_fee_vat,
    })
    if kind is INVOICE:
        document["Balance"] = totals.total - paid


def _apply_header(company: Company, kind: DocKind, document: Resource, given: dict[str, Any]) -> None:
    for name in _TEXT_FIELDS:
        if name in given:
            value = given[name]
            if value == BLANK or value is None:
                value = ""
            if isinstance(value, str) and name in _MAX_LENGTH and len(value) > _MAX_LENGTH[name]:
                raise bad_request(f"{name} får vara högst {_MAX_LENGTH[name]} tecken", BAD_PARAMETER)
            document[name] = value
    for name in _MONEY_FIELDS:
        if name in given:
            document[name] = as_decimal(given[name], name)
    for name in _BOOL_FIELDS:
        if name in given:
            document[name] = as_bool(given[name], name)
    if kind.date in given:
        document[kind.date] = _date(given[kind.date], kind.date)
    for code, table in (("TermsOfPayment", "termsofpayments"), ("WayOfDelivery", "wayofdeliveries"),
                        ("PriceList", "pricelists")):
        if document.get(code) and company.get(table, document[code]) is None:
            raise bad_request(f"{code} {document[code]} finns inte", BAD_PARAMETER)


def _date(value: Any, name: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise bad_request(f"Ogiltigt datum i {name}", BAD_PARAMETER) from None


def new_document(call: Call, kind: DocKind, given: dict[str, Any], number: str | None = None) -> Resource:
    """A document built from a request body (or from another document's fields), numbered and totalled."""
    company = call.company
    customer_number = str(given.get("CustomerNumber") or "")
    customer = company.get("customers", customer_number)
    if customer is None:
        raise bad_request(f"Kunden {customer_number!r} hittades inte", BAD_PARAMETER)
    if number is None:
        requested = given.get("DocumentNumber")
        if requested not in (None, ""):
            number = str(requested)
            if company.get(kind.kind, number) is not None or number in company.retired.get(kind.kind, set()):
                raise bad_request(f"Dokumentnummer {number} används redan", DOCUMENT_NUMBER_USED)
        else:
            number = str(company.next_number(kind.kind))
    today = fields_today().isoformat()
    document: Resource = {
        "DocumentNumber": number, "CustomerNumber": customer_number, "CustomerName": customer.get("Name", ""),
        "Cancelled": False, "Currency": customer.get("Currency") or "SEK", "CurrencyRate": Decimal(1),
        "CurrencyUnit": Decimal(1), "VATIncluded": False, "Freight": Decimal(0), "AdministrationFee": Decimal(0),
        "Language": "SV", "NotCompleted": False, "Sent": False, "HouseWork": False, "PriceList": "A",
        "TermsOfPayment": customer.get("TermsOfPayment", ""), "WayOfDelivery": customer.get("WayOfDelivery", ""),
        "OurReference": "", "YourReference": customer.get("YourReference", ""), "Remarks": "", "Project": "",
        "CostCenter": "", kind.date: today,
    }
    for name in ("Address1", "Address2", "City", "ZipCode", "Country", "OrganisationNumber", "Phone1", "Phone2"):
        document[name] = customer.get(name, "")
    if kind is ORDER:
        document["ExternalInvoiceReference1"] = ""
        document["ExternalInvoiceReference2"] = ""
    _apply_header(company, kind, document, given)
    document[kind.rows] = build_rows(company, kind, given.get(kind.rows, []), [])
    _kind_defaults(kind, document)
    apply_totals(company, kind, document)
    return save(call, kind, document)


def _kind_defaults(kind: DocKind, document: Resource) -> None:
    if kind is ORDER:
        document.setdefault("InvoiceReference", "0")
        document.setdefault("OfferReference", "0")
        document.setdefault("OrderType", "Order")
    elif kind is INVOICE:
        document.setdefault("ExternalInvoiceReference1", "")
        document.setdefault("ExternalInvoiceReference2", "")
        for name in ("OrderReference", "OfferReference", "CreditInvoiceReference"):
            document.setdefault(name, "0")
        document.setdefault("Booked", False)
        document.setdefault("Credit", "false")
        document.setdefault("InvoiceType", "INVOICE")
        document.setdefault("OCR", f"{document['DocumentNumber']}0")
        document.setdefault("YourOrderNumber", "")
        terms = str(document.get("TermsOfPayment") or "30")
        days = int(terms) if terms.isdigit() else 30
        if not document.get("DueDate"):
            document["DueDate"] = (date.fromisoformat(document["InvoiceDate"]) + timedelta(days=days)).isoformat()
    else:
        document.setdefault("OrderReference", "0")
        document.setdefault("InvoiceReference", "0")


def _create(kind: DocKind) -> Any:
    def handler(call: Call) -> Reply:
        return 201, {kind.wrap: new_document(call, kind, wrapped(call.body, kind.wrap))}

    return handler


def _get(kind: DocKind) -> Any:
    def handler(call: Call) -> Reply:
        return 200, {kind.wrap: load(call.company, kind, call.params["DocumentNumber"])}

    return handler


def refuse_if_locked(kind: DocKind, document: Resource) -> None:
    # Fortnox API reference (https://apps.fortnox.se/apidocs), Invoices: a booked invoice cannot be changed
    # (no error code is known).
    if document.get("Booked"):
        raise FortnoxError(400, "Fakturan är bokförd och kan inte ändras", BAD_PARAMETER)
    if document.get("Cancelled"):
        raise FortnoxError(400, f"{kind.wrap} är makulerad och kan inte ändras", BAD_PARAMETER)
    if kind is ORDER and document.get("InvoiceReference") not in (None, "", "0"):
        raise FortnoxError(400, "Ordern är fakturerad och kan inte ändras", BAD_PARAMETER)


def _update(kind: DocKind) -> Any:
    def handler(call: Call) -> Reply:
        given = wrapped(call.body, kind.wrap)
        document = dict(load(call.company, kind, call.params["DocumentNumber"]))
        refuse_if_locked(kind, document)
        if "CustomerNumber" in given and given["CustomerNumber"] != document["CustomerNumber"]:
            customer = call.company.get("customers", str(given["CustomerNumber"]))
            if customer is None:
                raise bad_request(f"Kunden {given['CustomerNumber']!r} hittades inte", BAD_PARAMETER)
            document["CustomerNumber"] = str(given["CustomerNumber"])
            document["CustomerName"] = customer.get("Name", "")
        _apply_header(call.company, kind, document, given)
        if kind.rows in given:
            document[kind.rows] = build_rows(call.company, kind, given[kind.rows], document[kind.rows])
        apply_totals(call.company, kind, document)
        return 200, {kind.wrap: save(call, kind, document)}

    return handler


def register(router: Router) -> None:
    for kind in KINDS.values():
        base = f"/3/{kind.kind}"
        router.add("GET", base, kind.scope, list_handler(kind), response=kind.list_schema)
        router.add("POST", base, kind.scope, _create(kind), request=kind.request_schema, response=kind.schema)
        router.add("GET", base + "/{DocumentNumber}", kind.scope, _get(kind), response=kind.schema)
        router.add("PUT", base + "/{DocumentNumber}", kind.scope, _update(kind), request=kind.request_schema,
                   response=kind.schema)
