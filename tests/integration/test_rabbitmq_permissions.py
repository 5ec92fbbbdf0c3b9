"""One RabbitMQ user per service, allowed what the service does and nothing else.

The patterns are checked twice: against every name the topology produces, with RabbitMQ's
unanchored matching (Erlang `re:run`, i.e. Python's `re.search`), and on the local broker, where
each user, loaded into a vhost of its own from the same files the deployments load, runs the
service's own code (declare the topology, publish, consume, list dead letters) and is refused
another service's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import re
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

import aio_pika
import aiormq
import pytest
from aio_pika.abc import AbstractChannel

from libs.cli.private_servers import PrivateRabbit
from libs.common.dead_letters import DeadLetters
from libs.common.errors import TransientError
from libs.common.publisher import Publisher
from libs.common.topology import FORTNOX_WRITER, Topology
from scripts.rabbitmq_definitions import DEFINITIONS, PERMISSIONS, render_permissions
from tests.conftest import ROOT
from tests.servers import OwnServers

TOPOLOGY = Topology("woonox")
TENANT = "shop-a"
TENANT_QUEUE = TOPOLOGY.tenant_queue(FORTNOX_WRITER, TENANT)
# Tenant ids that look like the group's own queues (`dlq2`, `d`) are still tenants.
TENANT_QUEUES = {TOPOLOGY.tenant_queue(FORTNOX_WRITER, t) for t in (TENANT, "dlq2", "d", "0")}
# The queues each service may consume (basic.get / basic.consume / purge need read on them).
CONSUMES: dict[str, set[str]] = {
    "ingest": {TOPOLOGY.dlq(g) for g in TOPOLOGY.groups},  # the status page lists dead letters
    "poller": set(),
    "mapper": {"woonox.mapper", *TENANT_QUEUES},  # creating a tenant queue needs read on it (see permissions())
    "fortnox-writer": TENANT_QUEUES,
    "woo-writer": {"woonox.woo-writer", "woonox.results"},
    "keda": set(),
}
PUBLISHES: dict[str, set[str]] = {
    "ingest": {"woonox.events", "amq.default"},
    "poller": {"woonox.events"},
    "mapper": {"woonox.events", "amq.default", "woonox.dlx"},
    "fortnox-writer": {"woonox.events", "amq.default", "woonox.dlx"},
    "woo-writer": {"amq.default", "woonox.dlx"},
    "keda": set(),
}


def _users_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rabbitmq_users", ROOT / "deploy" / "rabbitmq" / "users.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _by_service() -> dict[str, dict[str, Any]]:
    """From the file the deployments load (test_permissions_file_is_current ties it to the code)."""
    return {u["name"].removeprefix("woonox-"): u for u in json.loads(PERMISSIONS.read_text())["users"]}


def _names() -> list[str]:
    exchanges = [TOPOLOGY.exchange, TOPOLOGY.dlx, TOPOLOGY.return_exchange, "amq.default"]
    lookalikes = ["woonox.mapperx", "xwoonox.mapper", "woonox.mapper.dlq.x"]
    return exchanges + TOPOLOGY.all_queues() + sorted(TENANT_QUEUES) + lookalikes


def test_permissions_file_is_current() -> None:
    assert PERMISSIONS.read_text() == render_permissions(TOPOLOGY), "run: python -m scripts.rabbitmq_definitions"


def test_only_the_operator_is_administrator_and_every_pattern_is_anchored() -> None:
    users = _by_service()
    assert {name for name, u in users.items() if "administrator" in u["tags"]} == {"operator"}
    assert set(users) == set(CONSUMES) | {"operator"}
    for name, user in users.items():
        if name == "operator":
            continue
        for kind in ("configure", "write", "read"):
            assert user[kind].startswith("^") and user[kind].endswith("$"), (name, kind)
            assert ".*" not in user[kind], (name, kind)


@pytest.mark.parametrize("service", sorted(CONSUMES))
def test_each_service_reads_and_writes_only_its_own(service: str) -> None:
    user = _by_service()[service]
    exchanges = {TOPOLOGY.exchange, TOPOLOGY.dlx, TOPOLOGY.return_exchange}
    declares = service != "keda"
    for name in _names():
        read = re.search(user["read"], name) is not None
        if name in exchanges:
            assert read == declares, name  # queue.bind reads the source exchange
            continue
        assert read == (name in CONSUMES[service]), f"{service} read {name}: {read}"
    for exchange in exchanges | {"amq.default"}:
        assert (re.search(user["write"], exchange) is not None) == (exchange in PUBLISHES[service]), exchange
    static = [q["name"] for q in json.loads(DEFINITIONS.read_text())["queues"]] + list(exchanges)
    assert all((re.search(user["configure"], n) is not None) == declares for n in static), service
    assert (re.search(user["configure"], TENANT_QUEUE) is not None) == (service in {"mapper", "fortnox-writer"})


def test_users_file_needs_every_service_password() -> None:
    users = _users_module()
    spec = json.loads(PERMISSIONS.read_text())
    env = {u["password_env"]: secrets.token_urlsafe(16) for u in spec["users"] if not u.get("optional")}
    written = users.users(spec, env)
    assert {u["name"] for u in written["users"]} == {u["name"] for u in spec["users"] if not u.get("optional")}
    assert all(env[u["password_env"]] not in json.dumps(written) for u in spec["users"] if u["password_env"] in env)
    del env["RABBITMQ_MAPPER_PASSWORD"]
    with pytest.raises(SystemExit, match="RABBITMQ_MAPPER_PASSWORD"):
        users.users(spec, env)


def _import(rabbit: PrivateRabbit, loaded: dict[str, Any]) -> None:
    """3.10's `import_definitions -` (stdin) is refused: a file, holding only throwaway hashes."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "definitions.json"
        path.write_text(json.dumps(loaded))
        rabbit.ctl("import_definitions", str(path))


