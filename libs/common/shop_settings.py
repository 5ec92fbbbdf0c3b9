"""Per-shop sync settings: how one shop's WooCommerce data becomes Fortnox bookkeeping.

Stored as JSON in the tenant's row of the store of record (`tenants.settings`), loaded from a file
with `woonox tenant add --settings FILE` or `woonox map ... --settings FILE`. `ShopSettings()` alone
is a sound Swedish default (BAS accounts, prices as the shop has them, new orders become Fortnox
orders); every account is configurable because sources disagree on some (Mervärdesskattelag (2023:200) and
the BAS chart of accounts, https://www.bas.se). Unknown keys are rejected so a typo is an error, not a
silent default.
The file format is documented in docs/mapping.md.

Read by the mapper (documents, accounts, customers, articles) and by the writer (customer mode,
payments, what to do when a booked document must change).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AccountMap",
    "CurrencySettings",
    "CustomerSettings",
    "DocumentSettings",
    "PaymentMethod",
    "PaymentSettings",
    "ProductSync",
    "Region",
    "RegionAccounts",
    "RoundingSettings",
    "ShopSettings",
    "StatusTriggers",
    "rate_key",
]

Region = Literal["se", "eu_consumer", "eu_business", "export"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _account(value: int) -> int:
    # BAS accounts are four digits; Fortnox's AccountNumber is 1000..9999 (openapi.json InvoiceRow).
    if not 1000 <= value <= 9999:
        raise ValueError(f"account {value} is not a four-digit BAS account (1000-9999)")
    return value


class RegionAccounts(_Strict):
    """Sales accounts of one region. `by_rate` keys are VAT rates as strings ("25", "12", "6", "0",
    "19" for an OSS rate); `shipping` / `fee` override the goods account when set."""

    by_rate: dict[str, int]
    other_rates: int | None = Field(
        None, description="account for rates not in by_rate (e.g. every OSS rate); None = error"
    )
    shipping: int | None = None
    fee: int | None = None

    @field_validator("by_rate")
    @classmethod
    def _rates(cls, value: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, account in value.items():
            try:
                rate = Decimal(key)
            except InvalidOperation:
                raise ValueError(f"VAT rate {key!r} is not a number") from None
            if not Decimal(0) <= rate < Decimal(100):
                raise ValueError(f"VAT rate {key!r} is outside 0..100")
            out[rate_key(rate)] = _account(account)
        return out

    @field_validator("other_rates", "shipping", "fee")
    @classmethod
    def _optional_account(cls, value: int | None) -> int | None:
        return None if value is None else _account(value)


def rate_key(rate: Decimal) -> str:
    """The canonical key of a rate: "25", "6", "7.5" (no trailing zeros)."""
    text = format(rate.normalize(), "f")
    return text


class AccountMap(_Strict):
    """Sales accounts per VAT rate and region (BAS chart of accounts, https://www.bas.se:
    3001/3002/3003/3004 Sweden, 3105 export, 3106 EU with VAT charged, 3108 EU business reverse
    charge)."""

    se: RegionAccounts = RegionAccounts(by_rate={"25": 3001, "12": 3002, "6": 3003, "0": 3004})
    eu_consumer: RegionAccounts = RegionAccounts(
        by_rate={"25": 3106, "12": 3106, "6": 3106, "0": 3106}, other_rates=3106
    )
    eu_business: RegionAccounts = RegionAccounts(by_rate={"0": 3108})
    export: RegionAccounts = RegionAccounts(by_rate={"0": 3105})
    # Sales tax a shop collected outside Sweden (e.g. a US state tax) is a debt, not revenue and not
    # Swedish VAT: it is booked as a 0 % row on this account so the totals still match. 2890 =
    # BAS "Övriga kortfristiga skulder".
    foreign_tax: int = 2890
    # BAS 3740 "Öres- och kronutjämning": the 0 % side of a rounding row pair (services.mapper.rows).
    rounding: int = 3740
    oss: bool = Field(False, description="EU distance sales under OSS: the buyer country's rate is booked")

    def region(self, name: Region) -> RegionAccounts:
        return {"se": self.se, "eu_consumer": self.eu_consumer, "eu_business": self.eu_business,
                "export": self.export}[name]

    @field_validator("foreign_tax", "rounding")
    @classmethod
    def _foreign(cls, value: int) -> int:
        return _account(value)


class StatusTriggers(_Strict):
    """Which WooCommerce order statuses do what. A status in none of them is acknowledged and
    ignored (e.g. pending, checkout-draft)."""

    create: list[str] = ["processing", "on-hold", "completed"]
    invoice: list[str] = ["completed"]
    cancel: list[str] = ["cancelled", "failed"]
    credit: list[str] = ["refunded"]


class DocumentSettings(_Strict):
    kind: Literal["order", "invoice", "offer"] = "order"
    triggers: StatusTriggers = StatusTriggers()
    convert_on_completed: bool = Field(True, description="turn the order into an invoice on a create+invoice status")
    price_list: str = Field("A", min_length=1, max_length=20)
    allow_free_text_rows: bool = Field(False, description="book products without SKU as rows without article")
    our_reference: str | None = None
    # When a document Fortnox has already booked must change: credit it and issue a new one, or
    # dead-letter the change for a human (a booked invoice cannot be changed: Fortnox API reference,
    # https://apps.fortnox.se/apidocs, Invoices).
    on_booked_change: Literal["credit-and-reissue", "dead-letter"] = "credit-and-reissue"
    way_of_delivery: dict[str, str] = Field(default_factory=dict, description="Woo shipping method_id -> Fortnox code")
    # WooCommerce tax classes that hold food: their rate is checked against the food rate of the
    # date of sale (6 % from 2026-04-01 to 2027-12-31, 12 % otherwise; Mervärdesskattelag (2023:200)
    # as changed after Prop. 2025/26:55).
    food_tax_classes: list[str] = ["reduced-rate", "food", "livsmedel"]


class PaymentMethod(_Strict):
    mode_of_payment: str = Field(min_length=1, max_length=20)
    register_payment: bool = True
    bookkeep: bool = True
    account: int | None = None

    @field_validator("account")
    @classmethod
    def _acc(cls, value: int | None) -> int | None:
        return None if value is None else _account(value)


class PaymentSettings(_Strict):
    """Per WooCommerce payment method (its `payment_method` id): how the payment is registered."""

    methods: dict[str, PaymentMethod] = {
        "klarna": PaymentMethod(mode_of_payment="KLARNA"),
        "stripe": PaymentMethod(mode_of_payment="KORT"),
        "swish": PaymentMethod(mode_of_payment="SWISH"),
        "bacs": PaymentMethod(mode_of_payment="BG", register_payment=False),
    }
    terms_of_payment: dict[str, str] = Field(default_factory=dict, description="payment method -> Fortnox code")


class CustomerSettings(_Strict):
    # "create": new customers are created; "update-only": only existing Fortnox customers are used
    # and an order whose customer is unknown is dead-lettered with that reason.
    mode: Literal["create", "update-only"] = "create"
    vat_number_keys: list[str] = ["_billing_vat_number", "_vat_number", "vat_number", "yweu_billing_vat",
                                  "billing_vat_number"]
    org_number_keys: list[str] = ["_billing_org_number", "_org_number", "org_number", "organisation_number",
                                  "_billing_organisation_number"]


class ProductSync(_Strict):
    direction: Literal["woo-to-fortnox", "fortnox-to-woo", "both", "off"] = "woo-to-fortnox"
    price: bool = True
    description: bool = True
    stock: bool = True
    stock_goods: bool = True
    unit: str = "st"
    # Fortnox price lists hold prices without VAT; a shop that enters prices with VAT has them
    # taken out at the rate of the product's tax class (and put back for Fortnox -> WooCommerce).
    prices_include_vat: bool = True
    tax_class_rates: dict[str, str] = {"": "25", "standard": "25", "reduced-rate": "12", "zero-rate": "0"}


class RoundingSettings(_Strict):
    # Mirrors the Fortnox company setting: whole kronor puts the difference in RoundOff, outside VAT
    # (Fortnox API reference, https://apps.fortnox.se/apidocs, Invoices: RoundOff is read-only; the
    # rule itself is undocumented). The check table then shows RoundOff beside the totals.
    whole_kronor: bool = False
    # What to do when no row layout reproduces WooCommerce's VAT to the öre: dead-letter (default,
    # nothing wrong is booked) or book it and warn.
    on_mismatch: Literal["dead-letter", "book-and-warn"] = "dead-letter"


class CurrencySettings(_Strict):
    home: str = Field("SEK", min_length=3, max_length=3)
    # "fortnox": omit CurrencyRate and let Fortnox use its daily rate; "order-meta": read it from
    # the order's meta key below.
    rate_source: Literal["fortnox", "order-meta"] = "fortnox"
    rate_meta_key: str = "_currency_rate"


class ShopSettings(_Strict):
    documents: DocumentSettings = DocumentSettings()
    accounts: AccountMap = AccountMap()
    payments: PaymentSettings = PaymentSettings()
    customers: CustomerSettings = CustomerSettings()
    products: ProductSync = ProductSync()
    rounding: RoundingSettings = RoundingSettings()
    currency: CurrencySettings = CurrencySettings()
    home_country: str = Field("SE", min_length=2, max_length=2)
    # Staging without a Fortnox at all: the whole pipeline runs, and the writer records (audit trail,
    # order note) what it would have sent instead of sending it. To stage against Fortnox's behaviour,
    # point the tenant's Fortnox URLs at the sandbox instead (docs/try-before-going-live.md).
    dry_run: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> ShopSettings:
        if "0" not in self.accounts.eu_business.by_rate and self.accounts.eu_business.other_rates is None:
            raise ValueError("accounts.eu_business needs an account for rate 0 (reverse charge)")
        if "0" not in self.accounts.export.by_rate and self.accounts.export.other_rates is None:
            raise ValueError("accounts.export needs an account for rate 0")
        return self
