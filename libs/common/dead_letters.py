"""Reading, replaying and purging the dead-letter queues (`<queue>.dlq`, libs.common.topology).

Two kinds of dead letter land there:
- woonox's own (libs.common.outcome): the reason is in headers `x-death-reason`, `x-death-code`,
  `x-death-kind`, `x-death-queue`, `x-death-at`, `x-attempt`, `x-routing-key`;
- RabbitMQ's, when a message crashed its consumer `x-delivery-limit` times: those carry RabbitMQ's
  `x-death` table instead (reason `delivery_limit`, the queue it died in, when, how often).

A queue cannot be browsed in place, so reading takes messages *without* ack and gives back what it
did not ack with one `basic.nack` (requeue) before the channel closes (`list` never removes
anything). A nack, not a reject or a closed channel: RabbitMQ 4.3+ does not count a nack against the
delivery limit. Older versions count every return, so the DLQs carry an explicit, unreachable
`x-delivery-limit` (libs.common.topology, DLQ_DELIVERY_LIMIT): viewing never deletes a dead letter.
At most the queue's depth at the start is taken, so a replayed message that fails again during the
same run is not taken twice.

Replay republishes each chosen message to its original queue through the default exchange
(routing key = queue name) with publisher confirms, and acks it in the DLQ only after the confirm:
a crash in between leaves it in both places (a duplicate, which the consumers are idempotent
against), never in neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractQueue
from pydantic import BaseModel, Field

from libs.common.errors import TransientError
from libs.common.outcome import DEAD_LETTER_HEADERS, H_BUSY, H_LAST_ERROR
from libs.common.publisher import Publisher
from libs.common.topology import Topology

__all__ = ["DeadLetter", "DeadLetterFilter", "DeadLetters", "ReplayReport", "plain"]

# Headers dropped on replay: the death record (the message starts afresh, with all its retries)
# and RabbitMQ's own bookkeeping. Kept: x-tenant, x-schema, x-routing-key, everything else.
_DROP_ON_REPLAY = {*DEAD_LETTER_HEADERS, H_LAST_ERROR, H_BUSY, "x-death", "x-first-death-reason", "x-first-death-queue",
                   "x-first-death-exchange", "x-last-death-reason", "x-last-death-queue",
                   "x-last-death-exchange", "x-delivery-count"} - {"x-routing-key"}
H_REPLAYS = "x-replays"
MAX_PREFETCH = 60_000  # AMQP's prefetch count is a short; larger DLQs are worked in several runs
QUIET_SECONDS = 1.0
BATCH = 50  # confirms in flight at once (docs/benchmarks.md: never await each alone)


def plain(value: Any) -> Any:
    """AMQP header values as JSON-friendly Python: bytes decoded, tables and arrays walked."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def _parse_at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


