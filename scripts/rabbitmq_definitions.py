"""RabbitMQ definitions (deploy/rabbitmq/definitions.json) generated from libs/common/topology.py.

The file is made by running `Topology.declare` against a channel that records instead of
declaring, so it holds exactly what the services would declare themselves — nothing typed twice.
Per-tenant queues (`<prefix>.fortnox-writer.<tenant>`) come and go with tenants and are declared by
the writer at run time, so they are not in the file.

    python -m scripts.rabbitmq_definitions [--prefix woonox] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from libs.common.topology import Topology

__all__ = ["DEFINITIONS", "definitions", "render"]

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="woonox")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args()
    text = render(Topology(args.prefix))
    if args.check:
        if not DEFINITIONS.exists() or DEFINITIONS.read_text() != text:
            print(f"{DEFINITIONS} is out of date: run python -m scripts.rabbitmq_definitions", file=sys.stderr)
            return 1
        return 0
    DEFINITIONS.write_text(text)
    print(f"wrote {DEFINITIONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
