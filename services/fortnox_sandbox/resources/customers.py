"""Customers and the company's own information.

Fortnox API reference (https://apps.fortnox.se/apidocs), Customers: CustomerNumber is a string, assigned if
omitted; search is by `?email=`, `?organisationnumber=`, `?name=` (not by ExternalReference). Fortnox
developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/errors: 2000637 customer number
already used, deleted numbers stay reserved.
"""

from __future__ import annotations

from typing import Any

from services.fortnox_sandbox.errors import CUSTOMER_NUMBER_USED, bad_request, not_found
from services.fortnox_sandbox.fields import BLANK, as_bool, wrapped
from services.fortnox_sandbox.listing import Filter, exact, listing, substring
from services.fortnox_sandbox.routing import Call, Reply, Router
from services.fortnox_sandbox.state import Resource

__all__ = ["register"]

_FILTERS: dict[str, Filter] = {
    "customernumber": exact("CustomerNumber"), "name": substring("Name"), "zipcode": substring("ZipCode"),
    "city": substring("City"), "email": substring("Email"), "phone": substring("Phone1"),
    "organisationnumber": substring("OrganisationNumber"), "gln": exact("GLN"), "glndelivery": exact("GLNDelivery"),
}
_LIST_FIELDS = ("@url", "Address1", "Address2", "City", "CustomerNumber", "Email", "Name", "OrganisationNumber",
                "Phone", "ZipCode")
_BOOLS = ("Active", "ShowPriceVATIncluded")
_OBJECTS = ("DefaultDeliveryTypes", "DefaultTemplates")
_TYPES = {"VATType": ("SEVAT", "SEREVERSEDVAT", "EUREVERSEDVAT", "EUVAT", "EXPORT"), "Type": ("PRIVATE", "COMPANY")}


def _apply(customer: Resource, given: dict[str, Any]) -> None:
    for name, value in given.items():
        if name in ("CustomerNumber", "@url"):
            continue
        if name in _BOOLS:
            customer[name] = as_bool(value, name)
        elif name in _OBJECTS or name == "InvoiceDiscount":
            customer[name] = value
        else:
            customer[name] = "" if value in (None, BLANK) else str(value)
        if name in _TYPES and customer[name] and customer[name] not in _TYPES[name]:
            raise bad_request(f"Ogiltigt värde för {name}: {customer[name]}", 2000588)


def _save(call: Call, customer: Resource) -> Resource:
    customer["@url"] = f"{call.sandbox.settings.public_url}/3/customers/{customer['CustomerNumber']}"
    return call.company.put("customers", customer["CustomerNumber"], customer)


def create(call: Call) -> Reply:
    given = wrapped(call.body, "Customer")
    company = call.company
    number = given.get("CustomerNumber")
    if number not in (None, ""):
        number = str(number)
        if company.get("customers", number) is not None or number in company.retired.get("customers", set()):
            raise bad_request(f"Kundnummer {number} används redan", CUSTOMER_NUMBER_USED)
    else:
        number = str(company.next_number("customers"))
    customer: Resource = {
        "CustomerNumber": number, "Active": True, "Name": "", "Email": "", "OrganisationNumber": "",
        "Address2": "", "ZipCode": "", "City": "", "CountryCode": "SE", "Currency": "SEK",
        "Type": "COMPANY", "VATType": "SEVAT", "ExternalReference": "", "Phone1": "", "TermsOfPayment": "",
        "WayOfDelivery": "", "PriceList": "A", "YourReference": "",
    }
    _apply(customer, given)
    if not customer["Name"]:
        raise bad_request("Kunden måste ha ett namn (Name)", 2000588)
    return 201, {"Customer": _save(call, customer)}


def get(call: Call) -> Reply:
    customer = call.company.get("customers", call.params["CustomerNumber"])
    if customer is None:
        raise not_found(f"kund {call.params['CustomerNumber']}")
    return 200, {"Customer": customer}


def update(call: Call) -> Reply:
    given = wrapped(call.body, "Customer")
    current = call.company.get("customers", call.params["CustomerNumber"])
    if current is None:
        raise not_found(f"kund {call.params['CustomerNumber']}")
    customer = dict(current)
    _apply(customer, given)
    return 200, {"Customer": _save(call, customer)}


def delete(call: Call) -> Reply:
    number = call.params["CustomerNumber"]
    if call.company.get("customers", number) is None:
        raise not_found(f"kund {number}")
    call.company.delete("customers", number)
    return 204, {}


def list_all(call: Call) -> Reply:
    status = call.query.get("filter")
    if status not in (None, "", "active", "inactive"):
        raise bad_request(f"Ogiltigt filter: {status}", 2000588)
    extra = None if not status else (lambda c: bool(c.get("Active")) == (status == "active"))
    found, meta = listing(call.company, "customers", call.query, _FILTERS, extra=extra)
    items = [{name: c.get("Phone1" if name == "Phone" else name, "") for name in _LIST_FIELDS} for c in found]
    return 200, {"MetaInformation": meta, "Customers": items}


def company_information(call: Call) -> Reply:
    company = call.company
    return 200, {"CompanyInformation": {
        "Address": "Sandlådegatan 1", "City": "Stockholm", "CountryCode": "SE", "CompanyName": company.name,
        "DatabaseNumber": company.database_number, "OrganizationNumber": company.organisation_number,
        "VisitAddress": "", "VisitCity": "", "VisitCountryCode": "", "VisitZipCode": "", "ZipCode": "111 11",
    }}


def register(router: Router) -> None:
    router.add("GET", "/3/companyinformation", "companyinformation", company_information,
               response="fortnox_CompanyInfo_Wrap")
    router.add("GET", "/3/customers", "customer", list_all, response="fortnox_CustomerListItem_List")
    router.add("POST", "/3/customers", "customer", create, request="fortnox_Customer_Wrap",
               response="fortnox_Customer_Wrap")
    router.add("GET", "/3/customers/{CustomerNumber}", "customer", get, response="fortnox_Customer_Wrap")
    router.add("PUT", "/3/customers/{CustomerNumber}", "customer", update, request="fortnox_Customer_Wrap",
               response="fortnox_Customer_Wrap")
    router.add("DELETE", "/3/customers/{CustomerNumber}", "customer", delete)
