"""The witness that `make test` leaves the given servers as it found them notices a broker restart
and a flush. Shown on this session's own RabbitMQ node and redis-server, posing as given ones: a
test never restarts or flushes a server it did not start."""

from __future__ import annotations

import asyncio

import pytest
import redis

from tests.servers import LeftAsFound, OwnServers

pytestmark = pytest.mark.integration


async def test_a_restarted_broker_and_a_flushed_redis_are_named(own_servers: OwnServers,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_URL", own_servers.rabbitmq_url)
    monkeypatch.setenv("REDIS_URL", own_servers.redis_url)
    with LeftAsFound(own_servers.rabbitmq_url, own_servers.redis_url) as untouched:
        pass
    assert untouched.disturbed == []

    with LeftAsFound(own_servers.rabbitmq_url, own_servers.redis_url) as witness:
        await asyncio.to_thread(own_servers.rabbit.ctl, "stop_app")
        await asyncio.to_thread(own_servers.rabbit.ctl, "start_app")
        with redis.Redis.from_url(own_servers.redis_url) as client:
            client.flushall()
    assert len(witness.disturbed) == 2, witness.disturbed
    assert "AMQP connection" in witness.disturbed[0] and "flushed" in witness.disturbed[1]
