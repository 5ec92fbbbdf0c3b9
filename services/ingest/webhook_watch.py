"""Watch a shop's webhooks through the REST API and re-activate the ones WooCommerce disabled.

WooCommerce disables a webhook on its 7th consecutive failed delivery and never queues what happens
while it is disabled (WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php). Real
WooCommerce 10 keeps the webhook's `failure_count` when it is set active again and sends no ping,
and its REST API neither shows nor resets the count: only a successful delivery resets it. So a
webhook re-activated while woonox's endpoint is still down is disabled again by its very next
delivery (the real shop did exactly that to three webhooks within a minute).

Hence: re-activate only once the webhook's own delivery URL answers (an activation-ping-shaped
request, which ingest answers 200 without side effects), and tell the operator that the count is
kept until the next successful delivery. The caller then runs a backfill for what was lost in
between, and the event is reported (log + metric + audit) so an operator can look for the cause.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import structlog

from libs.common import metrics
from libs.common.outbound import guarded_client
from libs.common.woo import WooClient

__all__ = ["KEPT_COUNT", "endpoint_answers", "reactivate_disabled"]

log = structlog.get_logger("woonox.ingest.webhook_watch")
KEPT_COUNT = ("WooCommerce keeps the webhook's failure count until a delivery succeeds (its REST API cannot "
              "reset it): one more failed delivery disables it again")


def _ours(hook: dict[str, Any], tenant: str) -> bool:
    return f"/webhooks/woocommerce/{tenant}" in str(hook.get("delivery_url", ""))


Report = Callable[[str, dict[str, Any]], Awaitable[None]]
Probe = Callable[[dict[str, Any]], Awaitable[bool]]


async def endpoint_answers(hook: dict[str, Any], http: httpx.AsyncClient | None = None) -> bool:
    """Does the webhook's delivery URL answer now? Sent like WooCommerce's activation ping (form body
    `webhook_id=N`, no X-WC-Webhook-* headers), which ingest answers 200 and publishes nothing.
    The URL is whatever the shop reports, so the client is a guarded one: an internal address is
    refused at connect and counts as "does not answer"."""
    client = http or guarded_client(timeout=5)
    try:
        response = await client.post(str(hook.get("delivery_url")), content=f"webhook_id={hook.get('id')}".encode(),
                                     headers={"content-type": "application/x-www-form-urlencoded"},
                                     follow_redirects=False, timeout=5)
        return response.status_code == 200
    except httpx.HTTPError:
        return False
    finally:
        if http is None:
            await client.aclose()


async def reactivate_disabled(tenant: str, woo: WooClient, report: Report | None = None,
                              probe: Probe | None = None) -> list[dict[str, Any]]:
    """Re-activate this tenant's disabled webhooks that point at woonox and whose endpoint answers;
    returns the ones touched. `report(tenant, hook)` records each one where operators look (the
    poller writes the audit log)."""
    touched: list[dict[str, Any]] = []
    answers = probe or endpoint_answers
    for hook in await woo.webhooks():
        if hook.get("status") != "disabled" or not _ours(hook, tenant):
            continue
        if not await answers(hook):
            log.warning("webhook_left_disabled", tenant=tenant, webhook_id=hook["id"], topic=hook.get("topic"),
                        reason="its delivery URL does not answer yet; re-activating now would only get it "
                               "disabled again", delivery_url=hook.get("delivery_url"))
            continue
        await woo.update_webhook(int(hook["id"]), {"status": "active"})
        metrics.WEBHOOKS_REACTIVATED.labels(tenant).inc()
        log.warning("webhook_reactivated", tenant=tenant, webhook_id=hook["id"], topic=hook.get("topic"),
                    reason="WooCommerce disabled it after consecutive failed deliveries", note=KEPT_COUNT)
        if report is not None:
            await report(tenant, hook)
        touched.append(hook)
    return touched
