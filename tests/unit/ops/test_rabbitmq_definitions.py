"""deploy/rabbitmq/definitions.json declares exactly what Topology("woonox") declares."""

from __future__ import annotations

import json

from libs.common.topology import Topology
from scripts.rabbitmq_definitions import DEFINITIONS, definitions, render


def test_definitions_file_is_current() -> None:
    assert DEFINITIONS.read_text() == render(Topology("woonox")), "run: python -m scripts.rabbitmq_definitions"


def test_definitions_hold_every_queue_with_its_arguments() -> None:
    topology = Topology("woonox")
    loaded = json.loads(DEFINITIONS.read_text())
    queues = {q["name"]: q for q in loaded["queues"]}
    per_tenant = {topology.queue(g) for g in topology.groups if getattr(g, "per_tenant", False)}
    assert set(queues) == set(topology.all_queues()) - per_tenant
    for group in topology.groups:
        if topology.queue(group) in queues:
            assert queues[topology.queue(group)]["arguments"] == dict(topology.queue_arguments(group))
        dlq = queues[topology.dlq(group)]["arguments"]
        assert dlq["x-queue-type"] == "quorum"
        for level, delay in enumerate(group.retry_delays):
            assert queues[topology.retry_queue(group, level)]["arguments"]["x-message-ttl"] == int(delay * 1000)
    assert all(q["durable"] and q["arguments"]["x-queue-type"] == "quorum" for q in queues.values())
    assert {e["name"] for e in loaded["exchanges"]} >= {topology.exchange, topology.dlx}
    assert {"/"} == {v["name"] for v in loaded["vhosts"]}
    dlq_bindings = {(b["source"], b["destination"]) for b in loaded["bindings"]}
    assert {(topology.dlx, topology.dlq(g)) for g in topology.groups} <= dlq_bindings


def test_definitions_do_not_depend_on_the_prefix_by_accident() -> None:
    other = json.dumps(definitions(Topology("acme")))
    assert "woonox." not in other
