"""Issue 16: backfilled items pass the webhook's checks (2 MiB, the hostile-body guard, `classify`).
A refused item is logged and reported with its reason; the good items around it are published and
the cursor moves past it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from structlog.testing import capture_logs

from libs.common.envelope import Envelope
from libs.common.woo.paging import Page
from services.ingest.backfill import MAX_ITEM_BYTES, Backfill
from services.ingest.delivery import classify

STAMP = "2026-12-01T10:00:0{}"


def _product(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": n, "type": "simple", "date_modified_gmt": STAMP.format(n), **extra}


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


PRODUCTS = [
    _product(1),
    _product(2, price=float("nan")),                                   # non-finite number
    _product(3, description="x" * (MAX_ITEM_BYTES + 1)),               # past the webhook's 2 MiB
    _product(4, stock_quantity=10**20),                                # past any quantity
    _product(5, meta_data=_nested(5000)),                              # nested past any resource
    {"id": 6, "date_modified_gmt": STAMP.format(6)},                   # no type: classify refuses it
    {"code": "woocommerce_rest_cannot_view", "message": "no"},         # a REST error, not an object
    _product(7),
]


class _Shop:
    async def modified_since(self, resource: str, since: datetime, **params: Any) -> AsyncIterator[Page]:
        if resource == "products":
            yield Page(items=PRODUCTS, page=1, total=len(PRODUCTS), total_pages=1)

    async def pages(self, path: str, **params: Any) -> AsyncIterator[Page]:
        return
        yield

    async def customers_modified_since(self, since: datetime) -> AsyncIterator[list[dict[str, Any]]]:
        yield [{"id": 8, "email": "a@example.com", "date_modified_gmt": STAMP.format(8)},
               {"id": -1, "email": "[/b]"}]


class _Cursors:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, tenant: str, name: str) -> str | None:
        return self.values.get(name)

    async def advance(self, tenant: str, name: str, value: str) -> None:
        self.values[name] = max(value, self.values.get(name, ""))


class _Publisher:
    def __init__(self) -> None:
        self.sent: list[Envelope] = []

    async def publish(self, envelope: Envelope) -> None:
        self.sent.append(envelope)


async def test_refused_items_are_reported_and_the_good_ones_around_them_published() -> None:
    publisher, cursors = _Publisher(), _Cursors()
    job = Backfill(publisher, cursors, None)  # type: ignore[arg-type]
    with capture_logs() as logs:
        report = await job.run("shop", _Shop(), since=datetime(2026, 11, 1, tzinfo=UTC))  # type: ignore[arg-type]

    assert [(e.type, json.loads(e.body)["id"]) for e in publisher.sent] == [
        ("woo.product.updated", 1), ("woo.product.updated", 7), ("woo.customer.updated", 8)]
    # Same ids as the webhooks of the same snapshots.
    assert publisher.sent[0].id == classify("shop", "product.updated", publisher.sent[0].body).event_id
    refused = {(r.resource, r.object_id): r.error for r in report.refused}
    assert refused == {("product", 2): "hostile-body", ("product", 3): "body-too-large",
                       ("product", 4): "hostile-body", ("product", 5): "hostile-body",
                       ("product", 6): "invalid-body", ("product", None): "invalid-body",
                       ("customer", -1): "invalid-body"}
    assert all(r.reason for r in report.refused)
    warned = [e for e in logs if e["event"] == "backfill_item_refused"]
    assert len(warned) == len(report.refused) and all(e["reason"] and e["error"] for e in warned)
    assert (report.published, report.skipped) == ({"product": 2, "customer": 1}, {"product": 0, "customer": 0})
    assert cursors.values["woo.products"] == STAMP.format(7)  # moved past the refused items
