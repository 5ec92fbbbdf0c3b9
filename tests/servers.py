"""Where the real servers of the integration tests are: libs/cli/private_servers.py decides (the
given URL, else the default local port, else private servers from the local binaries, else
testcontainers, else a failure naming the apt-get line for each missing server). Never an in-memory
stand-in.

Fault-injection tests (broker restarts, Redis loss, chaos) use `own_servers`: a RabbitMQ node and a
redis-server of their own, so they never stop, restart or flush a server they did not start.
"""

from __future__ import annotations

from dataclasses import dataclass

from libs.cli.private_servers import PrivateRabbit, PrivateRedis, PrivateServers, Resolved
from libs.cli.private_servers import resolve as resolve_urls

_resolved: list[Resolved] = []
_own: list[OwnServers] = []


@dataclass(frozen=True)
class Servers:
    rabbitmq_url: str
    redis_url: str
    database_url: str


@dataclass(frozen=True)
class OwnServers:
    """RabbitMQ and Redis this test session started; PostgreSQL stays the given one (each test has
    its own schema, and no fault touches it)."""

    rabbit: PrivateRabbit
    redis: PrivateRedis
    database_url: str

    @property
    def rabbitmq_url(self) -> str:
        return self.rabbit.url

    @property
    def redis_url(self) -> str:
        return self.redis.url


def resolve() -> Servers:
    found = resolve_urls()
    _resolved.append(found)
    return Servers(found.urls["RABBITMQ_URL"], found.urls["REDIS_URL"], found.urls["DATABASE_URL"])


def start_own(database_url: str) -> tuple[OwnServers, PrivateServers]:
    private = PrivateServers()
    private.start("redis")
    private.start("rabbitmq")
    assert private.rabbit is not None and private.redis is not None
    own = OwnServers(private.rabbit, private.redis, database_url)
    _own.append(own)
    return own, private


def private_rabbit(url: str) -> PrivateRabbit | None:
    """The private RabbitMQ node behind `url`, if this session started it."""
    for found in _resolved:
        if found.private is not None and found.private.rabbit is not None and found.private.rabbit.url == url:
            return found.private.rabbit
    for own in _own:
        if own.rabbit.url == url:
            return own.rabbit
    return None


def stop_containers() -> None:
    """Stop whatever `resolve` started (private servers or containers)."""
    while _resolved:
        _resolved.pop().close()
