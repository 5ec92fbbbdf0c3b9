"""Where the real servers of the integration tests are.

Order: the URL in RABBITMQ_URL / REDIS_URL / DATABASE_URL; else a server already answering on its
default local port (CI and the developer machines run them); else testcontainers, where a Docker
engine answers; else the test fails with how to provide one. Never an in-memory stand-in.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

DEFAULTS = {
    "RABBITMQ_URL": ("amqp://guest:guest@127.0.0.1:5672/", 5672),
    "REDIS_URL": ("redis://127.0.0.1:6379/0", 6379),
    "DATABASE_URL": ("postgresql+asyncpg://postgres@127.0.0.1:5432/test", 5432),
}
HOW = (
    "woonox's integration tests need real RabbitMQ, Redis and PostgreSQL. Set RABBITMQ_URL, REDIS_URL "
    "and DATABASE_URL, run them locally on their default ports, or run a Docker engine so that "
    "testcontainers can start them."
)


@dataclass(frozen=True)
class Servers:
    rabbitmq_url: str
    redis_url: str
    database_url: str


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
        return True
    except Exception:
        return False


_containers: list[Any] = []


def _container_url(var: str) -> str:
    if var == "RABBITMQ_URL":
        from testcontainers.rabbitmq import RabbitMqContainer

        c = RabbitMqContainer("rabbitmq:3.10-management").start()
        _containers.append(c)
        return f"amqp://guest:guest@{c.get_container_host_ip()}:{c.get_exposed_port(5672)}/"
    if var == "REDIS_URL":
        from testcontainers.redis import RedisContainer

        c = RedisContainer("redis:7").start()
        _containers.append(c)
        return f"redis://{c.get_container_host_ip()}:{c.get_exposed_port(6379)}/0"
    from testcontainers.postgres import PostgresContainer

    c = PostgresContainer("postgres:15", driver="asyncpg").start()
    _containers.append(c)
    return str(c.get_connection_url())


def resolve() -> Servers:
    urls: dict[str, str] = {}
    missing: list[str] = []
    for var, (default, port) in DEFAULTS.items():
        if os.environ.get(var):
            urls[var] = os.environ[var]
        elif _port_open(port):
            urls[var] = default
        else:
            missing.append(var)
    if missing:
        if not _docker_answers():
            raise RuntimeError(f"{HOW} Missing: {', '.join(missing)}.")
        for var in missing:
            urls[var] = _container_url(var)
    return Servers(urls["RABBITMQ_URL"], urls["REDIS_URL"], urls["DATABASE_URL"])


def stop_containers() -> None:
    while _containers:
        _containers.pop().stop()
