"""Backfill: read what changed in a shop since the cursor and publish it like a webhook would.

Webhooks lose data (never retried, merged, disabled after failures, none for guests: WooCommerce
source, plugins/woocommerce/includes/class-wc-webhook.php), so this is the path that makes ingest
complete. Safe at any time and alongside webhooks: a snapshot already published (same tenant,
resource, id, modified time and content: libs/common/woo/edge_keys.py) has the same event id and is
skipped by the edge dedup; anything published twice converges downstream.

Per resource, pages come oldest first; a page is published with many confirms in flight, and only
when the whole page is confirmed does the cursor move to its newest modified time.

A shop's REST answers are as untrusted as its webhooks, so every item passes the webhook's checks
before it is published (issue 16): at most 2 MiB, the hostile-body guard (nesting, non-finite or
out-of-range numbers) and `classify`. A refused item is logged with its reason and listed in the
report; the items around it are published and the cursor moves past it (it stays wrong when read
again).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import structlog

from libs.common.envelope import Envelope
from libs.common.publisher import Publisher
from libs.common.woo import WooClient
from services.ingest import body_guard
from services.ingest.cursors import CursorStore, parse_gmt
from services.ingest.dedup import EdgeDedup
from services.ingest.delivery import IGNORED_ORDER_STATUSES, Decision, Rejection, classify, event_id
from services.ingest.refund_details import with_refund_details

__all__ = ["MAX_ITEM_BYTES", "Backfill", "BackfillReport", "RefusedItem"]

log = structlog.get_logger("woonox.ingest.backfill")
Progress = Callable[[str, int, int], None]  # (resource, done, total)
MAX_ITEM_BYTES = 2 * 1024 * 1024  # a webhook body's limit (IngestSettings.max_body_bytes)
Outcome = Literal["published", "skipped", "refused"]


@dataclass(frozen=True)
class RefusedItem:
    resource: str
    object_id: object
    error: str
    reason: str


class _Refused(Exception):
    def __init__(self, error: str, reason: str) -> None:
        super().__init__(reason)
        self.error, self.reason = error, reason


@dataclass
class BackfillReport:
    tenant: str
    published: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    refused: list[RefusedItem] = field(default_factory=list)

    def add(self, resource: str, published: int, skipped: int) -> None:
        self.published[resource] = self.published.get(resource, 0) + published
        self.skipped[resource] = self.skipped.get(resource, 0) + skipped


def _encoded(item: dict[str, Any], max_bytes: int) -> bytes:
    """The item as it is published, or `_Refused` with the webhook's error code and reason."""
    try:
        body = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
    except RecursionError:
        raise _Refused("hostile-body", "JSON nested too deep") from None
    except (TypeError, ValueError) as exc:
        raise _Refused("bad-json", f"cannot be written as JSON: {exc}") from None
    if len(body) > max_bytes:
        raise _Refused("body-too-large", f"item is {len(body)} bytes, more than the {max_bytes} a webhook may carry")
    try:
        body_guard.check(body)
    except body_guard.HostileBody as exc:
        raise _Refused("hostile-body", str(exc)) from None
    return body


def _admit(tenant: str, resource: str, event: str, item: dict[str, Any],
          max_bytes: int = MAX_ITEM_BYTES) -> Decision:
    """The webhook's checks on one item (its snapshot: `{"id": N}` for a deletion), or `_Refused`."""
    body = _encoded(item, max_bytes)
    try:
        return classify(tenant, f"{resource}.{event}", body)
    except Rejection as rejection:
        raise _Refused(rejection.error, rejection.reason) from None


