"""Watch a shop's webhooks through the REST API and re-activate the ones WooCommerce disabled.

WooCommerce disables a webhook on its 7th consecutive failed delivery and never queues what happens
while it is disabled (WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php). Re-activating
it (which also sends the ping)
restores the hints; the caller then runs a backfill for what was lost in between, and the event is
reported (log + metric) so an operator can look for the cause.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from libs.common import metrics
from libs.common.woo import WooClient

__all__ = ["reactivate_disabled"]

log = structlog.get_logger("woonox.ingest.webhook_watch")


def _ours(hook: dict[str, Any], tenant: str) -> bool:
    return f"/webhooks/woocommerce/{tenant}" in str(hook.get("delivery_url", ""))


Report = Callable[[str, dict[str, Any]], Awaitable[None]]


async def reactivate_disabled(tenant: str, woo: WooClient, report: Report | None = None) -> list[dict[str, Any]]:
    """Re-activate this tenant's disabled webhooks that point at woonox; returns the ones touched.
    `report(tenant, hook)` records each one where operators look (the poller writes the audit log)."""
    touched: list[dict[str, Any]] = []
    for hook in await woo.webhooks():
        if hook.get("status") == "disabled" and _ours(hook, tenant):
            await woo.update_webhook(int(hook["id"]), {"status": "active"})
            metrics.WEBHOOKS_REACTIVATED.labels(tenant).inc()
            log.warning("webhook_reactivated", tenant=tenant, webhook_id=hook["id"], topic=hook.get("topic"),
                        reason="WooCommerce disabled it after consecutive failed deliveries")
            if report is not None:
                await report(tenant, hook)
            touched.append(hook)
    return touched
