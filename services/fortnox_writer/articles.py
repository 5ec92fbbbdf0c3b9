"""Articles: create or update from WooCommerce products; prices through the price list.

`SalesPrice` on an article is read-only (it shows the default price list), so prices are written
through `/3/prices/{PriceList}/{ArticleNumber}/0` (FACTS.md, Articles).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from libs.common.commands import ArticleCommand
from libs.common.errors import Busy
from libs.common.fortnox.errors import CODE_ARTICLE_NUMBER_TAKEN, FortnoxPermanent
from libs.common.store.bookings import BookingRecord
from services.fortnox_writer.compare import norm
from services.fortnox_writer.context import WriterContext

__all__ = ["apply_article", "ensure_row_articles"]


async def apply_article(ctx: WriterContext, cmd: ArticleCommand) -> dict[str, Any]:
    number = str(cmd.body["ArticleNumber"])
    claim = await ctx.ledger.begin(ctx.tenant.id, f"article:{number}")
    if not claim.acquired:
        raise Busy(f"article {number} is being written by another writer", code="article-busy")
    try:
        async with ctx.ledger.held(claim):
            return await _apply_article(ctx, cmd, number)
    finally:
        await ctx.ledger.release(claim)


async def _apply_article(ctx: WriterContext, cmd: ArticleCommand, number: str) -> dict[str, Any]:
    booking = await ctx.bookings.get(ctx.tenant.id, "product", str(cmd.woo_product_id), "article")
    if booking and booking.snapshot_modified and cmd.snapshot_modified and \
            cmd.snapshot_modified < booking.snapshot_modified:
        return {"outcome": "stale", "article": number}
    try:
        current: dict[str, Any] | None = await ctx.client.get("articles", number, "Article")
    except FortnoxPermanent as exc:
        # An unknown article answers 404, sometimes 400 (FACTS.md, Statuses).
        if exc.status not in (400, 404):
            raise
        current = None
    if current is None:
        try:
            await ctx.client.create("articles", "Article", cmd.body)
            outcome = "created"
        except FortnoxPermanent as exc:
            if exc.fortnox_code != CODE_ARTICLE_NUMBER_TAKEN:
                raise
            # Created meanwhile by an order that needed it: converge on the next snapshot.
            await ctx.client.update("articles", number, "Article",
                                    {k: v for k, v in cmd.body.items() if k != "ArticleNumber"})
            outcome = "updated"
    elif any(norm(v) != norm(current.get(k)) for k, v in cmd.body.items()):
        await ctx.client.update("articles", number, "Article", {k: v for k, v in cmd.body.items()
                                                                 if k != "ArticleNumber"})
        outcome = "updated"
    else:
        outcome = "unchanged"
    if cmd.price is not None and cmd.price_list:
        await _set_price(ctx, cmd, number)
    await ctx.bookings.record(
        BookingRecord(tenant_id=ctx.tenant.id, woo_resource="product", woo_id=str(cmd.woo_product_id),
                      kind="article", fortnox_number=number, snapshot_modified=cmd.snapshot_modified),
        action=f"article-{outcome}", audit={"article": number},
    )
    return {"outcome": outcome, "article": number}


async def _set_price(ctx: WriterContext, cmd: ArticleCommand, number: str) -> None:
    path = f"/3/prices/{quote(str(cmd.price_list), safe='')}/{quote(number, safe='')}/0"
    body = {"Price": {"Price": cmd.price}}
    try:
        await ctx.client.request("PUT", path, json=body, what=f"set price of {number}")
    except FortnoxPermanent as exc:
        if exc.status not in (400, 404):
            raise
        await ctx.client.request("POST", "/3/prices", what=f"create price of {number}", json={"Price": {
            "ArticleNumber": number, "PriceList": cmd.price_list, "FromQuantity": 0, "Price": cmd.price}})


async def ensure_row_articles(ctx: WriterContext, rows: list[dict[str, Any]]) -> list[str]:
    """Create the articles a document's rows name that Fortnox does not have yet.

    Called when Fortnox refused a document with 2001302 (a row refers to an unknown article,
    FACTS.md): an order can arrive before its products were synced. Steady state costs nothing:
    the writer only gets here on that error. Returns the article numbers created."""
    created: list[str] = []
    seen: set[str] = set()
    for row in rows:
        number = str(row.get("ArticleNumber") or "")
        if not number or number in seen:
            continue
        seen.add(number)
        try:
            await ctx.client.get("articles", number, "Article")
            continue
        except FortnoxPermanent as exc:
            if exc.status not in (400, 404):
                raise
        body: dict[str, Any] = {"ArticleNumber": number, "Description": str(row.get("Description") or number)[:200]}
        if row.get("AccountNumber"):
            body["SalesAccount"] = row["AccountNumber"]
        try:
            await ctx.client.create("articles", "Article", body)
        except FortnoxPermanent as exc:
            # Created meanwhile (the product's own article command, another order): that is fine.
            if exc.fortnox_code != CODE_ARTICLE_NUMBER_TAKEN:
                raise
            continue
        created.append(number)
    return created
