"""ArticleNumber = the WooCommerce SKU, validated the way Fortnox needs it.

Fortnox: a string of at most 50 characters; the allowed set is undocumented, so woonox keeps to
letters, digits and `-+/._` as the existing integrations do (Fortnox API v3 reference, https://apps.fortnox.se/apidocs,
Articles). A SKU outside that is a permanent error naming the product, never silently altered:
a changed number would no longer match the shop's own.
"""

from __future__ import annotations

import re

from libs.common.errors import PermanentError

__all__ = ["MAX_LENGTH", "article_number"]

MAX_LENGTH = 50
_ALLOWED = re.compile(r"[A-Za-z0-9\-+/._]")


def article_number(sku: str, *, product: str) -> str:
    """The ArticleNumber of a SKU. `product` names the product in the error ("T-shirt (product 500)")."""
    sku = sku.strip()
    if not sku:
        raise PermanentError(
            f"{product} has no SKU: give it a SKU in WooCommerce (it becomes the Fortnox ArticleNumber), "
            "or allow free-text rows in the shop's settings (documents.allow_free_text_rows)",
            code="missing-sku",
        )
    if len(sku) > MAX_LENGTH:
        raise PermanentError(
            f"{product} has SKU {sku!r} of {len(sku)} characters: a Fortnox ArticleNumber holds at most "
            f"{MAX_LENGTH}",
            code="invalid-sku",
        )
    bad = sorted({c for c in sku if not _ALLOWED.fullmatch(c)})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise PermanentError(
            f"{product} has SKU {sku!r} with characters Fortnox ArticleNumbers do not take ({shown}): "
            "use letters, digits and - + / . _ only",
            code="invalid-sku",
        )
    return sku
