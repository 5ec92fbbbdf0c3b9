"""Dead letters as operators see them: woonox's headers and RabbitMQ's x-death both read; filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import typer

from libs.cli.audit import about_order
from libs.cli.dlq import parse_since
from libs.common.dead_letters import DeadLetter, DeadLetterFilter, plain
from libs.common.overview import token_health


def message(headers: dict[str, Any], body: bytes = b'{"id": 7}', **props: Any) -> Any:
    return SimpleNamespace(headers=headers, body=body, message_id=props.get("message_id", "m1"),
                           type=props.get("type", "woo.order.updated"), correlation_id=None)


def test_woonox_headers_are_read() -> None:
    d = DeadLetter.from_message("p.mapper.dlq", message({
        "x-death-reason": b"account 3999 missing", "x-death-code": "2000588", "x-death-kind": "permanent",
        "x-death-queue": "p.mapper", "x-death-at": "2026-11-24T10:00:00+00:00", "x-attempt": 3,
        "x-tenant": b"shop", "x-routing-key": "woo.order.updated",
    }))
    assert (d.reason, d.code, d.kind, d.queue, d.tenant, d.attempts) == (
        "account 3999 missing", "2000588", "permanent", "p.mapper", "shop", 3)
    assert d.at == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert d.payload == {"id": 7}


def test_rabbitmq_delivery_limit_is_read_from_x_death() -> None:
    at = datetime(2026, 11, 24, 9, 30)  # AMQP timestamps arrive naive
    d = DeadLetter.from_message("p.mapper.dlq", message({
        "x-death": [{"reason": b"delivery_limit", "queue": b"p.mapper", "time": at, "count": 1,
                     "routing-keys": [b"woo.order.created"]}],
        "x-delivery-count": 20, "x-tenant": "shop",
    }, body=b"not json"))
    assert (d.code, d.kind, d.queue, d.routing_key) == ("delivery_limit", "delivery-limit", "p.mapper",
                                                        "woo.order.created")
    assert "20 times" in d.reason
    assert d.at == at.replace(tzinfo=UTC)
    assert d.payload == "not json"


def test_filter() -> None:
    d = DeadLetter(id="a", dlq="q.dlq", queue="q", tenant="t", reason="Account 3999 missing", code="2000588",
                   at=datetime(2026, 1, 2, tzinfo=UTC), type="fortnox.command.document")
    assert DeadLetterFilter(tenant="t", reason="account").matches(d)
    assert DeadLetterFilter(reason="2000588").matches(d)
    assert not DeadLetterFilter(tenant="u").matches(d)
    assert not DeadLetterFilter(since=datetime(2026, 1, 3, tzinfo=UTC)).matches(d)
    assert not DeadLetterFilter(ids=frozenset({"b"})).matches(d)
    assert not DeadLetterFilter(type="woo.order.updated").matches(d)
    assert DeadLetterFilter().empty
    assert not DeadLetterFilter(code="x").empty


def test_plain_decodes_nested_amqp_values() -> None:
    assert plain({"a": [b"x", {"b": b"y"}]}) == {"a": ["x", {"b": "y"}]}


def test_parse_since() -> None:
    assert parse_since("2026-11-24") == datetime(2026, 11, 24, tzinfo=UTC)
    two_hours = parse_since("2h")
    assert two_hours is not None
    assert abs((datetime.now(UTC) - two_hours) - timedelta(hours=2)) < timedelta(minutes=1)
    assert parse_since(None) is None
    with pytest.raises(typer.BadParameter):
        parse_since("last tuesday")


def test_token_health() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert token_health(now + timedelta(minutes=30), True, now) == "ok"
    assert token_health(now + timedelta(minutes=2), True, now) == "expiring"
    assert token_health(now - timedelta(minutes=2), True, now) == "expired"
    assert token_health(now - timedelta(minutes=2), False, now) == "refresh-missing"
    assert token_health(None, False, now) == "none"


def test_about_order() -> None:
    event = DeadLetter(id="a", dlq="d", queue="q", type="woo.order.updated", payload={"id": 727})
    command = DeadLetter(id="b", dlq="d", queue="q", type="fortnox.command.document", payload={"woo_order_id": 727})
    product = DeadLetter(id="c", dlq="d", queue="q", type="woo.product.updated", payload={"id": 727})
    assert about_order(event, "727")
    assert about_order(command, "727")
    assert not about_order(product, "727")
    assert not about_order(event, "728")
