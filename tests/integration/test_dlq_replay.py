"""`woonox dlq`: a poison message dead-letters; after the cause is fixed, `dlq replay --tenant T --reason ...`
makes it be handled exactly once and empties the DLQ; `--dry-run` and `list` change nothing."""

from __future__ import annotations

import asyncio
import json

import aio_pika
from typer.testing import CliRunner, Result

from libs.cli import dlq
from libs.common.consumer import ConsumerService
from libs.common.dead_letters import DeadLetterFilter, DeadLetters
from libs.common.envelope import Envelope
from libs.common.errors import PermanentError
from libs.common.settings import CommonSettings
from libs.common.topology import MAPPER, Topology
from tests.integration.broker_helpers import depth, wait_for


async def cli(*args: str, input: str | None = None) -> Result:
    # The command runs its own event loop (asyncio.run), so it gets a thread of its own.
    return await asyncio.to_thread(CliRunner().invoke, dlq.app, list(args), input=input)


async def test_replay_after_fix_handles_once_and_empties_dlq(settings: CommonSettings, topology: Topology) -> None:
    accounts = {"3001"}
    handled: list[str] = []

    async def handler(envelope: Envelope) -> None:
        account = envelope.payload()["account"]
        if account not in accounts:
            raise PermanentError(f"account {account} does not exist in the chart of accounts", code="2000588")
        handled.append(envelope.id)

    service = ConsumerService("test", settings)
    service.consume(MAPPER, handler)
    dlq_name = topology.dlq(MAPPER)
    async with service.running():
        pub = service.publisher
        await pub.publish(Envelope.new(tenant="shop-a", type="woo.order.updated", payload={"account": "3001"},
                                       id="good"))
        await pub.publish(Envelope.new(tenant="shop-a", type="woo.order.updated", payload={"account": "3999"},
                                       id="poison-a"))
        await pub.publish(Envelope.new(tenant="shop-b", type="woo.order.updated", payload={"account": "3999"},
                                       id="poison-b"))

        async def two_dead() -> bool:
            return await depth(settings.rabbitmq_url, dlq_name) == 2

        await wait_for(two_dead, what="both poison messages in the DLQ")
        assert handled == ["good"]

        listed = await cli("list", "--tenant", "shop-a", "--json")
        assert listed.exit_code == 0, listed.output
        [row] = json.loads(listed.output)
        assert row["id"] == "poison-a"
        assert row["reason"] == "account 3999 does not exist in the chart of accounts"
        assert row["code"] == "2000588"
        assert row["queue"] == topology.queue(MAPPER)
        assert row["attempts"] == 1

        dry = await cli("replay", "--tenant", "shop-a", "--reason", "chart of accounts", "--dry-run", "--json")
        assert dry.exit_code == 0, dry.output
        assert json.loads(dry.output)["matched"] == 1
        assert json.loads(dry.output)["replayed"] == 0
        assert await depth(settings.rabbitmq_url, dlq_name) == 2, "a dry run must change nothing"
        assert handled == ["good"]

        accounts.add("3999")  # the operator fixes the account map
        done = await cli("replay", "--tenant", "shop-a", "--reason", "chart of accounts")
        assert done.exit_code == 0, done.output
        assert "replayed 1" in done.output

        async def replayed() -> bool:
            return "poison-a" in handled

        await wait_for(replayed, what="the replayed message to be handled")
        # A sentinel published after the replay: once it is handled, any duplicate would have been too.
        await pub.publish(Envelope.new(tenant="shop-a", type="woo.order.updated", payload={"account": "3001"},
                                       id="sentinel"))

        async def sentinel() -> bool:
            return "sentinel" in handled

        await wait_for(sentinel, what="the sentinel")
    assert handled.count("poison-a") == 1
    assert await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 0
    remaining = await cli("list", "--json")
    assert [r["id"] for r in json.loads(remaining.output)] == ["poison-b"], "other tenants' letters stay"

    # Replay again for shop-a: nothing matches, and scripts can tell.
    again = await cli("replay", "--tenant", "shop-a")
    assert again.exit_code == dlq.EXIT_NOTHING_MATCHED


