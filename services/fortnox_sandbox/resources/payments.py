"""Invoice payments: create, look up by invoice number, bookkeep (which lowers the invoice's Balance).

Fortnox API reference (https://apps.fortnox.se/apidocs), InvoicePayments: `POST /3/invoicepayments`
(InvoiceNumber, Amount,
PaymentDate, ModeOfPayment), then `PUT /3/invoicepayments/{n}/bookkeep`; look up existing payments
with `?invoicenumber=`. Foreign currency: Amount is in SEK (AmountCurrency × CurrencyRate ×
CurrencyUnit), AmountCurrency in the invoice's currency; PaymentDate not before InvoiceDate.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.fortnox_sandbox.arithmetic import money
from services.fortnox_sandbox.errors import BAD_PARAMETER, FortnoxError, bad_request, not_found
from services.fortnox_sandbox.fields import as_decimal, as_int, today, wrapped
from services.fortnox_sandbox.listing import Filter, exact, listing
from services.fortnox_sandbox.routing import Call, Reply, Router
from services.fortnox_sandbox.state import Resource

__all__ = ["register"]

_FILTERS: dict[str, Filter] = {"invoicenumber": exact("InvoiceNumber")}
_LIST_FIELDS = ("@url", "Amount", "Booked", "Currency", "CurrencyRate", "CurrencyUnit", "InvoiceNumber", "Number",
                "PaymentDate", "Source", "WriteOffExist")
_SCHEMA = "fortnox_InvoicePayment_Wrap"

def _invoice(call: Call, number: Any) -> Resource:
    invoice = call.company.get("invoices", str(as_int(number, "InvoiceNumber")))
    if invoice is None:
        raise bad_request(f"Fakturan {number} hittades inte", BAD_PARAMETER)
    if invoice.get("Cancelled"):
        raise bad_request(f"Fakturan {number} är makulerad", BAD_PARAMETER)
    return invoice

def _fill(call: Call, payment: Resource, given: dict[str, Any]) -> None:
    invoice = _invoice(call, given.get("InvoiceNumber", payment.get("InvoiceNumber")))
    rate = as_decimal(given.get("CurrencyRate", invoice["CurrencyRate"]), "CurrencyRate")
    unit = as_decimal(given.get("CurrencyUnit", invoice["CurrencyUnit"]), "CurrencyUnit")
    amount_currency = given.get("AmountCurrency", payment.get("AmountCurrency"))
    amount = given.get("Amount", payment.get("Amount"))
    if amount_currency is None and amount is None:
        raise bad_request("Amount saknas", BAD_PARAMETER)
    if amount_currency is None:
        amount_sek = as_decimal(amount, "Amount")
        in_currency = money(amount_sek / (rate * unit)) if rate * unit else amount_sek
    else:
        in_currency = as_decimal(amount_currency, "AmountCurrency")
        amount_sek = as_decimal(amount, "Amount") if amount is not None else money(in_currency * rate * unit)
    paid_on = str(given.get("PaymentDate", payment.get("PaymentDate")) or today().isoformat())
    try:
        if date.fromisoformat(paid_on) < date.fromisoformat(invoice["InvoiceDate"]):
            raise bad_request("Betalningsdatum får inte vara före fakturadatum", BAD_PARAMETER)
    except ValueError:
        raise bad_request("Ogiltigt PaymentDate", BAD_PARAMETER) from None
    mode = str(given.get("ModeOfPayment", payment.get("ModeOfPayment")) or "")
    mode_entry = call.company.get("modesofpayments", mode) if mode else None
    if mode and mode_entry is None:
        raise bad_request(f"Betalningssättet {mode} finns inte", BAD_PARAMETER)
    payment.update({
        "InvoiceNumber": int(invoice["DocumentNumber"]), "Amount": amount_sek, "AmountCurrency": in_currency,
        "Currency": invoice["Currency"], "CurrencyRate": rate, "CurrencyUnit": unit, "PaymentDate": paid_on,
        "ModeOfPayment": mode, "ModeOfPaymentAccount": int(mode_entry["AccountNumber"]) if mode_entry else 1930,
        "InvoiceCustomerName": invoice["CustomerName"], "InvoiceCustomerNumber": invoice["CustomerNumber"],
        "InvoiceDueDate": invoice.get("DueDate", ""), "InvoiceOCR": invoice.get("OCR", ""),
        "InvoiceTotal": f"{invoice['Total']}",
        "ExternalInvoiceReference1": invoice.get("ExternalInvoiceReference1", ""),
        "ExternalInvoiceReference2": invoice.get("ExternalInvoiceReference2", ""),
    })

def _save(call: Call, payment: Resource) -> Resource:
    payment["@url"] = f"{call.sandbox.settings.public_url}/3/invoicepayments/{payment['Number']}"
    return call.company.put("invoicepayments", payment["Number"], payment)

def _find(call: Call) -> Resource:
    payment = call.company.get("invoicepayments", call.params["Number"])
    if payment is None:
        raise not_found(f"inbetalning {call.params['Number']}")
    return payment

def create(call: Call) -> Reply:
    given = wrapped(call.body, "InvoicePayment")
    payment: Resource = {"Number": str(call.company.next_number("invoicepayments")), "Booked": False,
                         "Source": "direct", "WriteOffs": []}
    _fill(call, payment, given)
    return 201, {"InvoicePayment": _save(call, payment)}

def get(call: Call) -> Reply:
    return 200, {"InvoicePayment": _find(call)}

def update(call: Call) -> Reply:
    payment = dict(_find(call))
    if payment["Booked"]:
        raise FortnoxError(400, "Inbetalningen är bokförd och kan inte ändras", BAD_PARAMETER)
    _fill(call, payment, wrapped(call.body, "InvoicePayment"))
    return 200, {"InvoicePayment": _save(call, payment)}

def delete(call: Call) -> Reply:
    payment = _find(call)
    if payment["Booked"]:
        raise FortnoxError(400, "Inbetalningen är bokförd och kan inte tas bort", BAD_PARAMETER)
    call.company.delete("invoicepayments", payment["Number"])
    return 204, {}

def bookkeep(call: Call) -> Reply:
    payment = dict(_find(call))
    if payment["Booked"]:
        raise FortnoxError(400, "Inbetalningen är redan bokförd", BAD_PARAMETER)
    invoice = dict(_invoice(call, payment["InvoiceNumber"]))
    invoice["Balance"] = invoice["Balance"] - payment["AmountCurrency"]
    if invoice["Balance"] == 0:
        invoice["FinalPayDate"] = payment["PaymentDate"]
    call.company.put("invoices", invoice["DocumentNumber"], invoice)
    series = dict(call.company.get("voucherseries", "C") or {"Code": "C", "NextVoucherNumber": 1})
    payment.update({"Booked": True, "VoucherSeries": "C", "VoucherNumber": int(series.get("NextVoucherNumber", 1)),
                    "VoucherYear": date.fromisoformat(payment["PaymentDate"]).year})
    series["NextVoucherNumber"] = payment["VoucherNumber"] + 1
    call.company.put("voucherseries", "C", series)
    return 200, {"InvoicePayment": _save(call, payment)}

def list_all(call: Call) -> Reply:
    found, meta = listing(call.company, "invoicepayments", call.query, _FILTERS)
    items = [{**{n: p[n] for n in _LIST_FIELDS if n in p}, "WriteOffExist": bool(p["WriteOffs"])} for p in found]
    return 200, {"MetaInformation": meta, "InvoicePayments": items}

def register(router: Router) -> None:
    router.add("GET", "/3/invoicepayments", "payment", list_all, response="fortnox_InvoicePaymentListItem_List")
    router.add("POST", "/3/invoicepayments", "payment", create, request=_SCHEMA, response=_SCHEMA)
    one = "/3/invoicepayments/{Number}"
    router.add("GET", one, "payment", get, response=_SCHEMA)
    router.add("PUT", one, "payment", update, request=_SCHEMA, response=_SCHEMA)
    router.add("DELETE", one, "payment", delete)
    router.add("PUT", one + "/bookkeep", "payment", bookkeep, response=_SCHEMA)
