"""One page of a WooCommerce list, with the totals WooCommerce sends in X-WP-Total / X-WP-TotalPages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from libs.common.errors import PermanentError

__all__ = ["MAX_PER_PAGE", "Page", "json_body"]

MAX_PER_PAGE = 100  # WooCommerce refuses per_page above 100 (WooCommerce REST API docs, https://woocommerce.github.io/woocommerce-rest-api-docs/#pagination)


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
        items = json_body(response)
        if not isinstance(items, list):
            items = []
        total = _int(response.headers.get("x-wp-total"), len(items))
        pages = _int(response.headers.get("x-wp-totalpages"), page)
        return cls(items=items, page=page, total=total, total_pages=pages)


def json_body(response: httpx.Response) -> Any:
    """The JSON body; a shop answering HTML (a maintenance page, a security plugin) is a clear error."""
    try:
        return response.json()
    except ValueError:
        raise PermanentError(
            f"WooCommerce answered {response.status_code} with a body that is not JSON "
            f"({response.headers.get('content-type', 'no content type')}): {response.text[:120]!r}",
            code="woo-not-json",
        ) from None


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.strip().isdigit() else default
