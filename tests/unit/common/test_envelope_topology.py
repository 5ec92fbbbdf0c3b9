from __future__ import annotations

from datetime import UTC, datetime

import pytest

from libs.common.envelope import Envelope, deterministic_id
from libs.common.errors import PermanentError
from libs.common.topology import FORTNOX_WRITER, Topology, _matches


def test_deterministic_id_is_stable() -> None:
    assert deterministic_id("shop", "order", 1, "2026-01-01") == deterministic_id("shop", "order", 1, "2026-01-01")
    assert deterministic_id("shop", "order", 1, "2026-01-01") != deterministic_id("shop", "order", 1, "2026-01-02")


def test_envelope_round_trips_through_amqp_properties() -> None:
    env = Envelope.new(tenant="shop", type="woo.order.updated", payload={"id": 7}, correlation_id="d1",
                       occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    back = Envelope.from_amqp(body=env.body, headers=env.amqp_headers(), message_id=env.id, type=env.type,
                              correlation_id="d1", timestamp=env.occurred_at)
    assert back == env and back.payload() == {"id": 7}


def test_unknown_version_and_missing_tenant_are_permanent() -> None:
    with pytest.raises(PermanentError, match="unknown schema version 2"):
        Envelope.new(tenant="shop", type="woo.order.updated", payload={}, version=2).check_version()
    with pytest.raises(PermanentError, match="incomplete"):
        Envelope.from_amqp(body=b"{}", headers={}, message_id="x", type="woo.order.updated", correlation_id=None,
                           timestamp=None)


def test_commands_are_routed_to_their_tenant_queue() -> None:
    topo = Topology("p")
    assert topo.routing_key("fortnox.command.document", "shop") == "fortnox.command.document.shop"
    assert topo.routing_key("woo.order.created", "shop") == "woo.order.created"
    assert topo.tenant_queue(FORTNOX_WRITER, "shop") == "p.fortnox-writer.shop"


@pytest.mark.parametrize(("pattern", "key", "match"), [
    ("woo.order.*", "woo.order.updated", True), ("woo.order.*", "woo.order", False),
    ("fortnox.#", "fortnox.command.document.shop", True), ("woo.*.x", "woo.order.y", False),
])
def test_topic_matching(pattern: str, key: str, match: bool) -> None:
    assert _matches(pattern, key) is match
