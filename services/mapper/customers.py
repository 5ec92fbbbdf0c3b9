"""Customers: a WooCommerce order's (or customer's) billing data → a Fortnox Customer body.

Private or company (billing company or an organisation number makes a company), the VAT number
from the meta keys the usual plugins use (WooCommerce REST API docs,
https://woocommerce.github.io/woocommerce-rest-api-docs/#customers, meta_data), VATType by
region (services.mapper.regions), and the keys the writer matches an existing customer on (email,
organisation number; Fortnox cannot search by ExternalReference: Fortnox API reference,
https://apps.fortnox.se/apidocs, Customers). Guests
(customer_id 0) match by email only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from libs.common.commands import CustomerCommand, CustomerMatch
from libs.common.shop_settings import Region, ShopSettings
from services.mapper.regions import customer_vat_type, region_of

__all__ = ["customer_body", "customer_command", "meta_value", "org_number", "vat_number", "woo_customer_command"]

_ORG = re.compile(r"^\d{6}-?\d{4}$")


def meta_value(meta: Sequence[Mapping[str, Any]] | None, keys: Sequence[str]) -> str | None:
    """The first non-empty value among `keys`, in the order the settings list them."""
    found = {str(m.get("key")): m.get("value") for m in meta or [] if isinstance(m, Mapping)}
    for key in keys:
        value = found.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return None


def vat_number(meta: Sequence[Mapping[str, Any]] | None, settings: ShopSettings) -> str | None:
    value = meta_value(meta, settings.customers.vat_number_keys)
    return value.replace(" ", "").upper() if value else None


def org_number(meta: Sequence[Mapping[str, Any]] | None, settings: ShopSettings) -> str | None:
    value = meta_value(meta, settings.customers.org_number_keys)
    if not value:
        return None
    digits = value.replace(" ", "")
    # Fortnox shows Swedish organisation numbers as NNNNNN-NNNN.
    if _ORG.match(digits) and "-" not in digits:
        digits = f"{digits[:6]}-{digits[6:]}"
    return digits


def _clip(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def customer_body(billing: Mapping[str, Any], *, region: Region, vat_no: str | None, org_no: str | None,
                  currency: str | None = None) -> dict[str, Any]:
    company = _clip(billing.get("company"), 1024)
    person = " ".join(p for p in (_clip(billing.get("first_name"), 200), _clip(billing.get("last_name"), 200)) if p)
    is_company = bool(company or org_no or (vat_no and region == "eu_business"))
    body: dict[str, Any] = {
        "Name": (company or person or _clip(billing.get("email"), 1024))[:1024],
        "Type": "COMPANY" if is_company else "PRIVATE",
        "Email": _clip(billing.get("email"), 1024),
        "Address1": _clip(billing.get("address_1"), 1024),
        "Address2": _clip(billing.get("address_2"), 1024),
        "ZipCode": _clip(billing.get("postcode"), 10),
        "City": _clip(billing.get("city"), 1024),
        "CountryCode": _clip(billing.get("country"), 2).upper(),
        "Phone1": _clip(billing.get("phone"), 1024),
        "VATType": customer_vat_type(region),
    }
    if is_company and company and person:
        body["YourReference"] = person[:50]
    if org_no:
        body["OrganisationNumber"] = org_no
    if vat_no:
        body["VATNumber"] = vat_no
    if currency:
        body["Currency"] = currency
    return {k: v for k, v in body.items() if v != ""}


def customer_command(
    tenant: str, order: Mapping[str, Any], settings: ShopSettings, *, region: Region | None = None
) -> CustomerCommand:
    """The customer of an order (guests included), as the writer must find or create it."""
    billing = order.get("billing") or {}
    meta = order.get("meta_data") or []
    vat_no, org_no = vat_number(meta, settings), org_number(meta, settings)
    if region is None:
        region = region_of(str(billing.get("country") or ""), vat_number=vat_no, charged_vat=False,
                           home=settings.home_country)
    body = customer_body(billing, region=region, vat_no=vat_no, org_no=org_no)
    customer_id = int(order.get("customer_id") or 0)
    return CustomerCommand(
        tenant=tenant,
        match=CustomerMatch(
            email=body.get("Email") or None,
            organisation_number=org_no,
            woo_customer_id=customer_id or None,
        ),
        body=body,
        create_if_missing=settings.customers.mode == "create",
    )


def woo_customer_command(tenant: str, customer: Mapping[str, Any], settings: ShopSettings) -> CustomerCommand:
    """A WooCommerce customer (customer.created/updated) → the Fortnox customer it must be."""
    billing = dict(customer.get("billing") or {})
    billing.setdefault("email", customer.get("email"))
    if not billing.get("email"):
        billing["email"] = customer.get("email")
    meta = customer.get("meta_data") or []
    vat_no, org_no = vat_number(meta, settings), org_number(meta, settings)
    region = region_of(str(billing.get("country") or ""), vat_number=vat_no, charged_vat=False,
                       home=settings.home_country)
    body = customer_body(billing, region=region, vat_no=vat_no, org_no=org_no)
    return CustomerCommand(
        tenant=tenant,
        match=CustomerMatch(email=body.get("Email") or None, organisation_number=org_no,
                            woo_customer_id=int(customer.get("id") or 0) or None),
        body=body,
        create_if_missing=settings.customers.mode == "create",
    )
