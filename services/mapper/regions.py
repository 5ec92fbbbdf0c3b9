"""Where a sale goes, for VAT: Sweden, an EU consumer, an EU business (reverse charge) or export.

The region decides the sales account and whether Swedish VAT is booked at all (Mervärdesskattelag
(2023:200); BAS chart of accounts, https://www.bas.se: 3105 export outside the EU, 3106 EU with VAT charged,
3108 EU business with
reverse charge).
"""

from __future__ import annotations

from libs.common.shop_settings import Region

__all__ = ["EU_COUNTRIES", "customer_vat_type", "region_of"]

# EU member states in 2026 (ISO 3166 codes; Greece is GR here, EL only in VAT numbers).
EU_COUNTRIES: frozenset[str] = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})


def region_of(country: str, *, vat_number: str | None, charged_vat: bool, home: str = "SE") -> Region:
    """A sale is reverse-charged only to an EU business that gave a VAT number *and* was charged
    no VAT: when WooCommerce charged VAT anyway, the books must follow what the customer paid."""
    country = (country or home).upper()
    if country == home:
        return "se"
    if country in EU_COUNTRIES:
        return "eu_business" if vat_number and not charged_vat else "eu_consumer"
    return "export"


def customer_vat_type(region: Region) -> str:
    """Fortnox Customer.VATType for a region (openapi.json: SEVAT, SEREVERSEDVAT, EUREVERSEDVAT,
    EUVAT, EXPORT)."""
    return {"se": "SEVAT", "eu_consumer": "EUVAT", "eu_business": "EUREVERSEDVAT", "export": "EXPORT"}[region]
