"""What one signed WooCommerce delivery means: which event, which object, publish or not.

Pure functions, no I/O: `classify` turns (tenant, topic, raw body) into a `Decision` the HTTP layer
acts on. Rules from WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php:
- topics are `<resource>.<event>`; woonox uses order, product (variations included) and customer;
- `*.deleted` carries only `{"id": N}` (for orders and products it means *moved to trash*);
- a signed body that is a REST error names no object: it is a hint to poll, never data;
- `order.updated` still fires for `checkout-draft` orders: those are ignored;
- an order whose `refunds[]` is only {id, reason, total} (all a real WooCommerce 10 webhook gives) is
  fetched by the backfill with its refund objects instead of being published without them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from libs.common.envelope import deterministic_id
from libs.common.woo.edge_keys import content_digest, echo_values, snapshot_id
from services.ingest.refund_details import needs_refund_details

__all__ = ["DELETION_WINDOW_SECONDS", "EVENTS", "RESOURCES", "Decision", "Rejection", "classify", "event_id",
           "parse_topic"]

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
    # product.updated: (id, stock, regular price), to recognise the echo of a woo-writer write by content
    echo: tuple[int, str, str] | None = None

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


# A deletion whose signed body is only `{"id": N}` (all a real WooCommerce 10 sends) dedups within
# this window: the body cannot tell a second trash (after a restore) from a repeat of the first.
DELETION_WINDOW_SECONDS = 60


def event_id(tenant: str, resource: str, object_id: int, modified: str | None, data: Mapping[str, Any],
             event: str, received: datetime | None = None) -> str:
    """Same snapshot, same id: a webhook and a backfill of one snapshot collapse into one; two
    snapshots that share a one-second stamp but differ in content are two events.

    Only what is signed counts: the body (its stamp and content). The headers are not signed: the
    X-WC-Webhook-Delivery-ID is shared by a webhook's deliveries within a second and can be forged,
    and so can the event in X-WC-Webhook-Topic. Neither joins a webhook's id, else one signed body
    replayed with a new delivery id, or a deletion's `{"id": N}` replayed as `customer.updated`,
    passes dedup as a second event (issue 16). The resource stays in the id: the same number names
    different objects in different resources, and WooCommerce itself sends `product.deleted` with an
    order's id when an order is trashed (the mapper ignores product deletions).

    A body without a stamp — a webhook deletion is only `{"id": N}` (`classify` refuses anything
    more) — is told apart only by when it arrived (`received`, in windows of DELETION_WINDOW_SECONDS):
    a repeat within the window is a duplicate, under whatever topic; a later trash is a new event. A
    deletion changes nothing in Fortnox (the mapper acknowledges it), so the same trash seen once by
    webhook and once by backfill costs one message. A deletion with a stamp comes only from the
    backfill's trash listing (a REST read, not headers): that trash, so trash -> restore -> trash
    are two."""
    if event == "deleted" and modified:
        return deterministic_id(tenant, resource, object_id, event, modified, content_digest(data))
    if not modified:
        window = int((received or datetime.now(UTC)).timestamp()) // DELETION_WINDOW_SECONDS
        return deterministic_id(tenant, resource, object_id, content_digest(data), f"window:{window}")
    return snapshot_id(tenant, resource, object_id, modified, content_digest(data))


def _is_rest_error(data: dict[str, Any]) -> bool:
    return "id" not in data and isinstance(data.get("code"), str) and "message" in data


def classify(tenant: str, topic: str | None, body: bytes, *, received: datetime | None = None) -> Decision:
    """Decide what a verified delivery is (`received`: when it arrived, now if not given). Raises
    `Rejection` for input that is wrong and stays wrong."""
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
    if event == "deleted" and set(data) != {"id"}:
        # WooCommerce sends only `{"id": N}` for a deletion. More means a signed snapshot replayed
        # under a forged `*.deleted` topic: refused, or an update could be turned into a trashing.
        raise Rejection(400, "invalid-body", f"{resource}.deleted body must be only {{\"id\": N}}, "
                                             f"got the fields {', '.join(sorted(map(str, data)))}")
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
    if resource == "order" and event != "deleted" and needs_refund_details(data):
        # The refunds' lines, taxes and dates are only in the REST API: the backfill reads them
        # (services/ingest/refund_details.py) and publishes the order with them.
        return Decision("poll", resource, event, head.id, head.date_modified_gmt,
                        reason="the order's refunds carry no lines; their details come from /orders/{id}/refunds")
    eid = event_id(tenant, resource, head.id, head.date_modified_gmt, data, event, received)
    echo = echo_values(data) if (resource, event) == ("product", "updated") else None
    return Decision("publish", resource, event, head.id, head.date_modified_gmt, eid, echo=echo)
