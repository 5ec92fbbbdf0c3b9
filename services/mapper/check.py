"""The check table: WooCommerce's total and VAT per rate beside the Fortnox document's.

The Fortnox side is computed from the document's rows exactly as Fortnox will
(services.mapper.rounding.document_totals), never copied from the mapper's own sums, so a passing
check is a proof that the booked document adds up to what the customer paid, to the öre.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from libs.common.shop_settings import Region, rate_key
from services.mapper.lines import Line
from services.mapper.rounding import ZERO, DocumentTotals, money
from services.mapper.rows import books_swedish_vat

__all__ = ["CheckRow", "OrderCheck", "check_row", "order_check"]


class CheckRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    woocommerce: Decimal
    fortnox: Decimal
    ok: bool


class OrderCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    region: Region
    vat_included: bool
    rows: list[CheckRow]
    round_off: Decimal = ZERO
    warnings: list[str] = []

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def failures(self) -> list[str]:
        return [f"{r.label}: WooCommerce {r.woocommerce}, Fortnox {r.fortnox}" for r in self.rows if not r.ok]

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "region": self.region,
            "vat_included": self.vat_included,
            "rows": [{"label": r.label, "woocommerce": str(r.woocommerce), "fortnox": str(r.fortnox), "ok": r.ok}
                     for r in self.rows],
            "round_off": str(self.round_off),
            "warnings": list(self.warnings),
        }


def check_row(label: str, woo: Decimal, fortnox: Decimal) -> CheckRow:
    return CheckRow(label=label, woocommerce=woo, fortnox=fortnox, ok=woo == fortnox)


def order_check(
    order: Mapping[str, Any],
    lines: Sequence[Line],
    totals: DocumentTotals,
    *,
    region: Region,
    vat_included: bool,
    foreign_tax_account: int,
    warnings: Sequence[str] = (),
    extra: Sequence[CheckRow] = (),
) -> OrderCheck:
    woo_total = money(order.get("total"), "order total")
    woo_tax = money(order.get("total_tax"), "order total_tax")
    rows = [
        # WooCommerce's own lines must add up to its own totals first: else nothing can match.
        check_row("WooCommerce lines = order total", woo_total, sum((ln.gross for ln in lines), ZERO)),
        check_row("WooCommerce line taxes = order total_tax", woo_tax, sum((ln.tax for ln in lines), ZERO)),
        check_row("Total", woo_total, totals.total_before_round_off),
    ]
    if books_swedish_vat(region):
        woo_by_rate: dict[Decimal, Decimal] = {}
        for line in lines:
            woo_by_rate[line.rate] = woo_by_rate.get(line.rate, ZERO) + line.tax
        for rate in sorted(set(woo_by_rate) | set(totals.vat_by_rate), reverse=True):
            rows.append(check_row(f"VAT {rate_key(rate)} %", woo_by_rate.get(rate, ZERO),
                             totals.vat_by_rate.get(rate, ZERO)))
    else:
        # No Swedish VAT on reverse charge or export: every row is at 0 %, and tax WooCommerce
        # charged anyway sits on the foreign-tax account.
        rows.append(check_row("Swedish VAT (none on reverse charge / export)", ZERO, totals.vat))
        rows.append(check_row(f"Foreign tax on account {foreign_tax_account}", woo_tax,
                         totals.amount_by_account.get(foreign_tax_account, ZERO)))
    rows += extra
    return OrderCheck(region=region, vat_included=vat_included, rows=rows, round_off=totals.round_off,
                      warnings=list(warnings))
