from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from libs.common.woo import content_digest, snapshot_id
from services.ingest.delivery import DELETION_WINDOW_SECONDS, Rejection, classify, event_id, parse_topic

ORDER = {"id": 5, "status": "processing", "line_items": [], "date_modified_gmt": "2026-05-12T10:15:00"}


def body(data: object) -> bytes:
    return json.dumps(data).encode()


@pytest.mark.parametrize("topic", ["order.created", "order.updated", "order.deleted", "order.restored",
                                   "product.updated", "customer.created"])
def test_known_topics(topic: str) -> None:
    assert parse_topic(topic) == tuple(topic.split("."))


@pytest.mark.parametrize("topic", [None, "", "coupon.created", "order.archived", "action.woocommerce_x", "order"])
def test_unknown_topics_are_rejected(topic: str | None) -> None:
    with pytest.raises(Rejection) as info:
        parse_topic(topic)
    assert info.value.status == 400


def test_order_id_is_deterministic_per_snapshot_and_event_independent() -> None:
    created = classify("t", "order.created", body(ORDER))
    # WooCommerce's order.updated right after order.created has a byte-identical body: one event
    updated = classify("t", "order.updated", json.dumps(ORDER, separators=(",", ":")).encode())
    assert created.action == updated.action == "publish"
    assert created.event_id == updated.event_id == snapshot_id("t", "order", 5, "2026-05-12T10:15:00",
                                                               content_digest(ORDER))
    assert updated.type == "woo.order.updated"
    assert classify("u", "order.updated", body(ORDER)).event_id != created.event_id


def test_two_changes_in_one_second_are_two_events() -> None:
    """Real WooCommerce: order 29 created `processing` and completed 0.47 s later, both stamped 19:18:53."""
    processing = classify("t", "order.updated", body(ORDER))
    completed = classify("t", "order.updated", body({**ORDER, "status": "completed"}))
    assert processing.modified == completed.modified
    assert processing.event_id != completed.event_id


def test_links_are_not_part_of_the_snapshot() -> None:
    linked = {**ORDER, "_links": {"self": [{"href": "https://shop/wp-json/wc/v3/orders/5"}]}}
    assert classify("t", "order.updated", body(linked)).event_id == classify("t", "order.updated", body(ORDER)).event_id


def test_deleted_needs_only_an_id_and_its_identity_is_only_what_is_signed() -> None:
    at = datetime(2026, 12, 1, 19, 14, 40, tzinfo=UTC)
    first = classify("t", "order.deleted", b'{"id": 5}', received=at)
    assert (first.action, first.object_id) == ("publish", 5)
    assert classify("t", "order.deleted", b'{"id": 5}', received=at).event_id == first.event_id
    assert classify("t", "order.deleted", b'{"id": 6}', received=at).event_id != first.event_id


def test_trash_restore_trash_is_two_deletions_by_webhook_and_by_backfill() -> None:
    """A deletion's body is only {"id": N}: with a 7-day dedup on that body alone, the second trash
    of a restored order was answered `duplicate`."""
    trashed = datetime(2026, 12, 1, 19, 14, 40, tzinfo=UTC)
    first = classify("t", "order.deleted", b'{"id": 5}', received=trashed)
    # A repeat of that delivery within the window is the same deletion...
    again = trashed + timedelta(seconds=DELETION_WINDOW_SECONDS - 41)
    assert classify("t", "order.deleted", b'{"id": 5}', received=again).event_id == first.event_id
    # ...the trash after a restore, an hour later, is another.
    later = trashed + timedelta(hours=1)
    assert classify("t", "order.deleted", b'{"id": 5}', received=later).event_id != first.event_id
    # The backfill's trash listing reads the trashed object with its stamp: each trash its own.
    one = event_id("t", "order", 5, "2026-12-01T19:14:40", {"id": 5}, "deleted")
    two = event_id("t", "order", 5, "2026-12-01T20:14:40", {"id": 5}, "deleted")
    assert one != two
    assert one == event_id("t", "order", 5, "2026-12-01T19:14:40", {"id": 5}, "deleted")


def test_a_forged_topic_event_does_not_make_a_second_event() -> None:
    """The topic header is not signed: a deletion's `{"id": N}` replayed as `customer.updated` (a
    customer body needs only an id) is the same event, so the edge dedup drops it."""
    at = datetime(2026, 12, 1, 19, 14, 40, tzinfo=UTC)
    deleted = classify("t", "customer.deleted", b'{"id": 5}', received=at)
    forged = classify("t", "customer.updated", b'{"id": 5}', received=at + timedelta(seconds=10))
    assert (deleted.action, forged.action) == ("publish", "publish")
    assert forged.event_id == deleted.event_id
    stampless = {"id": 5, "email": "a@example.com"}
    assert classify("t", "customer.created", body(stampless), received=at).event_id == \
        classify("t", "customer.updated", body(stampless), received=at).event_id


@pytest.mark.parametrize("data", [ORDER, {"id": 5, "status": "trash"}, {"id": 5, "date_modified_gmt": "x"}])
def test_a_signed_snapshot_replayed_as_a_deletion_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(Rejection) as info:
        classify("t", "order.deleted", body(data))
    assert (info.value.status, info.value.error) == (400, "invalid-body")


def test_checkout_draft_is_ignored_and_rest_error_asks_for_a_poll() -> None:
    assert classify("t", "order.updated", body({**ORDER, "status": "checkout-draft"})).action == "ignore"
    err = classify("t", "order.updated", body({"code": "woocommerce_rest_cannot_view", "message": "no"}))
    assert err.action == "poll"


@pytest.mark.parametrize(("raw", "error"), [
    (b"{", "bad-json"), (b"[1]", "bad-body"), (body({"id": 5}), "invalid-body"),
    (body({**ORDER, "id": "x"}), "invalid-body"), (body({**ORDER, "id": 0}), "invalid-body"),
])
def test_bad_bodies(raw: bytes, error: str) -> None:
    with pytest.raises(Rejection) as info:
        classify("t", "order.updated", raw)
    assert info.value.error == error


def test_variation_is_a_product() -> None:
    decision = classify("t", "product.updated", body({"id": 9, "type": "variation", "parent_id": 3}))
    assert (decision.action, decision.type) == ("publish", "woo.product.updated")
