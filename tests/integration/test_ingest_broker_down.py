"""RabbitMQ stopped during a webhook burst: ingest answers 503 (never a false 202) while it is away,
and once it is back every accepted delivery is in the mapper's queue and one backfill run brings
every change that was refused. docs/ingest.md explains why 503 + backfill and not a local spool.

The broker stopped is this session's own RabbitMQ node (tests/servers.py), never the given one; it
is started again in a `finally`."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import httpx
import pytest

from libs.common.settings import CommonSettings
from libs.common.topology import MAPPER, Topology
from services.ingest.delivery import classify
from services.ingest.webhook_watch import endpoint_answers, reactivate_disabled
from tests.integration.broker_helpers import wait_for
from tests.integration.test_woo_world import TENANT, World, final_snapshot_ids, make_changes, read_all, world
from tests.servers import OwnServers


@pytest.fixture
def service_env(own_service_env: dict[str, str]) -> dict[str, str]:
    return own_service_env


async def burst(w: World, stop: asyncio.Event) -> None:
    rng = random.Random(11)
    products = [p for p in w.shop.products.values() if p["type"] != "variable"]
    orders = list(w.shop.orders.values())
    while not stop.is_set():
        for _ in range(5):
            if rng.random() < 0.5:
                w.shop.update_product(rng.choice(products)["id"], {"stock_quantity": rng.randint(0, 99)})
            else:
                w.shop.update_order(rng.choice(orders)["id"], {"status": rng.choice(["completed", "on-hold"])})
        await w.emulator.dispatcher.flush()
        await asyncio.sleep(0.01)  # yield to the test between Action Scheduler runs


async def test_broker_outage_during_burst_loses_nothing(
    settings: CommonSettings, topology: Topology, database: Any, redis_client: Any, own_servers: OwnServers
) -> None:
    async with world(settings, database) as w:
        await make_changes(w, 200)
        log = w.emulator.dispatcher.log
        stop = asyncio.Event()
        burster = asyncio.create_task(burst(w, stop))
        ingest = httpx.AsyncClient(transport=httpx.ASGITransport(app=w.app), base_url="http://ingest")
        try:
            accepted_before = sum(d.status == 202 for d in log)

            async def some_accepted() -> bool:
                return sum(d.status == 202 for d in log) > accepted_before + 20

            await wait_for(some_accepted, what="deliveries accepted before the outage")
            refused_before = sum(d.status == 503 for d in log)
            try:
                await asyncio.to_thread(own_servers.rabbit.ctl, "stop_app")

                async def refusing() -> bool:
                    return sum(d.status == 503 for d in log) >= refused_before + 10

                await wait_for(refusing, what="deliveries refused while RabbitMQ is down")
                assert (await ingest.get("/readyz")).status_code == 503
            finally:
                await asyncio.to_thread(own_servers.rabbit.ctl, "start_app")

            async def reconnected() -> bool:
                return bool(w.app.state.ready())

            await wait_for(reconnected, timeout=60, what="ingest reconnected to RabbitMQ")
            accepted_after = sum(d.status == 202 for d in log)

            async def accepting_again() -> bool:
                return sum(d.status == 202 for d in log) > accepted_after + 20

            # Disabled webhooks (7 failures in a row) send nothing: re-activate them as the poller would.
            await reactivate_disabled(TENANT, w.woo,
                                      probe=lambda hook: endpoint_answers(hook, w.emulator.dispatcher.http))
            await wait_for(accepting_again, timeout=30, what="deliveries accepted after the outage")
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await burster
            await ingest.aclose()
        assert (await ingest_ready(w)) is True
        assert not {d.status for d in log} - {200, 202, 503}  # no other answer, never a redirect
        # A 202 is published, except an order whose refunds came without their lines: that one is left to
        # the backfill, which reads the refund objects first (answered 202 "poll-scheduled").
        decisions = [classify(TENANT, d.topic, d.body) for d in log if d.status == 202]
        accepted = {decision.event_id for decision in decisions if decision.action == "publish"}
        refused = [d for d in log if d.status == 503]
        assert refused
        await w.backfill.run(TENANT, w.woo)
        expected, _ = final_snapshot_ids(w.shop)

    messages = await read_all(settings.rabbitmq_url, topology.queue(MAPPER), until=accepted | expected, timeout=60)
    ids = {m.message_id for m in messages}
    assert accepted <= ids  # every accepted delivery reached the mapper
    assert expected <= ids  # and every change, refused ones included, after one backfill


async def ingest_ready(w: World) -> bool:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=w.app), base_url="http://ingest") as client:
        return (await client.get("/readyz")).status_code == 200
