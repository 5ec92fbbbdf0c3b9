"""`POST /webhooks/woocommerce/{tenant}`: the hot path.

Order of work: tenant (401, the same answer as a bad signature) -> size (413) -> ping (200) ->
signature on the raw body (401) -> hostile body (400) -> topic and body (400) ->
edge dedup -> confirmed publish (503 if the broker cannot confirm) -> 202.
It is a plain Starlette endpoint, not a FastAPI route: FastAPI's per-request machinery costs about as
much as the HMAC and the publish together (docs/benchmarks.md). The raw body is
published unchanged. Nothing is published for any 4xx.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

from libs.common import metrics
from libs.common.envelope import Envelope
from libs.common.errors import TransientError, WoonoxError
from libs.common.publisher import Publisher
from libs.common.woo.edge_keys import echo_key
from services.ingest import body_guard
from services.ingest.dedup import EdgeDedup
from services.ingest.delivery import Decision, Rejection, classify
from services.ingest.poll_signal import request_poll
from services.ingest.signature import verify
from services.ingest.tenant_cache import TenantCache
from services.ingest.ties import is_tie, want_reread

__all__ = ["WebhookReceiver"]

log = structlog.get_logger("woonox.ingest.webhooks")
_ACCEPTED = b'{"status":"accepted"}'


def _answer(status: int, payload: dict[str, str]) -> Response:
    metrics.WEBHOOKS.labels(str(status)).inc()
    return Response(json.dumps(payload).encode(), status, media_type="application/json")


def _error(status: int, error: str, reason: str) -> Response:
    return _answer(status, {"error": error, "reason": reason})


def _unauthorised() -> Response:
    return _error(401, "bad-signature", "X-WC-Webhook-Signature does not match the body for this address")


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class WebhookReceiver:
    def __init__(self, *, tenants: TenantCache, publisher: Publisher, dedup: EdgeDedup | None,
                 redis: aioredis.Redis | None, redis_prefix: str, max_body_bytes: int) -> None:
        self.tenants = tenants
        self.publisher = publisher
        self.dedup = dedup
        self.redis = redis
        self.redis_prefix = redis_prefix
        self.max_body_bytes = max_body_bytes

    async def handle(self, request: Request) -> Response:
        tenant_id: str = request.path_params["tenant"]
        try:
            tenant = await self.tenants.get(tenant_id)
        except (OSError, SQLAlchemyError, WoonoxError) as exc:
            # The store of record is down (or a stored secret cannot be decrypted): say so. WooCommerce
            # will not retry; the backfill recovers the change once the cause is fixed.
            log.error("tenant_lookup_failed", tenant=tenant_id, error=str(exc))
            return _error(503, "store-unavailable", "the tenant's record cannot be read; the backfill will recover")
        if tenant is None:
            # The same answer as a bad signature: the answer must not tell which tenant ids exist.
            return _unauthorised()
        try:
            body = await _read_body(request, self.max_body_bytes)
        except _TooLarge:
            return _error(413, "body-too-large", f"body exceeds {self.max_body_bytes} bytes")
        headers = request.headers
        signature = headers.get("x-wc-webhook-signature")
        topic = headers.get("x-wc-webhook-topic")
        if signature is None and topic is None and body.startswith(b"webhook_id="):
            # The activation ping: form body, no X-WC-Webhook-* headers; only an exact 200 counts.
            return _answer(200, {"status": "pong"})
        if not verify(body, tenant.secret, signature):
            return _unauthorised()
        try:
            body_guard.check(body)
        except body_guard.HostileBody as exc:
            return _error(400, "hostile-body", str(exc))
        delivery_id = headers.get("x-wc-webhook-delivery-id")
        try:
            decision = classify(tenant.id, topic, body)
        except Rejection as rejection:
            return _error(rejection.status, rejection.error, rejection.reason)
        if decision.action == "ignore":
            return _answer(200, {"status": "ignored", "reason": decision.reason})
        if decision.action == "poll":
            return await self._poll(tenant.id, decision)
        return await self._publish(tenant.id, decision, body, delivery_id)

    async def _poll(self, tenant_id: str, decision: Decision) -> Response:
        if self.redis is None:
            return _error(503, "poll-unavailable", "cannot schedule a poll: no Redis configured")
        try:
            await request_poll(self.redis, self.redis_prefix, tenant_id)
        except (RedisError, OSError) as exc:
            log.error("poll_request_failed", tenant=tenant_id, error=str(exc))
            return _error(503, "poll-unavailable", "cannot schedule a poll of the shop; try again")
        log.warning("webhook_body_is_rest_error", tenant=tenant_id, reason=decision.reason)
        return _answer(202, {"status": "poll-scheduled", "reason": decision.reason})

    async def _reread_on_tie(self, tenant_id: str, decision: Decision) -> None:
        """A second snapshot with the same one-second stamp: have the poller re-read the object so the
        snapshot the writers keep is WooCommerce's current one (services/ingest/ties.py)."""
        if self.redis is None or not decision.modified or decision.object_id is None or decision.event == "deleted":
            return
        try:
            if await is_tie(self.redis, self.redis_prefix, tenant_id, decision.resource, decision.object_id,
                            decision.modified, decision.event_id):
                await want_reread(self.redis, self.redis_prefix, tenant_id, decision.resource, decision.object_id)
                await request_poll(self.redis, self.redis_prefix, tenant_id)
                log.info("same_second_snapshots", tenant=tenant_id, resource=decision.resource,
                         object_id=decision.object_id, modified=decision.modified)
        except (RedisError, OSError) as exc:  # the periodic backfill still re-reads
            log.warning("tie_check_failed", tenant=tenant_id, error=str(exc))

    async def _is_our_echo(self, tenant_id: str, decision: Decision) -> bool:
        """The product.updated WooCommerce sends for the woo-writer's own write, known by its content
        (libs/common/woo/edge_keys.py); the mark is used once. Without Redis it is published and
        converges downstream."""
        if decision.echo is None or self.redis is None:
            return False
        try:
            return bool(await self.redis.delete(echo_key(self.redis_prefix, tenant_id, decision.echo)))
        except (RedisError, OSError):
            return False

    async def _publish(self, tenant_id: str, decision: Decision, body: bytes, delivery_id: str | None) -> Response:
        if not self.publisher.connected:
            return _error(503, "broker-unavailable", "RabbitMQ is not reachable; the backfill will recover this change")
        if await self._is_our_echo(tenant_id, decision):
            return _answer(200, {"status": "duplicate", "reason": "the echo of woonox's own stock/price write"})
        if self.dedup is not None and not await self.dedup.claim(decision.event_id):
            return _answer(200, {"status": "duplicate"})
        envelope = Envelope(id=decision.event_id, tenant=tenant_id, type=decision.type,
                            occurred_at=datetime.now(UTC), correlation_id=delivery_id, body=body)
        try:
            await self.publisher.publish(envelope)
        except TransientError as exc:
            if self.dedup is not None:
                await self.dedup.release(decision.event_id)
            log.error("publish_failed", tenant=tenant_id, type=decision.type, error=str(exc))
            return _error(503, exc.code or "broker-unavailable", exc.reason)
        if self.dedup is not None:
            await self.dedup.confirm(decision.event_id)
        await self._reread_on_tie(tenant_id, decision)
        metrics.WEBHOOKS.labels("202").inc()
        return Response(_ACCEPTED, 202, media_type="application/json")
