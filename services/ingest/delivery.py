"""What one signed WooCommerce delivery means: which event, which object, publish or not.

Pure functions, no I/O: `classify` turns (tenant, topic, raw body) into a `Decision` the HTTP layer
acts on. Rules from WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php:
- topics are `<resource>.<event>`; woonox uses order, product (variations included) and customer;
- `*.deleted` carries only `{"id": N}` (for orders and products it means *moved to trash*);
- a signed body that is a REST error names no object: it is a hint to poll, never data;
- `order.updated` still fires for `checkout-draft` orders: those are ignored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from libs.common.envelope import deterministic_id
from libs.common.woo.edge_keys import snapshot_id

__all__ = ["EVENTS", "RESOURCES", "Decision", "Rejection", "classify", "event_id", "parse_topic"]

RESOURCES = frozenset({"order", "product", "customer"})
EVENTS = frozenset({"created", "updated", "deleted", "restored"})
IGNORED_ORDER_STATUSES = frozenset({"checkout-draft"})


@dataclass(frozen=True)
class Rejection(Exception):
    """A delivery refused with a 4xx; `error` is the machine code, `reason` the sentence."""

    status: int
    error: str
    reason: str


@dataclass(frozen=True)
class Decision:
    action: Literal["publish", "ignore", "poll"]
    resource: str
    event: str
    object_id: int | None = None
    modified: str | None = None
    event_id: str = ""
    reason: str = ""

    @property
    def type(self) -> str:
        return f"woo.{self.resource}.{self.event}"


class _Head(BaseModel):
    """The fields of a snapshot woonox relies on; everything else passes through untouched."""

    model_config = ConfigDict(extra="ignore")

    id: int = Field(gt=0)
    date_modified_gmt: str | None = None


class _Order(_Head):
    status: str = Field(min_length=1)
    line_items: list[Any]


class _Product(_Head):
    type: str = Field(min_length=1)
    parent_id: int | None = None


class _Customer(_Head):
    email: str | None = None


_MODELS: dict[str, type[_Head]] = {"order": _Order, "product": _Product, "customer": _Customer}


def parse_topic(topic: str | None) -> tuple[str, str]:
    if not topic:
        raise Rejection(400, "missing-topic", "X-WC-Webhook-Topic is missing")
    resource, _, event = topic.strip().partition(".")
    if resource not in RESOURCES or event not in EVENTS:
        raise Rejection(
            400, "unknown-topic",
            f"topic {topic!r} is not one woonox reads (order|product|customer).(created|updated|deleted|restored)",
        )
    return resource, event


def event_id(tenant: str, resource: str, object_id: int, modified: str | None, body: bytes, event: str,
             delivery_id: str | None) -> str:
    """Same snapshot, same id: a webhook and a backfill of one (object, modified time) collapse into one.

    A deletion's body is only `{"id": N}`, identical every time the object is trashed, so without a
    modified time the event and delivery id join the body hash (else a second trash would look like a
    replay of the first)."""
    if modified:
        return snapshot_id(tenant, resource, object_id, modified)
    return deterministic_id(tenant, resource, object_id, event, hashlib.sha256(body).hexdigest(), delivery_id or "")


def _is_rest_error(data: dict[str, Any]) -> bool:
    return "id" not in data and isinstance(data.get("code"), str) and "message" in data


def classify(tenant: str, topic: str | None, body: bytes, delivery_id: str | None = None) -> Decision:
    """Decide what a verified delivery is. Raises `Rejection` for input that is wrong and stays wrong."""
    resource, event = parse_topic(topic)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejection(400, "bad-json", f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Rejection(400, "bad-body", f"body is a JSON {type(data).__name__}, expected an object")
    if _is_rest_error(data):
        # The body is built when sent, as the webhook's owner: a lost permission or a vanished object
        # gives a signed error that WooCommerce counts as delivered. Only polling recovers it.
        return Decision("poll", resource, event, reason=f"WooCommerce sent a REST error ({data['code']})")
    model: type[_Head] = _Head if event == "deleted" else _MODELS[resource]
    try:
        head = model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) + f" ({e['msg']})" for e in exc.errors())
        raise Rejection(400, "invalid-body", f"{resource}.{event} body is missing or has invalid fields: {fields}") \
            from None
    if isinstance(head, _Order) and head.status in IGNORED_ORDER_STATUSES:
        return Decision("ignore", resource, event, head.id, head.date_modified_gmt,
                        reason=f"order status {head.status} is not an order yet")
    eid = event_id(tenant, resource, head.id, head.date_modified_gmt, body, event, delivery_id)
    return Decision("publish", resource, event, head.id, head.date_modified_gmt, eid)