class DeadLetter(BaseModel):
    """One dead letter as an operator sees it."""

    id: str
    dlq: str
    queue: str = Field(description="The queue it died in and is replayed to")
    tenant: str = ""
    type: str = ""
    reason: str = ""
    code: str = ""
    kind: str = Field("", description="permanent | exhausted | delivery-limit | rejected | ...")
    at: datetime | None = None
    attempts: int = 0
    replays: int = 0
    routing_key: str = ""
    correlation_id: str | None = None
    last_error: str = ""
    history: list[dict[str, Any]] = Field(default_factory=list, description="RabbitMQ's x-death records")
    headers: dict[str, Any] = Field(default_factory=dict)
    payload: Any = None
    size: int = 0

    @classmethod
    def from_message(cls, dlq: str, message: AbstractIncomingMessage) -> DeadLetter:
        h = plain(dict(message.headers or {}))
        history: list[dict[str, Any]] = [d for d in h.get("x-death", []) if isinstance(d, dict)]
        first = history[0] if history else {}
        if "x-death-reason" in h:
            reason, code = str(h["x-death-reason"]), str(h.get("x-death-code", ""))
            kind = str(h.get("x-death-kind", ""))
            queue, at = str(h.get("x-death-queue", "")), _parse_at(h.get("x-death-at"))
        else:
            native = str(first.get("reason", "unknown"))
            code, kind, queue = native, native.replace("_", "-"), str(first.get("queue", ""))
            reason = (f"crashed its consumer {h.get('x-delivery-count', 'too many')} times (delivery limit)"
                      if native == "delivery_limit" else f"dead-lettered by RabbitMQ: {native}")
            at = _parse_at(first.get("time"))
        try:
            payload: Any = json.loads(message.body)
        except ValueError:
            payload = message.body.decode("utf-8", errors="replace")
        attempts = h.get("x-attempt", 0)
        return cls(
            id=message.message_id or hashlib.sha256(message.body).hexdigest()[:32],
            dlq=dlq, queue=queue or dlq.removesuffix(".dlq"), tenant=str(h.get("x-tenant", "")),
            type=message.type or "", reason=reason, code=code, kind=kind, at=at,
            attempts=int(attempts) if str(attempts).isdigit() else 0,
            replays=int(h.get(H_REPLAYS, 0) or 0),
            routing_key=str(h.get("x-routing-key", "") or (first.get("routing-keys") or [""])[0]),
            correlation_id=message.correlation_id, last_error=str(h.get(H_LAST_ERROR, "")),
            history=history, headers=h, payload=payload, size=len(message.body),
        )


class DeadLetterFilter(BaseModel):
    """Which dead letters a command applies to; empty fields match everything."""

    tenant: str | None = None
    reason: str | None = Field(None, description="Case-insensitive substring of the reason or the code")
    code: str | None = None
    since: datetime | None = None
    group: str | None = Field(None, description="Consumer group (e.g. fortnox-writer) or its queue name")
    ids: frozenset[str] = frozenset()
    type: str | None = None

    def matches(self, d: DeadLetter) -> bool:
        if self.tenant is not None and d.tenant != self.tenant:
            return False
        if self.reason and self.reason.lower() not in f"{d.reason}\n{d.code}".lower():
            return False
        if self.code is not None and d.code != self.code:
            return False
        if self.since is not None:
            since = self.since if self.since.tzinfo else self.since.replace(tzinfo=UTC)
            if d.at is None or d.at < since:
                return False
        if self.ids and d.id not in self.ids:
            return False
        return self.type is None or d.type == self.type

    @property
    def empty(self) -> bool:
        return not any((self.tenant, self.reason, self.code, self.since, self.ids, self.type))


class ReplayReport(BaseModel):
    matched: int = 0
    replayed: int = 0
    dry_run: bool = False
    letters: list[DeadLetter] = Field(default_factory=list)


async def _take(channel: AbstractChannel, queue: AbstractQueue, count: int) -> list[AbstractIncomingMessage]:
    """Up to `count` messages, unacked, by a consumer (pushed: far faster than one basic.get each);
    stops at `count`, or when the queue has gone quiet (someone else took the rest)."""
    await channel.set_qos(prefetch_count=min(count, MAX_PREFETCH))
    taken: list[AbstractIncomingMessage] = []
    enough = asyncio.Event()
    last = asyncio.get_running_loop().time()

    async def collect(message: AbstractIncomingMessage) -> None:
        nonlocal last
        taken.append(message)
        last = asyncio.get_running_loop().time()
        if len(taken) >= count or len(taken) >= MAX_PREFETCH:
            enough.set()

    tag = await queue.consume(collect, no_ack=False)
    try:
        while not enough.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(enough.wait(), QUIET_SECONDS)
            if asyncio.get_running_loop().time() - last >= QUIET_SECONDS:
                break
    finally:
        await queue.cancel(tag)
    return taken