@dataclass
class Backfill:
    publisher: Publisher
    cursors: CursorStore
    dedup: EdgeDedup | None
    overlap: timedelta = timedelta(minutes=2)
    first_lookback: timedelta = timedelta(hours=24)
    max_item_bytes: int = MAX_ITEM_BYTES

    async def _since(self, tenant: str, name: str, since: datetime | None) -> datetime:
        if since is not None:
            return since
        stored = await self.cursors.get(tenant, name)
        if stored is None:
            return datetime.now(UTC) - self.first_lookback
        return parse_gmt(stored) - self.overlap

    def _refuse(self, tenant: str, resource: str, item: dict[str, Any], refused: _Refused,
                report: BackfillReport) -> Outcome:
        object_id = item.get("id") if isinstance(item, dict) else None
        report.refused.append(RefusedItem(resource, object_id, refused.error, refused.reason))
        log.warning("backfill_item_refused", tenant=tenant, resource=resource, object_id=str(object_id)[:40],
                    error=refused.error, reason=refused.reason)
        return "refused"

    async def _publish(self, tenant: str, resource: str, event: str, item: dict[str, Any], run: str,
                       woo: WooClient, report: BackfillReport) -> Outcome:
        snapshot = {"id": item.get("id")} if event == "deleted" else item
        try:
            decision = _admit(tenant, resource, event, snapshot, self.max_item_bytes)
        except _Refused as refused:
            return self._refuse(tenant, resource, item, refused, report)
        if decision.action == "ignore":
            return "skipped"
        if decision.object_id is None:  # shaped like a REST error: names no object
            return self._refuse(tenant, resource, item, _Refused("invalid-body", decision.reason), report)
        # A deletion read from the trash listing keeps the trashed object's stamp, so trash -> restore
        # -> trash are two events (delivery.event_id); its body stays the webhook's `{"id": N}`.
        modified = item.get("date_modified_gmt") if event == "deleted" else decision.modified
        eid = event_id(tenant, resource, decision.object_id, modified, snapshot, event)
        if self.dedup is not None and not await self.dedup.claim(eid):
            return "skipped"
        try:
            if resource == "order" and event != "deleted":
                snapshot = await with_refund_details(woo, snapshot)
            body = _encoded(snapshot, self.max_item_bytes)  # the refunds read are the shop's answer too
        except _Refused as refused:
            if self.dedup is not None:
                await self.dedup.release(eid)
            return self._refuse(tenant, resource, item, refused, report)
        except BaseException:
            if self.dedup is not None:
                await self.dedup.release(eid)
            raise
        envelope = Envelope(id=eid, tenant=tenant, type=f"woo.{resource}.{event}", occurred_at=datetime.now(UTC),
                            correlation_id=run, body=body)
        try:
            await self.publisher.publish(envelope)
        except BaseException:
            if self.dedup is not None:
                await self.dedup.release(eid)
            raise
        if self.dedup is not None:
            await self.dedup.confirm(eid)
        return "published"

    async def _page(self, tenant: str, resource: str, event: str, items: list[dict[str, Any]], run: str,
                    report: BackfillReport, woo: WooClient) -> None:
        wanted = [i for i in items if not (resource == "order" and isinstance(i, dict)
                                           and i.get("status") in IGNORED_ORDER_STATUSES)]
        outcomes = await asyncio.gather(*(self._publish(tenant, resource, event, i, run, woo, report)
                                          for i in wanted))
        published = outcomes.count("published")
        report.add(resource, published, len(items) - published - outcomes.count("refused"))

    async def _advance(self, tenant: str, name: str, items: list[dict[str, Any]]) -> None:
        stamps = [str(i["date_modified_gmt"]) for i in items if isinstance(i, dict) and i.get("date_modified_gmt")]
        if stamps:
            await self.cursors.advance(tenant, name, max(stamps))

    async def run(self, tenant: str, woo: WooClient, *, since: datetime | None = None,
                  progress: Progress | None = None) -> BackfillReport:
        run = f"backfill:{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
        report = BackfillReport(tenant)
        done: dict[str, int] = {}

        async def pages(name: str, resource: str, event: str, source: Any) -> None:
            read = 0
            async for page in source:
                await self._page(tenant, resource, event, page.items, run, report, woo)
                await self._advance(tenant, name, page.items)
                read += len(page.items)
                done[resource] = done.get(resource, 0) + len(page.items)
                if progress:
                    progress(resource, done[resource], done[resource] - read + page.total)

        orders_since = await self._since(tenant, "woo.orders", since)
        await pages("woo.orders", "order", "updated", woo.modified_since("orders", orders_since))
        # Trashed orders leave the default listing; their `deleted` webhook may have been lost too.
        trash_since = await self._since(tenant, "woo.orders.trash", since)
        await pages("woo.orders.trash", "order", "deleted", woo.modified_since("orders", trash_since, status="trash"))
        products_since = await self._since(tenant, "woo.products", since)
        await pages("woo.products", "product", "updated", woo.modified_since("products", products_since))
        await self._variations(tenant, woo, await self._since(tenant, "woo.variations", since), run, report)
        customers_since = await self._since(tenant, "woo.customers", since)
        async for changed in woo.customers_modified_since(customers_since):
            await self._page(tenant, "customer", "updated", changed, run, report, woo)
            await self._advance(tenant, "woo.customers", changed)
            done["customer"] = done.get("customer", 0) + len(changed)
            if progress:
                progress("customer", done["customer"], done["customer"])
        log.info("backfill_done", tenant=tenant, published=report.published, skipped=report.skipped,
                 refused=len(report.refused))
        return report

    async def _variations(self, tenant: str, woo: WooClient, since: datetime, run: str,
                          report: BackfillReport) -> None:
        """Variations are not in `/products`, and changing one need not touch its parent: walk the
        variable products and ask each for its variations modified since the cursor."""
        # Pages of different parents are not in one modified order: the cursor moves once, at the end.
        seen: list[dict[str, Any]] = []
        async for parents in woo.pages("/products", type="variable"):
            for parent in parents.items:
                async for page in woo.modified_since(f"products/{parent['id']}/variations", since):
                    await self._page(tenant, "product", "updated", page.items, run, report, woo)
                    seen += [{"date_modified_gmt": i.get("date_modified_gmt")} for i in page.items]
        await self._advance(tenant, "woo.variations", seen)