@contextlib.asynccontextmanager
async def _channel(url: str) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(url)
    try:
        yield await connection.channel(publisher_confirms=True)
    finally:
        await connection.close()


async def _allowed(action: Callable[[], Awaitable[Any]]) -> bool:
    try:
        await action()
    except aiormq.exceptions.ChannelAccessRefused:
        return False
    return True


@pytest.mark.integration
async def test_each_user_does_its_job_and_no_other_on_the_broker(own_servers: OwnServers) -> None:
    """On this session's own RabbitMQ node (users and definitions are node-wide: never loaded into a
    broker the tests were given), in its default vhost."""
    rabbit = own_servers.rabbit
    token = secrets.token_hex(4)
    vhost, suffix = "/", f"-{token}"
    spec = json.loads(PERMISSIONS.read_text())
    env = {u["password_env"]: secrets.token_urlsafe(16) for u in spec["users"]}
    loaded = {**json.loads(DEFINITIONS.read_text()), **_users_module().users(spec, env, vhost=vhost, suffix=suffix)}
    loaded.pop("vhosts", None)
    for item in loaded["exchanges"] + loaded["queues"] + loaded["bindings"]:
        item["vhost"] = vhost
    broker = urlsplit(rabbit.url)
    try:
        await asyncio.to_thread(_import, rabbit, loaded)

        def url(service: str) -> str:
            user = _by_service()[service]
            return (f"amqp://{user['name']}{suffix}:{quote(env[user['password_env']], safe='')}"
                    f"@{broker.hostname}:{broker.port or 5672}/{quote(vhost, safe='')}")

        async def declares(service: str) -> bool:
            publisher = Publisher(url(service), TOPOLOGY)
            try:
                await publisher.connect()
            except TransientError as exc:
                if "ACCESS_REFUSED" not in str(exc):
                    raise
                return False
            finally:
                await publisher.close()
            return True

        async def consumes(service: str, queue: str) -> bool:
            async with _channel(url(service)) as channel:
                found = await channel.declare_queue(queue, passive=True)
                return await _allowed(lambda: found.get(fail=False))

        async def publishes(service: str, exchange: str, key: str) -> bool:
            async with _channel(url(service)) as channel:
                target = channel.default_exchange if exchange == "amq.default" else await channel.get_exchange(exchange)
                message = aio_pika.Message(b"{}", headers={"woonox-permissions-test": token})
                return await _allowed(lambda: target.publish(message, routing_key=key))

        async def declares_tenant(service: str) -> bool:
            async with _channel(url(service)) as channel:
                return await _allowed(lambda: TOPOLOGY.declare_tenant(channel, FORTNOX_WRITER, TENANT))

        # Every service starts: it declares the topology the broker loaded at boot.
        for service in ("ingest", "poller", "mapper", "fortnox-writer", "woo-writer", "operator"):
            assert await declares(service), service
        assert not await declares("keda")
        # The mapper creates the tenant's writer queue with its first command; only the two may.
        assert not await declares_tenant("ingest")
        assert not await declares_tenant("woo-writer")
        assert await declares_tenant("mapper")
        assert await declares_tenant("fortnox-writer")
        # Publishing: events from ingest, poller, mapper and writer; the woo-writer only retries.
        assert await publishes("ingest", "woonox.events", "woo.order.created")
        assert await publishes("poller", "woonox.events", "fortnox.article.changed")
        assert await publishes("mapper", "amq.default", "woonox.mapper.retry.0")
        assert await publishes("fortnox-writer", "woonox.events", "fortnox.result.booked")
        assert not await publishes("woo-writer", "woonox.events", "woo.order.created")
        assert not await publishes("poller", "amq.default", "woonox.mapper")
        assert not await publishes("poller", "woonox.dlx", "woonox.mapper")
        # Consuming: each its own queues, never another service's.
        queues = [TOPOLOGY.queue(g) for g in TOPOLOGY.groups if not g.per_tenant] + [TENANT_QUEUE]
        queues += [TOPOLOGY.dlq(g) for g in TOPOLOGY.groups]
        for service, own in CONSUMES.items():
            if service == "keda":
                continue
            for queue in queues:
                assert await consumes(service, queue) == (queue in own), f"{service} consuming {queue}"
        assert await consumes("operator", "woonox.mapper.dlq")
        # The status page's dead-letter view runs as ingest.
        async with DeadLetters(url("ingest"), TOPOLOGY) as letters:
            assert await letters.list() == []
    finally:
        for user in spec["users"]:
            with contextlib.suppress(RuntimeError):
                await asyncio.to_thread(rabbit.ctl, "delete_user", user["name"] + suffix)
        async with _channel(rabbit.url) as channel:  # guest: what the definitions declared goes too
            for queue in loaded["queues"]:
                await channel.queue_delete(queue["name"])
            for exchange in loaded["exchanges"]:
                await channel.exchange_delete(exchange["name"])
