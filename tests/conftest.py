"""Shared fixtures. Every test that touches a server gets its own exchange/queue prefix, Redis key
prefix and PostgreSQL schema, so tests cannot see each other (and may run beside a live stack)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import pytest
import redis.asyncio as aioredis

from libs.cli.private_servers import DEFAULTS, binaries_missing
from libs.common.crypto import generate_key
from libs.common.settings import CommonSettings
from libs.common.store.db import drop_schema, make_engine, make_sessionmaker
from libs.common.store.migrate import upgrade
from libs.common.topology import Topology
from tests.servers import LeftAsFound, OwnServers, Servers, private_rabbit, resolve, start_own, stop_containers

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    try:
        found = resolve()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    with LeftAsFound(found.rabbitmq_url, found.redis_url) as witness:
        yield found
    stop_containers()
    if witness.disturbed:
        pytest.fail(f"the suite disturbed a server it did not start: {witness.disturbed}", pytrace=False)


@pytest.fixture(scope="session")
def own_servers(servers: Servers) -> Iterator[OwnServers]:
    """A RabbitMQ node and a redis-server of this session's own, for the tests that restart, kill or
    flush them; started once, on first use, and removed at the end."""
    lacking = binaries_missing(["redis", "rabbitmq"])
    if lacking:
        pytest.fail(f"fault-injection tests start their own servers; missing: {', '.join(lacking)} "
                    "(apt-get install redis-server rabbitmq-server)", pytrace=False)
    own, private = start_own(servers.database_url)
    yield own
    private.close()


@pytest.fixture
def prefix() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def secret_keys() -> str:
    return generate_key()


@pytest.fixture
def service_env(servers: Servers, prefix: str, secret_keys: str) -> dict[str, str]:
    """Environment for a service process (or CommonSettings) confined to this test's prefix."""
    return {
        "RABBITMQ_URL": servers.rabbitmq_url,
        "REDIS_URL": servers.redis_url,
        "DATABASE_URL": servers.database_url,
        "WOONOX_BROKER_PREFIX": prefix,
        "WOONOX_REDIS_PREFIX": prefix,
        "WOONOX_DB_SCHEMA": prefix,
        "WOONOX_SECRET_KEYS": secret_keys,
    }


@pytest.fixture
def own_service_env(own_servers: OwnServers, prefix: str, secret_keys: str) -> dict[str, str]:
    """As `service_env`, on this session's own RabbitMQ and Redis: a fault test module overrides
    `service_env` with it, so every fixture built on it (settings, topology, redis_client) follows."""
    return {
        "RABBITMQ_URL": own_servers.rabbitmq_url,
        "REDIS_URL": own_servers.redis_url,
        "DATABASE_URL": own_servers.database_url,
        "WOONOX_BROKER_PREFIX": prefix,
        "WOONOX_REDIS_PREFIX": prefix,
        "WOONOX_DB_SCHEMA": prefix,
        "WOONOX_SECRET_KEYS": secret_keys,
    }


@pytest.fixture
def settings(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> CommonSettings:
    for key, value in service_env.items():
        monkeypatch.setenv(key, value)
    return CommonSettings()


@pytest.fixture
async def topology(settings: CommonSettings) -> AsyncIterator[Topology]:
    topo = Topology(settings.broker_prefix)
    await topo.declare_on(settings.rabbitmq_url)
    yield topo
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await topo.delete(channel)
        for name in _queues_named(settings.rabbitmq_url, settings.broker_prefix + "."):  # per-tenant queues
            await channel.queue_delete(name)


def _queues_named(url: str, start: str) -> list[str]:
    """Queues whose names start with `start`: rabbitmqctl of the node behind `url` where it is at hand
    (a private node, or the local one on the default port); the tests' own prefixes make anything
    left elsewhere harmless."""
    import shutil
    import subprocess

    rabbit = private_rabbit(url)
    try:
        if rabbit is not None:
            out = rabbit.ctl("-q", "list_queues", "name", timeout=30)
        elif url == DEFAULTS["RABBITMQ_URL"][0] and shutil.which("rabbitmqctl"):
            out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "name"], capture_output=True, text=True,
                                 timeout=30, check=False).stdout
        else:
            return []
    except (OSError, RuntimeError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip().startswith(start)]


@pytest.fixture
async def database(settings: CommonSettings) -> AsyncIterator[object]:
    """Migrated schema of this test; yields a sessionmaker; dropped afterwards."""
    await upgrade(settings.database_url, settings.db_schema)
    engine = make_engine(settings.database_url, settings.db_schema, pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()
    await drop_schema(settings.database_url, settings.db_schema)


@pytest.fixture
async def redis_client(settings: CommonSettings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(settings.redis_url)
    yield client
    async for key in client.scan_iter(match=f"{settings.redis_prefix}:*", count=1000):
        await client.delete(key)
    await client.aclose()


os.environ.setdefault("WOONOX_LOG_JSON", "true")
# The sandbox and the shop emulator listen on 127.0.0.1 over http: allowed for tests only.
os.environ.setdefault("WOONOX_ALLOW_HTTP_HOSTS", "127.0.0.1,localhost,shop.test,sandbox.test,fortnox.test,sandbox,shop")
