"""VAT: which rate a WooCommerce line carries, and whether that rate is plausible on the date of sale.

The mapper never assumes a rate: it reads it from WooCommerce's tax data (`line.taxes[]` → the
order's `tax_lines[].rate_percent`; on older orders rate_percent is null and the rate is derived
from the amounts, WooCommerce REST API docs,
https://woocommerce.github.io/woocommerce-rest-api-docs/#orders). It trusts WooCommerce's rate and only
*flags* one that no Swedish rule knows for that date (Mervärdesskattelag (2023:200): 25 / 12 /
6 / 0 %, and food at 6 % instead of 12 % from 2026-04-01 to 2027-12-31, Prop. 2025/26:55).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.mapper.rounding import HUNDRED, ORE, ZERO, money, ore

__all__ = [
    "KNOWN_RATES",
    "RatePeriod",
    "food_rate",
    "known_rates",
    "line_rate",
    "rate_split",
    "rate_warning",
    "sale_date",
    "tax_line_rates",
]


@dataclass(frozen=True)
class RatePeriod:
    kind: str
    rate: Decimal
    start: date
    end: date  # inclusive


# The standard, reduced and zero rates hold on every date this integration books. 12 % stays for
# restaurants and catering while food drops to 6 %, so 12 % is still a known rate in 2026.
KNOWN_RATES: frozenset[Decimal] = frozenset({Decimal(25), Decimal(12), Decimal(6), Decimal(0)})

FOOD_PERIODS: tuple[RatePeriod, ...] = (
    RatePeriod("food", Decimal(6), date(2026, 4, 1), date(2027, 12, 31)),
)
FOOD_DEFAULT = Decimal(12)


def known_rates(on: date) -> frozenset[Decimal]:
    del on  # every Swedish rate is valid on every date here; kept in the signature for the next change
    return KNOWN_RATES


def food_rate(on: date) -> Decimal:
    for period in FOOD_PERIODS:
        if period.start <= on <= period.end:
            return period.rate
    return FOOD_DEFAULT


def sale_date(order: Mapping[str, Any]) -> date:
    """The date of sale: the order's creation date in the shop's own time (a Swedish shop's day)."""
    for key in ("date_created", "date_created_gmt", "date_modified_gmt"):
        value = order.get(key)
        if value:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    return date.today()  # noqa: DTZ011 - an order without any date is booked on the day it arrives


def tax_line_rates(order: Mapping[str, Any]) -> dict[int, Decimal | None]:
    """rate_id → rate in percent (None where WooCommerce did not say: older orders)."""
    rates: dict[int, Decimal | None] = {}
    for tax in order.get("tax_lines") or []:
        rate = tax.get("rate_percent")
        rates[int(tax.get("rate_id") or 0)] = None if rate is None else money(rate, "rate_percent").normalize()
    return rates


def _derive(net: Decimal, tax: Decimal) -> Decimal:
    """The rate of a line whose tax line gives none: the known rate that reproduces the tax to the
    öre, else the exact quotient to two decimals (flagged later as unknown)."""
    if tax == ZERO:
        return ZERO
    if net == ZERO:
        return ZERO
    for rate in sorted(KNOWN_RATES, reverse=True):
        if ore(net * rate / HUNDRED) == tax:
            return rate
    return (tax / net * HUNDRED).quantize(Decimal("0.01")).normalize()


def line_rate(
    taxes: Sequence[Mapping[str, Any]],
    rates: Mapping[int, Decimal | None],
    net: Decimal,
    tax: Decimal,
    *,
    list_net: Decimal = ZERO,
    list_tax: Decimal = ZERO,
) -> Decimal:
    """The VAT rate of one line (item, shipping or fee).

    Several taxes on one line add up (a US state and county tax; WooCommerce's non-compound taxes
    are each computed on the net). A 100 % discounted line has no tax to derive from: its
    pre-discount subtotal is used instead."""
    # A tax listed with neither total nor subtotal was not applied to this line.
    applied = [p for p in taxes if p.get("total") not in (None, "") or p.get("subtotal") not in (None, "")]
    total = ZERO
    unknown = False
    for part in applied:
        rate = rates.get(int(part.get("id") or 0))
        if rate is None:
            unknown = True
        else:
            total += rate
    if applied and not unknown:
        base = max(abs(net), abs(list_net))
        if tax == ZERO and list_tax == ZERO and ore(base * total / HUNDRED) != ZERO:
            return ZERO  # the rate would have given tax, yet none was charged: the line is exempt
        return total.normalize()
    if tax == ZERO and net == ZERO and list_net != ZERO:
        return _derive(list_net, list_tax)
    return _derive(net, tax)


def rate_warning(rate: Decimal, on: date, *, food: bool, what: str) -> str | None:
    """A sentence for the operator when a rate fits no Swedish rule on the date of sale."""
    if rate not in known_rates(on):
        return f"{what}: {rate} % is not a Swedish VAT rate on {on.isoformat()}"
    if food and rate != food_rate(on):
        return (f"{what}: food is taxed at {food_rate(on)} % on {on.isoformat()}, WooCommerce charged {rate} % "
                "(booked as WooCommerce charged it)")
    return None


def rate_split(
    taxes: Sequence[Mapping[str, Any]], rates: Mapping[int, Decimal | None], net: Decimal, tax: Decimal
) -> list[tuple[Decimal, Decimal, Decimal]] | None:
    """(rate, net share, tax share) of a shipping or fee line whose tax WooCommerce spread over
    several rates (in Sweden shipping follows the goods, so plugins split its VAT in proportion),
    or None for a line taxed at one rate.

    Swedish rates never stack, so several Swedish rates on one line are a split; other rates (a US
    state and county tax) stack when their sum explains the tax. Each share's net is recovered from
    its tax; what the taxes cannot explain beyond their rounding is the part at 0 %. Rounding noise
    is folded into the biggest share (the document's öresutjämning keeps VAT per rate exact)."""
    parts: list[tuple[Decimal, Decimal]] = []
    for part in taxes:
        if part.get("total") in (None, ""):
            continue
        rate = rates.get(int(part.get("id") or 0))
        if rate is None:
            return None
        parts.append((rate, money(part.get("total"), "tax")))
    if len({rate for rate, _ in parts}) < 2:
        return None
    stacked = sum((rate for rate, _ in parts), ZERO)
    swedish = all(rate in KNOWN_RATES for rate, _ in parts)
    if not swedish and abs(ore(net * stacked / HUNDRED) - tax) <= ORE * len(parts):
        return None
    shares = [(rate, ore(part_tax * HUNDRED / rate), part_tax) for rate, part_tax in parts if rate != ZERO]
    rest = net - sum((share for _, share, _ in shares), ZERO)
    noise = ORE + sum((ORE / 2 * HUNDRED / rate for rate, _, _ in shares), ZERO)
    if abs(rest) > noise or not shares:
        shares.append((ZERO, rest, ZERO))  # the part that follows 0 % goods
    else:
        biggest = max(range(len(shares)), key=lambda i: abs(shares[i][1]))
        rate, share, part_tax = shares[biggest]
        shares[biggest] = (rate, share + rest, part_tax)
    return [(rate, share, part_tax) for rate, share, part_tax in shares if share != ZERO or part_tax != ZERO]
