"""Permanent failures and unknown schema versions end in the group's .dlq with the reason in headers;
transient failures go round the delay queues and then succeed."""

from __future__ import annotations

from dataclasses import replace

from libs.common.consumer import ConsumerService
from libs.common.envelope import Envelope
from libs.common.errors import Busy, PermanentError, TransientError
from libs.common.settings import CommonSettings
from libs.common.topology import MAPPER, Topology
from tests.integration.broker_helpers import drain, header, wait_for


async def test_unknown_version_and_permanent_error_are_dead_lettered(
    settings: CommonSettings, topology: Topology
) -> None:
    handled: list[str] = []

    async def handler(envelope: Envelope) -> None:
        if envelope.payload().get("poison"):
            raise PermanentError("product 7 has no SKU", code="missing-sku")
        handled.append(envelope.id)

    service = ConsumerService("test", settings)
    service.consume(MAPPER, handler)
    async with service.running():
        pub = service.publisher
        await pub.publish(Envelope.new(tenant="shop", type="woo.order.updated", payload={"id": 1}, id="good-1"))
        await pub.publish(Envelope.new(tenant="shop", type="woo.order.updated", payload={"id": 2}, id="v9",
                                       version=9))
        await pub.publish(Envelope.new(tenant="shop", type="woo.order.updated", payload={"poison": 1}, id="bad"))
        await pub.publish(Envelope.new(tenant="shop", type="woo.order.updated", payload={"id": 3}, id="good-2"))
        dead = await drain(settings.rabbitmq_url, topology.dlq(MAPPER), expect=2)

        async def both_good() -> bool:
            return sorted(handled) == ["good-1", "good-2"]

        await wait_for(both_good, what="the good messages around the bad ones")

    by_id = {m.message_id: m for m in dead}
    assert set(by_id) == {"v9", "bad"}
    assert header(by_id["v9"], "x-death-code") == "unknown-schema-version"
    assert "unknown schema version 9" in header(by_id["v9"], "x-death-reason")
    assert header(by_id["bad"], "x-death-reason") == "product 7 has no SKU"
    assert header(by_id["bad"], "x-death-code") == "missing-sku"
    assert header(by_id["bad"], "x-tenant") == "shop"
    assert header(by_id["bad"], "x-death-queue") == topology.queue(MAPPER)
    assert header(by_id["bad"], "x-routing-key") == "woo.order.updated"


async def test_transient_error_is_retried_through_delay_queue(settings: CommonSettings, topology: Topology) -> None:
    attempts: list[int] = []

    async def flaky(envelope: Envelope) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise TransientError("Fortnox answered 503")

    service = ConsumerService("test", settings)
    service.consume(MAPPER, flaky)
    async with service.running():
        await service.publisher.publish(Envelope.new(tenant="shop", type="woo.order.updated", payload={"id": 1}))

        async def succeeded() -> bool:
            return len(attempts) == 3

        # first delay 1 s, second 5 s
        await wait_for(succeeded, timeout=30, what="three attempts")
    assert len(attempts) == 3


async def test_busy_retries_spend_no_attempt_and_are_bounded(settings: CommonSettings, topology: Topology) -> None:
    """Snapshots of one order that find it busy must not back off to the long delays, nor be
    dead-lettered as failures (the short chaos run found both); a claim that never frees is."""
    seen: dict[str, int] = {}

    async def contended(envelope: Envelope) -> None:
        seen[envelope.id] = seen.get(envelope.id, 0) + 1
        if envelope.id == "stuck" or seen[envelope.id] <= MAPPER.max_attempts + 2:
            raise Busy("order 7 is being applied by another writer", code="order-busy", delay=1)

    service = ConsumerService("test", settings)
    service.consume(replace(MAPPER, max_busy=MAPPER.max_attempts + 4), contended)
    async with service.running():
        await service.publisher.publish(Envelope.new(tenant="shop", type="woo.order.updated", payload={}, id="busy"))
        await service.publisher.publish(Envelope.new(tenant="shop", type="woo.order.updated", payload={}, id="stuck"))
        dead = await drain(settings.rabbitmq_url, topology.dlq(MAPPER), expect=1, timeout=60)

        async def through() -> bool:
            return seen.get("busy") == MAPPER.max_attempts + 3

        await wait_for(through, timeout=60, what="the busy message handled after its busy rounds")
    assert [m.message_id for m in dead] == ["stuck"]
    assert header(dead[0], "x-death-reason").startswith(f"still busy after {MAPPER.max_attempts + 5} tries")
    assert header(dead[0], "x-death-code") == "order-busy"
    assert header(dead[0], "x-attempt") == 0
