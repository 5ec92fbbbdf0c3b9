"""RabbitMQ definitions (deploy/rabbitmq/definitions.json) and per-service permissions
(deploy/rabbitmq/permissions.json) generated from libs/common/topology.py.

The file is made by running `Topology.declare` against a channel that records instead of
declaring, so it holds exactly what the services would declare themselves — nothing typed twice.
Per-tenant queues (`<prefix>.fortnox-writer.<tenant>`) come and go with tenants and are declared by
the writer at run time, so they are not in the file.

The permissions give each service's broker user what it does and no more (see `permissions`);
deploy/rabbitmq/users.py turns them, with passwords from the environment, into the users file the
broker loads at boot.

    python -m scripts.rabbitmq_definitions [--prefix woonox] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

from libs.common.topology import Topology

__all__ = ["DEFINITIONS", "PERMISSIONS", "definitions", "permissions", "render", "render_permissions"]

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
PERMISSIONS = ROOT / "deploy" / "rabbitmq" / "permissions.json"
VHOST = "/"


class _Exchange:
    def __init__(self, name: str) -> None:
        self.name = name


class _Queue:
    def __init__(self, recorder: _Recorder, name: str) -> None:
        self._recorder, self.name = recorder, name

    async def bind(self, exchange: Any, routing_key: str | None = None, *, arguments: Any = None,
                   **_: Any) -> None:
        self._recorder.bindings.append({
            "source": exchange if isinstance(exchange, str) else exchange.name, "vhost": VHOST,
            "destination": self.name, "destination_type": "queue", "routing_key": routing_key or "",
            "arguments": dict(arguments or {}),
        })


class _Recorder:
    """Stands in for an aio-pika channel while `Topology.declare` runs (no broker involved)."""

    def __init__(self) -> None:
        self.exchanges: list[dict[str, Any]] = []
        self.queues: list[dict[str, Any]] = []
        self.bindings: list[dict[str, Any]] = []

    async def declare_exchange(self, name: str, type: Any, *, durable: bool = False, **_: Any) -> _Exchange:
        self.exchanges.append({"name": name, "vhost": VHOST, "type": getattr(type, "value", str(type)),
                               "durable": durable, "auto_delete": False, "internal": False, "arguments": {}})
        return _Exchange(name)

    async def declare_queue(self, name: str, *, durable: bool = False, arguments: Any = None, **_: Any) -> _Queue:
        self.queues.append({"name": name, "vhost": VHOST, "durable": durable, "auto_delete": False,
                            "arguments": dict(arguments or {})})
        return _Queue(self, name)

    async def get_exchange(self, name: str, **_: Any) -> _Exchange:
        return _Exchange(name)


def definitions(topology: Topology) -> dict[str, Any]:
    recorder = _Recorder()
    asyncio.run(topology.declare(recorder))  # type: ignore[arg-type]
    return {
        "rabbit_version": "3.10.8",
        # The vhost must be listed: a node that loads definitions at boot creates no defaults.
        # Users and permissions come from a separate file made from the env (deploy/rabbitmq/users.py).
        "vhosts": [{"name": VHOST}],
        "exchanges": recorder.exchanges,
        "queues": recorder.queues,
        "bindings": recorder.bindings,
        # Every argument is a queue argument (x-queue-type, DLX, delivery limit ...): policies
        # could be overridden at run time by an operator, queue arguments cannot.
        "policies": [],
    }


def render(topology: Topology) -> str:
    return json.dumps(definitions(topology), indent=2, sort_keys=False) + "\n"


def _exactly(names: list[str], *patterns: str) -> str:
    """RabbitMQ matches permission regexes unanchored (Erlang `re:run`), so every alternative is
    anchored here: `^(a|b)$`, never a bare name that would also match `a.dlq`."""
    alternatives = [re.escape(n) for n in dict.fromkeys(names)] + list(patterns)
    return f"^({'|'.join(alternatives)})$" if alternatives else "^$"


def permissions(topology: Topology) -> dict[str, Any]:
    """Each service's configure / write / read patterns, from what its code does.

    RabbitMQ 3.10 checks: queue.declare needs configure on the queue and, when it *creates* a
    queue with a dead-letter exchange, read on that queue and write on the exchange; exchange
    .declare needs configure; queue.bind needs write on the queue and read on the exchange;
    basic.publish needs write on the exchange (the default exchange is `amq.default`);
    basic.get/consume/purge need read on the queue. A passive declare needs nothing.

    Every service declares the topology at start (libs/common/publisher.py `connect`). The queues
    already exist (definitions.json is loaded at boot), so re-declaring them needs configure on
    every name, write on every bound queue and read on the exchanges, but read on no queue.
    """
    exchanges = [topology.exchange, topology.dlx, topology.return_exchange]
    queues = [q["name"] for q in definitions(topology)["queues"]]
    dlqs = [topology.dlq(g) for g in topology.groups]
    bound = [topology.queue(g) for g in topology.groups if not g.per_tenant] + dlqs
    # A tenant id is `[a-z0-9][a-z0-9-]*` (libs/common/store/tenants.py): no dot, so a retry queue
    # (`.retry.<n>`) never matches; the look-ahead keeps the group's dead letters out.
    tenant_queues = [rf"{re.escape(topology.queue(g))}\.(?!dlq$)[a-z0-9][a-z0-9-]*"
                     for g in topology.groups if g.per_tenant]
    default = "amq.default"
    mapper, woo_writer, results = (topology.queue(n) for n in ("mapper", "woo-writer", "results"))

    def service(name: str, *, write: list[str], read: list[str], tenants: bool = False) -> dict[str, Any]:
        own = tenant_queues if tenants else []
        return {"name": f"{topology.prefix}-{name}",
                "password_env": f"RABBITMQ_{name.upper().replace('-', '_')}_PASSWORD", "tags": [],
                "configure": _exactly(exchanges + queues, *own),
                "write": _exactly(bound + write, *own), "read": _exactly(exchanges + read, *own)}

    users = [
        # Webhooks, and the status page on the operator listener: lists and replays dead letters.
        service("ingest", write=[topology.exchange, default], read=dlqs),
        # Backfill and the Fortnox article poll publish events; it consumes nothing.
        service("poller", write=[topology.exchange], read=[]),
        # Consumes its queue, publishes commands (creating a tenant's writer queue on its first
        # command: hence read on tenant queues), retries through the default exchange, dead letters.
        service("mapper", write=[topology.exchange, default, topology.dlx], read=[mapper], tenants=True),
        # Consumes the tenant queues, publishes results, retries, dead letters.
        service("fortnox-writer", write=[topology.exchange, default, topology.dlx], read=[], tenants=True),
        # Consumes its commands and the Fortnox results; publishes nothing but retries and dead letters.
        service("woo-writer", write=[default, topology.dlx], read=[woo_writer, results]),
        # `woonox dlq`, `woonox reconcile`, the management UI: the one administrator.
        {"name": f"{topology.prefix}-operator", "password_env": "RABBITMQ_OPERATOR_PASSWORD",
         "tags": ["administrator"], "configure": ".*", "write": ".*", "read": ".*"},
        # KEDA reads queue lengths from the management API: monitoring, and no AMQP rights at all.
        {"name": f"{topology.prefix}-keda", "password_env": "RABBITMQ_KEDA_PASSWORD", "optional": True,
         "tags": ["monitoring"], "configure": "^$", "write": "^$", "read": "^$"},
    ]
    return {"vhost": VHOST, "users": users}


def render_permissions(topology: Topology) -> str:
    return json.dumps(permissions(topology), indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="woonox")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args()
    topology = Topology(args.prefix)
    files = {DEFINITIONS: render(topology), PERMISSIONS: render_permissions(topology)}
    if args.check:
        stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"{path} is out of date: run python -m scripts.rabbitmq_definitions", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
