"""Documents generated from code, checked in CI (tests/unit/ops/test_generated_docs.py):

    docs/asyncapi.json         every event and command on the broker, by FastStream, from
                               libs/common/topology.py (exchanges, queues, routing keys) and the
                               command models of libs/common/commands.py
    docs/openapi-ingest.json   ingest's HTTP API, by FastAPI, from services/ingest/app.py

    python -m scripts.gen_docs [--check]

The broker is described, never connected: FastStream builds the specification from the broker
object alone. The writer consumes per-tenant queues with aio-pika (libs/common/tenant_queues.py),
which FastStream cannot see, so the channels here are declared from the topology, not scraped
from the running services.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.specification import AsyncAPI
from pydantic import SecretStr

from libs.common import commands
from libs.common.crypto import generate_key
from libs.common.topology import Topology

__all__ = ["ASYNCAPI", "OPENAPI", "asyncapi", "openapi", "render"]

ROOT = Path(__file__).resolve().parents[1]
ASYNCAPI = ROOT / "docs" / "asyncapi.json"
OPENAPI = ROOT / "docs" / "openapi-ingest.json"
VERSION = "0.1.0"

WooPayload = dict[str, Any]  # WooCommerce's REST JSON exactly as delivered (WooCommerce REST API docs, https://woocommerce.github.io/woocommerce-rest-api-docs/)

# type -> (payload schema, who publishes it, what it means)
MESSAGES: dict[str, tuple[Any, str, str]] = {
    **{f"woo.{res}.{event}": (WooPayload, "ingest (webhook or backfill poll)",
                              f"A WooCommerce {res} was {event}; the body is the {res} as WooCommerce sent it.")
       for res in ("order", "product", "customer") for event in ("created", "updated", "deleted", "restored")},
    "fortnox.article.changed": (WooPayload, "ingest (Fortnox article poll)",
                                "A Fortnox article changed; the body is the Article as GET /3/articles returns it."),
    commands.COMMAND_DOCUMENT: (commands.DocumentCommand, "mapper",
                                "Desired state of the Fortnox order/invoice/offer of one WooCommerce order "
                                "snapshot (level-triggered). Routed with the tenant appended to the key."),
    commands.COMMAND_ARTICLE: (commands.ArticleCommand, "mapper", "Desired state of one Fortnox article."),
    commands.COMMAND_CUSTOMER: (commands.CustomerCommand, "mapper", "Find or create one Fortnox customer."),
    commands.COMMAND_STOCK: (commands.StockCommand, "mapper", "Stock level / price to write back to WooCommerce."),
}
CONSUMES: dict[str, Any] = {
    "mapper": WooPayload,
    "fortnox-writer": commands.DocumentCommand | commands.ArticleCommand | commands.CustomerCommand,
    "woo-writer": commands.StockCommand,
    "results": dict[str, Any],
}


def _broker(topology: Topology) -> RabbitBroker:
    broker = RabbitBroker("amqp://rabbitmq:5672/", description="woonox events and commands (RabbitMQ 3.10)")
    events = RabbitExchange(topology.exchange, type=ExchangeType.TOPIC, durable=True, declare=False)
    for group in topology.groups:
        per_tenant = getattr(group, "per_tenant", False)
        name = topology.queue(group) + (".{tenant}" if per_tenant else "")
        for binding in group.bindings:
            queue = RabbitQueue(name, queue_type=QueueType.QUORUM, durable=True, declare=False,
                                routing_key=binding)
            body = CONSUMES.get(group.name, dict[str, Any])

            async def handle(message: Any) -> None:
                """Documentation only: never run."""

            # Real objects, not the strings `from __future__ import annotations` leaves: FastStream
            # reads the payload schema from this annotation.
            handle.__annotations__ = {"message": body, "return": None}

            broker.subscriber(
                queue, events, title=f"{name}:{binding}",
                description=(f"Consumer group `{group.name}`{' (one queue per tenant)' if per_tenant else ''}. "
                             f"Failures go through `{topology.queue(group)}.retry.<n>` delay queues; permanent "
                             f"ones to `{topology.dlq(group)}` with the reason in headers (`woonox dlq list`)."),
            )(handle)
    for mtype, (schema, publisher, meaning) in MESSAGES.items():
        broker.publisher(exchange=events, routing_key=mtype, title=mtype, schema=schema,
                         description=f"{meaning} Published by {publisher}. Envelope in AMQP properties: "
                                     "message_id, correlation_id, type, timestamp; headers x-tenant, x-schema.")
    return broker


def asyncapi() -> dict[str, Any]:
    spec = AsyncAPI(_broker(Topology("woonox")), title="woonox", version=VERSION, schema_version="3.0.0",
                    description="Event-driven WooCommerce → Fortnox integration: the messages on the broker.")
    data: dict[str, Any] = spec.to_specification().to_jsonable()
    return data


def openapi() -> dict[str, Any]:
    from services.ingest.app import create_app
    from services.ingest.settings import IngestSettings

    # An admin token switches the admin API on, so it is documented; nothing connects, and the
    # throwaway key encrypts nothing.
    app = create_app(IngestSettings(admin_token=SecretStr("docs-" + "x" * 32), secret_keys=SecretStr(generate_key())))
    return app.state.admin_app.openapi()  # the document lives on the admin listener


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="write docs/asyncapi.json and docs/openapi-ingest.json")
    parser.add_argument("--check", action="store_true", help="exit 1 if a document is out of date")
    check = parser.parse_args().check
    stale = []
    for path, build in ((ASYNCAPI, asyncapi), (OPENAPI, openapi)):
        text = render(build())
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    for path in stale:
        print(f"{path} is out of date: run python -m scripts.gen_docs", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
