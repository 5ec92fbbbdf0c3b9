"""Commands from the mapper to the writers: the *desired state* of one Fortnox object.

A command is level-triggered: it says what the Fortnox document for one WooCommerce order snapshot
must look like, not what to do. The writer compares it with what Fortnox holds and converges, so
duplicates, replays and reordering end in one document per (tenant, order, kind). Bodies use
Fortnox's own field names (Fortnox API v3 reference, https://apps.fortnox.se/apidocs).

Routing keys (message types):
    fortnox.command.document   DocumentCommand
    fortnox.command.article    ArticleCommand
    fortnox.command.customer   CustomerCommand
    woo.command.stock          StockCommand (Fortnox -> WooCommerce)
    fortnox.result.document    DocumentResult (writer -> the shop's order notes)
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from libs.common import jsonmoney

__all__ = [
    "ArticleCommand",
    "CreditNote",
    "CustomerCommand",
    "CustomerMatch",
    "DocumentCommand",
    "DocumentKind",
    "DocumentResult",
    "ExpectedTotals",
    "PaymentIntent",
    "StockCommand",
    "credit_reference",
    "external_reference",
]

DocumentKind = Literal["order", "invoice", "offer"]

COMMAND_DOCUMENT = "fortnox.command.document"
COMMAND_ARTICLE = "fortnox.command.article"
COMMAND_CUSTOMER = "fortnox.command.customer"
COMMAND_STOCK = "woo.command.stock"
RESULT_DOCUMENT = "fortnox.result.document"


def external_reference(tenant: str, woo_order_id: int | str) -> str:
    """The reference stamped in ExternalInvoiceReference1 (≤ 80 chars: Fortnox API reference,
    https://apps.fortnox.se/apidocs, Invoices): the writer's
    ledger of last resort, searched with an exact comparison since Fortnox's search is substring."""
    return f"woonox:{tenant}:order:{woo_order_id}"[:80]


def credit_reference(tenant: str, woo_order_id: int | str, refund_id: int | str) -> str:
    """The reference of the credit invoice for one WooCommerce refund (ExternalInvoiceReference1)."""
    return f"woonox:{tenant}:order:{woo_order_id}:refund:{refund_id}"[:80]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_body(self) -> bytes:
        """The message body: JSON with Decimals as exact JSON numbers (libs.common.jsonmoney)."""
        return jsonmoney.dumps(self.model_dump(mode="python"))

    @classmethod
    def from_body(cls, body: bytes) -> Self:
        return cls.model_validate(jsonmoney.loads(body))


class CustomerMatch(_Command):
    """How the writer finds an existing Fortnox customer before creating one."""

    email: str | None = None
    organisation_number: str | None = None
    woo_customer_id: int | None = None


class CustomerCommand(_Command):
    tenant: str
    match: CustomerMatch
    body: dict[str, Any] = Field(description="Fortnox Customer body, without CustomerNumber")
    create_if_missing: bool = True


class PaymentIntent(_Command):
    """Register (and bookkeep) a payment once the invoice exists."""

    amount: Decimal
    amount_currency: Decimal | None = None
    payment_date: str
    mode_of_payment: str | None = None
    bookkeep: bool = True
    # Added by the mapper (issue 5): InvoicePayment.ModeOfPaymentAccount, when the shop set one.
    mode_of_payment_account: int | None = None


class ExpectedTotals(_Command):
    """What Fortnox must show for the document (or credit) once written, computed by the mapper
    from the rows with Fortnox's arithmetic (services.mapper.rounding): the writer or a test can
    compare Fortnox's Total / TotalVAT with it. Keys of vat_by_rate are rates as text ("25", "6")."""

    total: Decimal
    vat: Decimal
    vat_by_rate: dict[str, Decimal] = Field(default_factory=dict)
    round_off: Decimal = Decimal(0)


class CreditNote(_Command):
    """One WooCommerce refund as the credit invoice it must become: rows with negative quantities
    (Fortnox API reference, https://apps.fortnox.se/apidocs, Invoices: `/credit` works once per
    invoice, so a second partial refund needs a new invoice with negative rows). Row amounts are in
    the document's VATIncluded convention (`vat_included`)."""

    refund_id: int
    external_ref: str
    date: str | None = None
    reason: str = ""
    amount: Decimal = Field(description="refunded amount incl. VAT, positive")
    line_level: bool = Field(description="WooCommerce said which lines; False = amount-only refund")
    vat_included: bool
    rows: list[dict[str, Any]]
    expected: ExpectedTotals | None = None


class DocumentCommand(_Command):
    tenant: str
    woo_order_id: int
    kind: DocumentKind
    snapshot_modified: datetime
    external_ref: str
    woo_status: str = ""
    customer: CustomerCommand
    document: dict[str, Any] = Field(
        description="Fortnox Order/Invoice/Offer body without CustomerNumber; the writer fills it in"
    )
    convert_to_invoice: bool = False
    cancel: bool = False
    payment: PaymentIntent | None = None
    credit_rows: list[dict[str, Any]] | None = Field(
        default=None, description="Rows of a credit invoice for refunds not yet credited"
    )
    refund_ids: list[int] = Field(default_factory=list)
    # Added by the mapper (issue 5):
    credits: list[CreditNote] = Field(default_factory=list, description="one credit per refund, oldest first")
    expected: ExpectedTotals | None = None
    warnings: list[str] = Field(default_factory=list, description="for the operator / an order note")


class ArticleCommand(_Command):
    tenant: str
    woo_product_id: int
    snapshot_modified: datetime | None = None
    body: dict[str, Any] = Field(description="Fortnox Article body with ArticleNumber")
    price_list: str | None = None
    price: Decimal | None = None


class StockCommand(_Command):
    tenant: str
    woo_product_id: int
    woo_parent_id: int | None = None
    stock_quantity: int | None = None
    regular_price: Decimal | None = None
    origin: Literal["fortnox"] = "fortnox"
    fortnox_modified: str | None = None
    # Added by the mapper (issue 5): the SKU, for when the sender of the Fortnox change did not know
    # the WooCommerce product id (woo_product_id 0): the Woo writer finds the product by SKU.
    sku: str | None = None
    # Issue 15: the price as Fortnox holds it (without VAT) and the article's own VAT rate, so the
    # woo-writer can tell "the shop already has this price" where Fortnox does: Woo → Fortnox → Woo
    # is then the identity even where adding VAT to an öre-rounded net price lands one öre off.
    net_price: Decimal | None = None
    vat_rate: Decimal | None = None


class DocumentResult(_Command):
    """What the writer did for one order, for the shop owner (an order note) and the audit."""

    tenant: str
    woo_order_id: int
    kind: DocumentKind
    outcome: str
    number: str
    invoice: str | None = None
    payment: str | None = None
    credits: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    reason: str | None = Field(None, description="why it failed (outcome 'failed')")

    def note(self) -> str:
        names = {"order": "order", "invoice": "faktura", "offer": "offert"}
        if self.outcome == "failed":
            return (f"woonox kunde inte bokföra ordern i Fortnox: {self.reason}. Den ligger kvar hos woonox "
                    "och bokförs när orsaken är åtgärdad (woonox dlq replay).")
        if self.outcome == "dry-run":
            return f"Torrkörning: woonox skulle ha bokfört ordern i Fortnox som {names[self.kind]} (inget skickat)."
        verb = {"created": "Bokförd i Fortnox som", "updated": "Uppdaterad i Fortnox:",
                "reissued": "Krediterad och ny utställd i Fortnox:"}.get(self.outcome, "Fortnox:")
        parts = [f"{verb} {names[self.kind]} {self.number}"]
        if self.invoice:
            parts.append(f"faktura {self.invoice}")
        if self.payment:
            parts.append(f"betalning {self.payment}")
        if self.credits:
            parts.append("kreditfaktura " + ", ".join(self.credits))
        text = ", ".join(parts) + " (woonox)."
        if self.warnings:
            text += " Observera: " + "; ".join(self.warnings)
        return text