class DeadLetters:
    """The DLQs of one topology. Use as `async with DeadLetters(url, topology) as dl: ...`."""

    def __init__(self, url: str, topology: Topology) -> None:
        self._url = url
        self.topology = topology
        self._connection: AbstractConnection | None = None

    async def __aenter__(self) -> DeadLetters:
        try:
            self._connection = await aio_pika.connect(self._url)
        except (aiormq.exceptions.AMQPError, OSError, ConnectionError) as exc:
            raise TransientError(f"cannot reach RabbitMQ: {exc!r}", code="broker-unavailable") from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._connection is not None:
            await self._connection.close()

    def dlqs(self, group: str | None = None) -> list[str]:
        groups = [self.topology.group(group)] if group else list(self.topology.groups)
        return [self.topology.dlq(g) for g in groups]

    @contextlib.asynccontextmanager
    async def _taken(self, dlq: str) -> AsyncIterator[tuple[AbstractChannel, list[AbstractIncomingMessage]]]:
        """Every message now in `dlq`, taken unacked; whatever is not acked goes back on exit."""
        assert self._connection is not None, "use DeadLetters as an async context manager"
        channel = await self._connection.channel()
        try:
            try:
                queue = await channel.declare_queue(dlq, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                # Not declared yet (no service has started): nothing dead there.
                channel = await self._connection.channel()
                yield channel, []
                return
            count = int(queue.declaration_result.message_count or 0)
            taken = await _take(channel, queue, count) if count else []
            yield channel, taken
            left = [m for m in taken if not m.processed]
            if left and not channel.is_closed:
                # One nack for all of them; `multiple` leaves the acked ones alone.
                await max(left, key=lambda m: m.delivery_tag or 0).nack(multiple=True, requeue=True)
        finally:
            # Closing the channel returns whatever is still unacked (after an error above).
            await channel.close()

    async def list(self, where: DeadLetterFilter | None = None, *, limit: int | None = None) -> list[DeadLetter]:
        where = where or DeadLetterFilter()
        found: list[DeadLetter] = []
        for dlq in self.dlqs(where.group):
            async with self._taken(dlq) as (_, messages):
                found += [d for d in (DeadLetter.from_message(dlq, m) for m in messages) if where.matches(d)]
        found.sort(key=lambda d: d.at or datetime.min.replace(tzinfo=UTC))
        return found[:limit] if limit else found

    async def replay(
        self, where: DeadLetterFilter, *, dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ReplayReport:
        report = ReplayReport(dry_run=dry_run)
        publisher = Publisher(self._url, self.topology)
        if not dry_run:
            await publisher.connect(declare=False)
        try:
            for dlq in self.dlqs(where.group):
                async with self._taken(dlq) as (_, messages):
                    chosen = [(m, d) for m in messages if where.matches(d := DeadLetter.from_message(dlq, m))]
                    report.matched += len(chosen)
                    report.letters += [d for _, d in chosen]
                    if dry_run:
                        continue
                    for start in range(0, len(chosen), BATCH):
                        batch = chosen[start:start + BATCH]
                        # All confirmed before any is acked; a failed publish raises and leaves
                        # this batch's messages in the DLQ (some maybe duplicated, none lost).
                        await asyncio.gather(*(self._republish(publisher, m, d) for m, d in batch))
                        for message, _ in batch:
                            await message.ack()
                        report.replayed += len(batch)
                        if progress:
                            progress(len(batch))
        finally:
            await publisher.close()
        return report

    @staticmethod
    async def _republish(publisher: Publisher, message: AbstractIncomingMessage, letter: DeadLetter) -> None:
        headers = {k: v for k, v in (message.headers or {}).items() if k not in _DROP_ON_REPLAY}
        headers[H_REPLAYS] = letter.replays + 1
        if letter.routing_key:
            headers.setdefault("x-routing-key", letter.routing_key)
        await publisher.publish_raw(
            body=message.body, exchange="", routing_key=letter.queue, headers=headers,
            message_id=message.message_id, correlation_id=message.correlation_id,
            message_type=message.type, timestamp=message.timestamp,
        )

    async def purge(self, where: DeadLetterFilter | None = None) -> int:
        """Delete dead letters for good; returns how many."""
        where = where or DeadLetterFilter()
        removed = 0
        for dlq in self.dlqs(where.group):
            async with self._taken(dlq) as (_, messages):
                for message in messages:
                    if where.matches(DeadLetter.from_message(dlq, message)):
                        await message.ack()
                        removed += 1
        return removed
