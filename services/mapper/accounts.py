"""Sales accounts: the one rule that picks the account of a document row.

account = the shop's account map (libs.common.shop_settings.AccountMap) for the sale's region and
the row's VAT rate; shipping and fee rows use the region's `shipping` / `fee` account when one is
set. Every account is configurable (sources disagree on some accounts of the BAS chart of accounts,
https://www.bas.se).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from libs.common.errors import PermanentError
from libs.common.shop_settings import AccountMap, Region, rate_key

__all__ = ["RowKind", "sales_account"]

RowKind = Literal["item", "shipping", "fee"]


def sales_account(accounts: AccountMap, region: Region, rate: Decimal, kind: RowKind = "item") -> int:
    table = accounts.region(region)
    if kind == "shipping" and table.shipping is not None:
        return table.shipping
    if kind == "fee" and table.fee is not None:
        return table.fee
    account = table.by_rate.get(rate_key(rate), table.other_rates)
    if account is None:
        raise PermanentError(
            f"no sales account for {rate_key(rate)} % VAT in region {region}: add "
            f"accounts.{region}.by_rate[\"{rate_key(rate)}\"] to the shop's settings",
            code="no-sales-account",
        )
    return account
