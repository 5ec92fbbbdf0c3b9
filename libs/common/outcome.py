"""The one place that decides what happens to a consumed message.

Handlers take an `Envelope` and raise to signal failure; `Outcome.run` turns that into:

    returned normally        -> ack
    PermanentError           -> copy to <queue>.dlq with the reason in headers, then ack
    ValidationError          -> same (bad data never gets better by waiting)
    TransientError / other   -> copy to the next <queue>.retry.<n> delay queue, then ack;
                                after `max_attempts`, dead-letter with "gave up after N attempts"
    Busy                     -> the same, after its short delay, without spending an attempt;
                                after `max_busy` of those, dead-letter with "still busy after N tries"
    publish of that copy fails -> the exception escapes, FastStream nacks with requeue, and the
                                quorum queue's delivery limit keeps that from looping forever

The copy is published with confirms *before* the ack, so a crash in between duplicates at worst
and never loses (the writer is idempotent).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from libs.common import metrics
from libs.common.envelope import Envelope
from libs.common.errors import Busy, PermanentError, TransientError, WoonoxError
from libs.common.publisher import Publisher
from libs.common.topology import RETURN_HEADER, ConsumerGroup

__all__ = ["DEAD_LETTER_HEADERS", "Handler", "Outcome"]

Handler = Callable[[Envelope], Awaitable[None]]

H_ATTEMPT = "x-attempt"
H_BUSY = "x-busy"  # retries because another worker held the object (not attempts)
H_REASON = "x-death-reason"
H_CODE = "x-death-code"
H_KIND = "x-death-kind"
H_QUEUE = "x-death-queue"
H_AT = "x-death-at"
H_ROUTING_KEY = "x-routing-key"
H_LAST_ERROR = "x-last-error"
DEAD_LETTER_HEADERS = (H_REASON, H_CODE, H_KIND, H_QUEUE, H_AT, H_ATTEMPT, H_ROUTING_KEY)

log = structlog.get_logger("woonox.outcome")


def _count(headers: dict[str, Any], name: str) -> int:
    value = headers.get(name, 0)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0


def _attempts(headers: dict[str, Any]) -> int:
    return _count(headers, H_ATTEMPT)


def _clip(text: str, limit: int = 1000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Outcome:
    def __init__(self, publisher: Publisher, group: ConsumerGroup, queue: str | None = None) -> None:
        self.publisher = publisher
        self.group = group
        self.dlq_key = publisher.topology.queue(group)
        self.queue = queue or self.dlq_key  # the queue consumed from: where retries return to

    async def run(self, message: AbstractIncomingMessage, handler: Handler) -> None:
        started = time.perf_counter()
        mtype = message.type or "unknown"
        tenant = str((message.headers or {}).get("x-tenant", ""))
        structlog.contextvars.bind_contextvars(
            message_id=message.message_id, tenant=tenant, correlation_id=message.correlation_id, type=mtype
        )
        try:
            envelope = Envelope.from_amqp(
                body=message.body,
                headers=message.headers,
                message_id=message.message_id,
                type=message.type,
                correlation_id=message.correlation_id,
                timestamp=message.timestamp,
            )
            envelope.check_version()
            await handler(envelope)
            outcome = "ok"
        except PermanentError as exc:
            await self.dead_letter(message, exc.reason, exc.code, kind="permanent")
            outcome = "dead-lettered"
        except ValidationError as exc:
            await self.dead_letter(message, f"invalid message: {exc}", "validation", kind="permanent")
            outcome = "dead-lettered"
        except TransientError as exc:
            outcome = await self.retry(message, exc)
        except Exception as exc:  # a bug or an untranslated library error: retry, bounded
            log.exception("handler_crashed")
            outcome = await self.retry(message, TransientError(f"unexpected {type(exc).__name__}: {exc}"))
        finally:
            structlog.contextvars.unbind_contextvars("message_id", "tenant", "correlation_id", "type")
        metrics.MESSAGES_CONSUMED.labels(self.group.name, mtype, tenant, outcome).inc()
        metrics.PROCESSING_SECONDS.labels(self.group.name, mtype).observe(time.perf_counter() - started)

    async def retry(self, message: AbstractIncomingMessage, exc: WoonoxError) -> str:
        headers = dict(message.headers or {})
        if isinstance(exc, Busy):
            # Contention, not failure: the attempt count (and so the backoff) stays where it was.
            attempt = _attempts(headers)
            busy = _count(headers, H_BUSY) + 1
            if busy > self.group.max_busy:
                await self.dead_letter(
                    message, f"still busy after {busy} tries: {exc.reason}", exc.code, kind="exhausted",
                    attempts=attempt,
                )
                return "dead-lettered"
            headers[H_BUSY] = busy
            level = 0
        else:
            attempt = _attempts(headers) + 1
            if attempt >= self.group.max_attempts:
                await self.dead_letter(
                    message, f"gave up after {attempt} attempts: {exc.reason}", exc.code, kind="exhausted",
                    attempts=attempt,
                )
                return "dead-lettered"
            level = min(attempt - 1, len(self.group.retry_delays) - 1)
        delay_hint = getattr(exc, "delay", None)
        if delay_hint:
            # Never retry sooner than the error asked for (e.g. a tenant's token is being refreshed).
            while level < len(self.group.retry_delays) - 1 and self.group.retry_delays[level] < delay_hint:
                level += 1
        headers.update({H_ATTEMPT: attempt, H_LAST_ERROR: _clip(str(exc)), RETURN_HEADER: self.queue})
        headers.setdefault(H_ROUTING_KEY, message.routing_key or "")
        await self.publisher.publish_raw(
            body=message.body,
            exchange="",
            routing_key=self.publisher.topology.retry_queue(self.group, level),
            headers=headers,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            message_type=message.type,
            timestamp=message.timestamp,
        )
        log.warning("retry_scheduled", attempt=attempt, busy=headers.get(H_BUSY, 0),
                    delay=self.group.retry_delays[level], error=str(exc))
        return "retried"

    async def dead_letter(
        self,
        message: AbstractIncomingMessage,
        reason: str,
        code: str | None,
        *,
        kind: str,
        attempts: int | None = None,
    ) -> None:
        headers: dict[str, Any] = dict(message.headers or {})
        headers.update(
            {
                H_REASON: _clip(reason),
                H_CODE: code or "",
                H_KIND: kind,
                H_QUEUE: self.queue,
                H_AT: datetime.now(UTC).isoformat(),
                H_ATTEMPT: attempts if attempts is not None else _attempts(headers) + 1,
            }
        )
        headers.setdefault(H_ROUTING_KEY, message.routing_key or "")
        await self.publisher.publish_raw(
            body=message.body,
            exchange=self.publisher.topology.dlx,
            routing_key=self.dlq_key,
            headers=headers,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            message_type=message.type,
            timestamp=message.timestamp,
        )
        tenant = str((message.headers or {}).get("x-tenant", ""))
        metrics.DEAD_LETTERED.labels(self.group.name, message.type or "unknown", tenant, code or kind).inc()
        log.error("dead_lettered", reason=reason, code=code, kind=kind)