async def test_rabbitmq_dead_letters_are_read_and_replayed(settings: CommonSettings, topology: Topology) -> None:
    """A message RabbitMQ dead-letters itself (here: rejected; in production: past x-delivery-limit) carries
    `x-death` instead of woonox's headers; it is listed with RabbitMQ's reason and replayed to its queue."""
    queue = topology.queue(MAPPER)
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(b'{"id": 5}', message_id="crashy", type="woo.order.updated", headers={"x-tenant": "s"}),
            routing_key=queue,
        )
        q = await channel.declare_queue(queue, passive=True)
        got = None

        async def fetched() -> bool:
            nonlocal got
            got = await q.get(fail=False)
            return got is not None

        await wait_for(fetched, what="the message")
        assert got is not None
        await got.reject(requeue=False)

    async def dead() -> bool:
        return await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 1

    await wait_for(dead, what="RabbitMQ to dead-letter it")
    async with DeadLetters(settings.rabbitmq_url, topology) as dl:
        [letter] = await dl.list()
        assert (letter.id, letter.queue, letter.code, letter.tenant) == ("crashy", queue, "rejected", "s")
        assert [h["reason"] for h in letter.history] == ["rejected"]
        assert await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 1, "listing removes nothing"
        report = await dl.replay(DeadLetterFilter(code="rejected"))
    assert report.replayed == 1
    assert await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 0
    assert await depth(settings.rabbitmq_url, queue) == 1


async def test_show_filters_and_purge(settings: CommonSettings, topology: Topology) -> None:
    async def handler(envelope: Envelope) -> None:
        raise PermanentError(f"product {envelope.payload()['id']} has no SKU", code="missing-sku")

    service = ConsumerService("test", settings)
    service.consume(MAPPER, handler)
    async with service.running():
        for i in (1, 2):
            await service.publisher.publish(Envelope.new(tenant="shop", type="woo.product.updated",
                                                         payload={"id": i}, id=f"p{i}"))

        async def two() -> bool:
            return await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 2

        await wait_for(two, what="two dead letters")

    shown = await cli("show", "p2", "--json")
    assert shown.exit_code == 0, shown.output
    [letter] = json.loads(shown.output)
    assert letter["payload"] == {"id": 2}
    assert letter["reason"] == "product 2 has no SKU"
    assert (await cli("show", "nope")).exit_code == 3
    future = await cli("list", "--since", "2999-01-01", "--json")
    assert json.loads(future.output) == []
    bad = await cli("list", "--since", "yesterday-ish")
    assert bad.exit_code == 2

    refused = await cli("purge", "--id", "p1", input="n\n")
    assert refused.exit_code != 0
    assert await depth(settings.rabbitmq_url, topology.dlq(MAPPER)) == 2
    purged = await cli("purge", "--id", "p1", "--yes", "--json")
    assert json.loads(purged.output) == {"purged": 1}
    left = await cli("list", "--json")
    assert [r["id"] for r in json.loads(left.output)] == ["p2"]


async def test_a_refused_replay_loses_nothing(settings: CommonSettings, topology: Topology) -> None:
    """A dead letter whose queue is gone cannot be confirmed: the replay stops with an error, and
    every message of the unconfirmed batch is still in the DLQ (a duplicate at worst, never a loss)."""
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for mid, queue in (("fine", topology.queue(MAPPER)), ("orphan", f"{topology.prefix}.gone")):
            await channel.default_exchange.publish(
                aio_pika.Message(b"{}", message_id=mid, type="woo.order.updated",
                                 headers={"x-tenant": "s", "x-death-reason": "x", "x-death-queue": queue}),
                routing_key=topology.dlq(MAPPER))
    result = await cli("replay", "--all")
    assert result.exit_code == 1
    assert "no queue is bound" in result.output
    async with DeadLetters(settings.rabbitmq_url, topology) as dl:
        left = {d.id for d in await dl.list()}
    assert "orphan" in left
    assert "fine" in left or await depth(settings.rabbitmq_url, topology.queue(MAPPER)) == 1
