"""Applying a `StockCommand` (stock and regular price from Fortnox) to one WooCommerce product.

Two guards against echo loops (a change we wrote must not come back as a new change):
1. a command that matches what the shop already has writes nothing, so no webhook is sent at all.
   The price is compared where Fortnox holds it, without VAT at the article's own rate, so a price
   that went Woo → Fortnox → Woo is the identity even when adding VAT back to an öre-rounded net
   price would land one öre off;
2. before a write, the (stock, price) it will leave is marked at ingest's edge (by content, not by
   WooCommerce's stamp: the real shop's product.updated for our write arrived before the batch
   response), so that webhook is answered as our own echo and never reaches the mapper. If Redis
   lost the mark, the echo reaches the mapper once and converges (its values equal Fortnox's), so
   correctness does not depend on it.
Writes go through the batch endpoint (`POST /products/batch`, or the parent's
`/variations/batch` for a variation; WooCommerce REST API docs, https://woocommerce.github.io/woocommerce-rest-api-docs/).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from libs.common.commands import StockCommand
from libs.common.errors import PermanentError
from libs.common.woo import WooClient, echo_key, echo_values

__all__ = ["apply_stock", "changes_for"]

log = structlog.get_logger("woonox.woo_writer.stock")


def _price(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _same_price(command: StockCommand, current: Decimal | None) -> bool:
    if current == command.regular_price:
        return True
    if current is None or command.net_price is None or command.vat_rate is None:
        return False
    # The shop's price, taken out of VAT as the mapper does going to Fortnox, equals Fortnox's.
    return (current * 100 / (100 + command.vat_rate)).quantize(Decimal("0.01"), "ROUND_HALF_UP") == command.net_price


def changes_for(command: StockCommand, current: dict[str, Any]) -> dict[str, Any]:
    """The fields to write, empty when the shop already holds what Fortnox says."""
    changes: dict[str, Any] = {}
    if command.stock_quantity is not None and (
        current.get("stock_quantity") != command.stock_quantity or not current.get("manage_stock")
    ):
        changes.update(manage_stock=True, stock_quantity=command.stock_quantity)
    if command.regular_price is not None and not _same_price(command, _price(current.get("regular_price"))):
        changes["regular_price"] = str(command.regular_price)
    return changes


async def _resolve(woo: WooClient, command: StockCommand) -> StockCommand:
    """A command from a Fortnox change may know only the SKU (woo_product_id 0): find the product.
    WooCommerce's `/products?sku=` finds variations too (`type: variation`, with `parent_id`)."""
    if command.woo_product_id:
        return command
    if not command.sku:
        raise PermanentError("stock command names neither a WooCommerce product id nor a SKU", code="no-product")
    page = await woo.page("/products", per_page=2, sku=command.sku)
    matches = [p for p in page.items if str(p.get("sku")) == command.sku]
    if len(matches) != 1:
        raise PermanentError(
            f"{'no' if not matches else 'more than one'} WooCommerce product has SKU {command.sku!r}",
            code="sku-not-found" if not matches else "sku-ambiguous",
        )
    found = matches[0]
    parent = int(found.get("parent_id") or 0) or None
    return command.model_copy(update={"woo_product_id": int(found["id"]), "woo_parent_id": parent})


async def _current(woo: WooClient, command: StockCommand) -> dict[str, Any]:
    if command.woo_parent_id:
        return dict(await woo.get(f"/products/{command.woo_parent_id}/variations/{command.woo_product_id}"))
    return await woo.product(command.woo_product_id)


async def _mark_echo(tenant: str, after: dict[str, Any], redis: aioredis.Redis | None, redis_prefix: str,
                     echo_seconds: int) -> None:
    if redis is None:
        return
    try:
        await redis.set(echo_key(redis_prefix, tenant, echo_values(after)), b"w", ex=echo_seconds)
    except (RedisError, OSError) as exc:
        log.warning("echo_mark_failed", error=str(exc))


async def apply_stock(command: StockCommand, woo: WooClient, redis: aioredis.Redis | None, redis_prefix: str,
                      echo_seconds: int) -> Literal["unchanged", "written"]:
    command = await _resolve(woo, command)
    current = await _current(woo, command)
    changes = changes_for(command, current)
    if not changes:
        return "unchanged"
    await _mark_echo(command.tenant, {**current, **changes}, redis, redis_prefix, echo_seconds)
    [result] = await woo.batch_products([{"id": command.woo_product_id, **changes}], parent_id=command.woo_parent_id)
    if "error" in result:
        error = result["error"] if isinstance(result["error"], dict) else {}
        raise PermanentError(
            f"WooCommerce refused the stock update of product {command.woo_product_id}: {error.get('message')}",
            code=str(error.get("code") or "woo-batch-error"),
        )
    log.info("stock_written", tenant=command.tenant, product=command.woo_product_id, fields=sorted(changes))
    return "written"
