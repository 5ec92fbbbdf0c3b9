"""Articles: create or update from WooCommerce products; prices through the price list.

`SalesPrice` on an article is read-only (it shows the default price list), so prices are written
through `/3/prices/{PriceList}/{ArticleNumber}/0` (Fortnox API reference, https://apps.fortnox.se/apidocs,
Articles and Prices).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from libs.common.commands import ArticleCommand
from libs.common.errors import Busy
from libs.common.fortnox.errors import CODE_ARTICLE_NUMBER_TAKEN, FortnoxPermanent
from libs.common.store.bookings import BookingRecord
from services.fortnox_writer.compare import norm
from services.fortnox_writer.context import WriterContext
from services.fortnox_writer.ledger import Claim, Effect

__all__ = ["apply_article", "ensure_row_articles"]


async def apply_article(ctx: WriterContext, cmd: ArticleCommand) -> dict[str, Any]:
    number = str(cmd.body["ArticleNumber"])
    claim = await ctx.ledger.begin(ctx.tenant.id, f"article:{number}")
    if not claim.acquired:
        raise Busy(f"article {number} is being written by another writer", code="article-busy")
    try:
        async with ctx.ledger.held(claim):
            return await _apply_article(ctx, cmd, number, claim)
    finally:
        await ctx.ledger.release(claim)


async def _get(ctx: WriterContext, number: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await ctx.client.get("articles", number, "Article")
    except FortnoxPermanent as exc:
        # An unknown article answers 404, sometimes 400 (Fortnox developer docs,
        # https://www.fortnox.se/developer/guides-and-good-to-know/errors).
        if exc.status not in (400, 404):
            raise
        return None
    return found


async def _apply_article(ctx: WriterContext, cmd: ArticleCommand, number: str, claim: Claim) -> dict[str, Any]:
    booking = await ctx.bookings.get(ctx.tenant.id, "product", str(cmd.woo_product_id), "article")
    if booking and booking.snapshot_modified and cmd.snapshot_modified and \
            cmd.snapshot_modified < booking.snapshot_modified:
        return {"outcome": "stale", "article": number}
    fields = {k: v for k, v in cmd.body.items() if k != "ArticleNumber"}
    taken = False

    async def create() -> str:
        nonlocal taken
        try:
            await ctx.client.create("articles", "Article", cmd.body)
        except FortnoxPermanent as exc:
            if exc.fortnox_code != CODE_ARTICLE_NUMBER_TAKEN:
                raise
            taken = True  # created meanwhile by an order that needed it: converge below
        return number

    async def update() -> str:
        await ctx.client.update("articles", number, "Article", fields)
        return number

    # The article number is its own reference and Fortnox keeps it unique (2001 when taken), so a
    # create is repeatable: Fortnox is read first, and the record only says an attempt began.
    current = await _get(ctx, number)
    if current is None:
        await ctx.ledger.run(claim, Effect("create", number, create, repeatable=True))
    if current is None and not taken:
        outcome = "created"
    elif taken or current is None or any(norm(v) != norm(current.get(k)) for k, v in cmd.body.items()):
        await ctx.ledger.run(claim, Effect("update", _digest(fields), update, repeatable=True))
        outcome = "updated"
    else:
        outcome = "unchanged"
    if cmd.price is not None and cmd.price_list:
        async def price() -> str:
            await _set_price(ctx, cmd, number)
            return str(cmd.price)

        await ctx.ledger.run(claim, Effect("price", f"{cmd.price_list}:{cmd.price}", price, repeatable=True))
    await ctx.bookings.record(
        BookingRecord(tenant_id=ctx.tenant.id, woo_resource="product", woo_id=str(cmd.woo_product_id),
                      kind="article", fortnox_number=number, snapshot_modified=cmd.snapshot_modified),
        action=f"article-{outcome}", audit={"article": number},
    )
    return {"outcome": outcome, "article": number}


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


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


async def ensure_row_articles(ctx: WriterContext, rows: list[dict[str, Any]], claim: Claim) -> list[str]:
    """Create the articles a document's rows name that Fortnox does not have yet.

    Called when Fortnox refused a document with 2001302 (a row refers to an unknown article,
    a code existing integrations report): an order can arrive before its products were synced. Steady state
    costs nothing:
    the writer only gets here on that error. Each is an effect of the document's object (under its
    claim), read by its number first. Returns the article numbers created."""
    created: list[str] = []
    seen: set[str] = set()
    for row in rows:
        number = str(row.get("ArticleNumber") or "")
        if not number or number in seen:
            continue
        seen.add(number)
        body: dict[str, Any] = {"ArticleNumber": number, "Description": str(row.get("Description") or number)[:200]}
        if row.get("AccountNumber"):
            body["SalesAccount"] = row["AccountNumber"]

        if await _get(ctx, number) is not None:
            continue
        made = True

        async def create(number: str = number, body: dict[str, Any] = body) -> str:
            nonlocal made
            try:
                await ctx.client.create("articles", "Article", body)
            except FortnoxPermanent as exc:
                # Created meanwhile (the product's own article command, another order): that is fine.
                if exc.fortnox_code != CODE_ARTICLE_NUMBER_TAKEN:
                    raise
                made = False
            return number

        # Unique by number in Fortnox, so repeatable (see _apply_article).
        await ctx.ledger.run(claim, Effect(f"article:{number}", number, create, repeatable=True))
        if made:
            created.append(number)
    return created
