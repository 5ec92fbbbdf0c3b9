"""Products and variations → Fortnox articles; Fortnox article changes → WooCommerce stock/price.

A simple product or a variation is one article (ArticleNumber = SKU, services.mapper.article_numbers);
a variable product is only the parent of its variations (they arrive as product.* of their own,
WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php) and grouped/external products are not
sold by the shop: neither becomes an article. The price goes to the shop's price list (Fortnox API
reference, https://apps.fortnox.se/apidocs, Articles: `SalesPrice` is read-only,
prices are written through /3/prices), without VAT.

One VAT rate per article, set on both sides: the product's rate (`products.tax_class_rates` of its
tax class) becomes the article's `VAT`, and the way back adds VAT at that same article `VAT`. So a
price that goes Woo → Fortnox → Woo comes back unchanged (a real shop with a 12 % coffee saw its
price climb ×1.25/1.12 per Fortnox poll while the article was left at Fortnox's default 25 %).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from libs.common.commands import ArticleCommand, StockCommand
from libs.common.errors import PermanentError
from libs.common.shop_settings import ShopSettings
from libs.common.woo.reread import snapshot_moment
from services.mapper.article_numbers import article_number
from services.mapper.customers import meta_value
from services.mapper.rounding import HUNDRED, ZERO, money, ore

__all__ = ["EAN_KEYS", "article_command", "article_vat", "price_excluding_vat", "stock_command"]

EAN_KEYS = ("_global_unique_id", "_ean", "_gtin", "_wpm_gtin_code", "_alg_ean", "ean", "gtin")
NOT_ARTICLES = frozenset({"variable", "grouped", "external"})


def article_vat(tax_class: str, settings: ShopSettings) -> Decimal | None:
    """The VAT rate of a tax class (None when the shop's settings do not name it)."""
    rate_text = settings.products.tax_class_rates.get(tax_class)
    return Decimal(rate_text) if rate_text is not None else None


def price_excluding_vat(price: Decimal, tax_class: str, settings: ShopSettings) -> Decimal:
    """A WooCommerce price as the price list holds it: without VAT."""
    if not settings.products.prices_include_vat:
        return price
    rate = article_vat(tax_class, settings)
    if rate is None:
        raise PermanentError(
            f"tax class {tax_class or 'standard'!r} has no rate in products.tax_class_rates: the price "
            "cannot be taken out of VAT", code="unknown-tax-class")
    return ore(price * HUNDRED / (HUNDRED + rate))


def _modified(product: Mapping[str, Any]) -> datetime | None:
    return snapshot_moment(product)  # a tie's REST re-read counts as later than its second's snapshots


def _label(product: Mapping[str, Any]) -> str:
    if product.get("type") == "variation" or product.get("parent_id"):
        return f"{product.get('name')!r} (variation {product.get('id')} of product {product.get('parent_id')})"
    return f"{product.get('name')!r} (product {product.get('id')})"


def article_command(tenant: str, product: Mapping[str, Any], settings: ShopSettings) -> ArticleCommand | None:
    """The article a product must be, or None when it is not synced (variable parent, grouped,
    external, sync off, or a SKU-less product in a shop that books free-text rows)."""
    sync = settings.products
    if sync.direction not in ("woo-to-fortnox", "both") or product.get("type") in NOT_ARTICLES:
        return None
    sku = str(product.get("sku") or "").strip()
    if not sku and settings.documents.allow_free_text_rows:
        return None
    number = article_number(sku, product=_label(product))
    body: dict[str, Any] = {"ArticleNumber": number}
    if sync.description:
        description = html.unescape(str(product.get("name") or number)).strip()[:200]
        body["Description"] = description or number
    ean = meta_value(product.get("meta_data"), EAN_KEYS) or str(product.get("global_unique_id") or "")
    if ean:
        body["EAN"] = ean[:30]
    body["Unit"] = sync.unit
    manages_stock = bool(product.get("manage_stock"))
    body["StockGoods"] = sync.stock_goods and manages_stock
    body["Type"] = "SERVICE" if product.get("virtual") else "STOCK"
    # A product whose tax_status is not `taxable` (`none`, or `shipping`: only its shipping is)
    # carries no VAT: its article is at 0 % (not Fortnox's default 25 %), and its price is what the
    # shop says, so the way back (at the article's VAT) adds none either.
    taxable = product.get("tax_status", "taxable") == "taxable"
    vat = article_vat(str(product.get("tax_class") or ""), settings) if taxable else ZERO
    if vat is not None:
        body["VAT"] = vat
    if sync.stock and manages_stock and product.get("stock_quantity") is not None:
        body["QuantityInStock"] = money(product.get("stock_quantity"), "stock_quantity")
    price: Decimal | None = None
    if sync.price and product.get("regular_price") not in (None, ""):
        price = money(product.get("regular_price"), "regular_price")
        if taxable:
            price = price_excluding_vat(price, str(product.get("tax_class") or ""), settings)
        if price < ZERO:
            raise PermanentError(f"{_label(product)} has a negative price", code="bad-price")
    return ArticleCommand(
        tenant=tenant,
        woo_product_id=int(product.get("id") or 0),
        snapshot_modified=_modified(product),
        body=body,
        price_list=settings.documents.price_list if price is not None else None,
        price=price,
    )


def stock_command(tenant: str, change: Mapping[str, Any], settings: ShopSettings) -> StockCommand | None:
    """A Fortnox article change (`fortnox.article.changed`: the Article as GET /3/articles returns
    it, optionally beside `woo_product_id` / `woo_parent_id` when the sender knows them) → the
    stock and price WooCommerce must show. None when reverse sync is off."""
    sync = settings.products
    if sync.direction not in ("fortnox-to-woo", "both"):
        return None
    article = change.get("Article", change)
    if not isinstance(article, Mapping) or not article.get("ArticleNumber"):
        raise PermanentError("fortnox.article.changed carries no Article with an ArticleNumber", code="bad-payload")
    quantity = article.get("QuantityInStock")
    stock: int | None = None
    if sync.stock and quantity is not None:
        stock = int(money(quantity, "QuantityInStock").to_integral_value())
    price = article.get("SalesPrice") if sync.price else None
    net = regular = money(price, "SalesPrice") if price not in (None, "") else None
    rate: Decimal | None = None
    if regular is not None and sync.prices_include_vat:
        # The article's own VAT, which article_command set from the product's tax class.
        rate = Decimal(str(article.get("VAT") if article.get("VAT") not in (None, "") else
                           sync.tax_class_rates.get("", "25")))
        regular = ore(regular * (HUNDRED + rate) / HUNDRED)
    return StockCommand(
        tenant=tenant,
        woo_product_id=int(change.get("woo_product_id") or 0),
        woo_parent_id=int(change["woo_parent_id"]) if change.get("woo_parent_id") else None,
        sku=str(article["ArticleNumber"]),
        stock_quantity=stock,
        regular_price=regular,
        net_price=net if rate is not None else None,
        vat_rate=rate,
        fortnox_modified=str(article.get("LastModified") or change.get("modified") or "") or None,
    )
