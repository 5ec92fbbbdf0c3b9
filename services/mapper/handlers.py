"""The mapper's message handlers: one function per message type, thin.

Each reads the payload, gets the tenant's settings, calls a pure domain function and publishes the
resulting command with a deterministic id (a replayed event makes the same command id) and the
incoming correlation id. Failures are raised (libs.common.outcome decides retry or dead letter).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from libs.common.commands import (
    COMMAND_ARTICLE,
    COMMAND_CUSTOMER,
    COMMAND_DOCUMENT,
    COMMAND_STOCK,
    ArticleCommand,
    CustomerCommand,
    DocumentCommand,
    StockCommand,
)
from libs.common.envelope import Envelope, deterministic_id
from libs.common.errors import PermanentError
from libs.common.publisher import Publisher
from services.mapper.articles import article_command, stock_command
from services.mapper.customers import woo_customer_command
from services.mapper.orders import ignore_reason, order_command
from services.mapper.shop_settings_cache import ShopSettingsCache

__all__ = ["MapperHandlers"]

log = structlog.get_logger("woonox.mapper")

Command = ArticleCommand | CustomerCommand | DocumentCommand | StockCommand


def _object(envelope: Envelope) -> dict[str, Any]:
    payload = envelope.payload()
    if not isinstance(payload, dict):
        raise PermanentError(f"{envelope.type} payload is not a JSON object", code="bad-payload")
    if "code" in payload and "id" not in payload:
        # A signed REST error instead of a resource (WooCommerce source,
        # plugins/woocommerce/includes/class-wc-webhook.php).
        raise PermanentError(f"WooCommerce sent an error, not a resource: {payload.get('code')}", code="woo-error")
    return payload


class MapperHandlers:
    def __init__(self, publisher: Publisher, settings: ShopSettingsCache) -> None:
        self.publisher = publisher
        self.settings = settings
        self.routes: dict[str, Callable[[Envelope], Awaitable[None]]] = {
            "woo.order.created": self.order,
            "woo.order.updated": self.order,
            "woo.order.restored": self.order,
            "woo.order.deleted": self.ignored,
            "woo.product.created": self.product,
            "woo.product.updated": self.product,
            "woo.product.restored": self.product,
            "woo.product.deleted": self.ignored,
            "woo.customer.created": self.customer,
            "woo.customer.updated": self.customer,
            "woo.customer.deleted": self.ignored,
            "fortnox.article.changed": self.article_changed,
        }

    async def __call__(self, envelope: Envelope) -> None:
        handler = self.routes.get(envelope.type)
        if handler is None:
            raise PermanentError(f"the mapper does not handle {envelope.type!r}", code="unknown-type")
        try:
            await handler(envelope)
        except ArithmeticError as exc:
            # decimal.InvalidOperation, Overflow and the like come from the body's numbers, which a
            # retry cannot change: dead-letter at once rather than after eight retries (issue 16).
            raise PermanentError(f"{envelope.type} has an amount that cannot be computed: {exc!r}",
                                 code="bad-amount") from exc

    async def _publish(self, source: Envelope, mtype: str, command: Command, *id_parts: object) -> None:
        await self.publisher.publish(Envelope(
            id=deterministic_id(*id_parts), tenant=source.tenant, type=mtype, occurred_at=source.occurred_at,
            correlation_id=source.correlation_id or source.id, body=command.to_body(),
        ))

    async def ignored(self, envelope: Envelope) -> None:
        # `*.deleted` means moved to trash and carries only the id (WooCommerce source,
        # plugins/woocommerce/includes/class-wc-webhook.php): nothing to book.
        log.info("ignored", reason="deleted (trash) needs no Fortnox change")

    async def order(self, envelope: Envelope) -> None:
        order = _object(envelope)
        settings = await self.settings.get(envelope.tenant)
        reason = ignore_reason(order, settings)
        if reason:
            log.info("ignored", order=order.get("id"), reason=reason)
            return
        command = order_command(envelope.tenant, order, settings)
        await self._publish(envelope, COMMAND_DOCUMENT, command,
                            envelope.tenant, order["id"], order.get("date_modified_gmt"))

    async def product(self, envelope: Envelope) -> None:
        product = _object(envelope)
        settings = await self.settings.get(envelope.tenant)
        command = article_command(envelope.tenant, product, settings)
        if command is None:
            log.info("ignored", product=product.get("id"), reason="not synced to Fortnox")
            return
        await self._publish(envelope, COMMAND_ARTICLE, command,
                            envelope.tenant, "product", product.get("id"), product.get("date_modified_gmt"))

    async def customer(self, envelope: Envelope) -> None:
        customer = _object(envelope)
        settings = await self.settings.get(envelope.tenant)
        command = woo_customer_command(envelope.tenant, customer, settings)
        await self._publish(envelope, COMMAND_CUSTOMER, command,
                            envelope.tenant, "customer", customer.get("id"), customer.get("date_modified_gmt"))

    async def article_changed(self, envelope: Envelope) -> None:
        payload = envelope.payload()
        if not isinstance(payload, dict):
            raise PermanentError("fortnox.article.changed payload is not a JSON object", code="bad-payload")
        settings = await self.settings.get(envelope.tenant)
        command = stock_command(envelope.tenant, payload, settings)
        if command is None:
            log.info("ignored", reason="reverse sync is off in the shop's settings")
            return
        await self._publish(envelope, COMMAND_STOCK, command, envelope.tenant, "stock", envelope.id)
