"""What a new sandbox company holds before anyone writes to it: a BAS chart subset with VAT codes,
default accounts, terms and modes of payment, ways of delivery, price list A and voucher series.

BAS chart of accounts (https://www.bas.se): the accounts woonox relies on (3001-3004, 3105-3108, 2611-2631,
1510, 1930) are all here, each with a VATCode, so `/3/accounts` can be read instead of hard-coded.
"""

from __future__ import annotations

from decimal import Decimal

from services.fortnox_sandbox.state import Company

__all__ = ["seed_company"]

ACCOUNTS: tuple[tuple[int, str, str], ...] = (
    (1510, "Kundfordringar", ""),
    (1580, "Fordringar för kontokort och presentkort", ""),
    (1910, "Kassa", ""),
    (1920, "PlusGiro", ""),
    (1930, "Företagskonto / affärskonto", ""),
    (2440, "Leverantörsskulder", ""),
    (2611, "Utgående moms på försäljning inom Sverige, 25 %", "MP1"),
    (2614, "Utgående moms omvänd skattskyldighet, 25 %", "MPFU1"),
    (2621, "Utgående moms på försäljning inom Sverige, 12 %", "MP2"),
    (2631, "Utgående moms på försäljning inom Sverige, 6 %", "MP3"),
    (2641, "Debiterad ingående moms", "I"),
    (2650, "Redovisningskonto för moms", "R1"),
    (3001, "Försäljning inom Sverige, 25 % moms", "MP1"),
    (3002, "Försäljning inom Sverige, 12 % moms", "MP2"),
    (3003, "Försäljning inom Sverige, 6 % moms", "MP3"),
    (3004, "Försäljning inom Sverige, momsfri", "MF"),
    (3105, "Försäljning varor till land utanför EU", "E36"),
    (3106, "Försäljning varor till annat EU-land, momspliktig", "MP1"),
    (3108, "Försäljning varor till annat EU-land, momsfri", "E35"),
    (3520, "Fakturerade frakter", "MP1"),
    (3540, "Faktureringsavgifter", "MP1"),
    (3740, "Öres- och kronutjämning", ""),
    (6570, "Bankkostnader", ""),
    (8310, "Ränteintäkter", ""),
)
# Fortnox API reference (https://apps.fortnox.se/apidocs), PredefinedAccounts: the company's default accounts.
PREDEFINED: tuple[tuple[str, int], ...] = (
    ("CUSTOMER", 1510),
    ("SALES", 3001),
    ("SALES_VAT12", 3002),
    ("SALES_VAT6", 3003),
    ("SALES_VAT0", 3004),
    ("SALES_EXPORT", 3105),
    ("SALES_EU", 3106),
    ("SALES_EU_REVERSED", 3108),
    ("FREIGHT", 3520),
    ("ADMIN_FEE", 3540),
    ("ROUNDING", 3740),
    ("BANK", 1930),
    ("OUTVAT_MP1", 2611),
    ("OUTVAT_MP2", 2621),
    ("OUTVAT_MP3", 2631),
)
TERMS = (("0", "Kontant"), ("10", "10 dagar"), ("15", "15 dagar"), ("20", "20 dagar"), ("30", "30 dagar"))
MODES = (("BG", "Bankgiro", "1930"), ("PG", "PlusGiro", "1920"), ("KORT", "Kortbetalning", "1580"),
         ("SWISH", "Swish", "1930"), ("KONTANT", "Kontant", "1910"))
DELIVERIES = (("P", "Posten", "Mail"), ("HL", "Hämtas av kund", "Picked up"), ("DHL", "DHL", "DHL"))
SERIES = (("A", "Redovisningsverifikationer"), ("B", "Kundfakturor"), ("C", "Kundinbetalningar"),
          ("D", "Leverantörsfakturor"), ("E", "Leverantörsbetalningar"))


def seed_company(company: Company, year: int) -> None:
    for number, description, vat_code in ACCOUNTS:
        company.put("accounts", str(number), {
            "Number": number, "Description": description, "VATCode": vat_code, "Active": True,
            "Year": year, "SRU": 0, "BalanceBroughtForward": Decimal("0"),
        })
    for name, account in PREDEFINED:
        company.put("predefinedaccounts", name, {"Name": name, "Account": account})
    for code, description in TERMS:
        company.put("termsofpayments", code, {"Code": code, "Description": description})
    for code, description, mode_account in MODES:
        company.put("modesofpayments", code, {"Code": code, "Description": description, "AccountNumber": mode_account})
    for code, description, english in DELIVERIES:
        company.put("wayofdeliveries", code, {"Code": code, "Description": description, "DescriptionEnglish": english})
    company.put("pricelists", "A",
                {"Code": "A", "Description": "Standardprislista", "Comments": "", "PreSelected": True})
    for code, description in SERIES:
        company.put("voucherseries", code, {"Code": code, "Description": description, "Manual": code == "A",
                                            "NextVoucherNumber": 1, "Year": year})
