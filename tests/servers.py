"""Where the real servers of the integration tests are: libs/cli/private_servers.py decides (the
given URL, else the default local port, else private servers from the local binaries, else
testcontainers, else a failure naming the apt-get line for each missing server). Never an in-memory
stand-in.

Fault-injection tests (broker restarts, Redis loss, chaos) use `own_servers`: a RabbitMQ node and a
redis-server of their own, so they never stop, restart or flush a server they did not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import aio_pika
import redis

from libs.cli.private_servers import DEFAULTS, PrivateRabbit, PrivateRedis, PrivateServers, Resolved
from libs.cli.private_servers import resolve as resolve_urls

T = TypeVar("T")
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


@dataclass
class LeftAsFound:
    """Witness that the suite leaves the given servers as it found them (issue 13): an AMQP
    connection opened before the tests must still be open after them (a RabbitMQ stop_app/start_app
    closes every connection without resetting the node's uptime), and a Redis key written before
    must still be there (a FLUSHALL removes it). Private servers are the suite's own: not watched."""

    rabbitmq_url: str
    redis_url: str
    disturbed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._watch_rabbit = _given(self.rabbitmq_url)
        self._watch_redis = _given(self.redis_url)
        self._key = f"woonox-test-witness:{uuid.uuid4().hex}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._connection: aio_pika.abc.AbstractConnection | None = None

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def __enter__(self) -> LeftAsFound:
        self._thread.start()
        if self._watch_rabbit:
            self._connection = self._run(aio_pika.connect(self.rabbitmq_url))
        if self._watch_redis:
            with redis.Redis.from_url(self.redis_url) as client:
                client.set(self._key, "1", ex=24 * 3600)
        return self

    @staticmethod
    async def _open_and_close_a_channel(connection: aio_pika.abc.AbstractConnection) -> None:
        channel = await connection.channel()
        await channel.close()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._connection is not None:
                try:  # a channel opens only on a connection the broker kept
                    self._run(self._open_and_close_a_channel(self._connection))
                except Exception:
                    self.disturbed.append(f"the AMQP connection to {self.rabbitmq_url} opened before the tests "
                                          "was closed (was the broker stopped or restarted?)")
                with contextlib.suppress(Exception):
                    self._run(self._connection.close())
            if self._watch_redis:
                with redis.Redis.from_url(self.redis_url) as client:
                    if not client.delete(self._key):
                        self.disturbed.append(f"a key written to {self.redis_url} before the tests is gone "
                                              "(was it flushed?)")
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


def _given(url: str) -> bool:
    """Whether `url` is a server the suite was given (its URL set, or the default local port), not
    one it started."""
    return url in {os.environ.get(var) for var in DEFAULTS} | {default for default, _ in DEFAULTS.values()}
