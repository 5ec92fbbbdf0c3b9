"""One page of a WooCommerce list, with the totals WooCommerce sends in X-WP-Total / X-WP-TotalPages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["MAX_PER_PAGE", "Page"]

MAX_PER_PAGE = 100  # WooCommerce refuses per_page above 100 (../shared/woocommerce/FACTS.md)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    page: int
    total: int
    total_pages: int

    @property
    def last(self) -> bool:
        return self.page >= self.total_pages or not self.items

    @classmethod
    def from_response(cls, response: httpx.Response, page: int) -> Page:
        items = response.json()
        if not isinstance(items, list):
            items = []
        total = _int(response.headers.get("x-wp-total"), len(items))
        pages = _int(response.headers.get("x-wp-totalpages"), page)
        return cls(items=items, page=page, total=total, total_pages=pages)


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.strip().isdigit() else default
