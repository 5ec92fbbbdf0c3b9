"""WooCommerce's current state of an object, re-read from the REST API after a tie.

When two snapshots of one object share a one-second stamp (services/ingest/ties.py), neither can be
told to be the later one. The re-read is: it was taken after both. It is published marked, and the
mark makes it count as later than every snapshot of its second (REREAD_OFFSET after its stamp) and
gives it its own identity (the mark is part of its content), so it is neither deduplicated against
a snapshot already published nor overtaken by the older snapshot arriving, or being retried, last.
A later change in the same second is again a tie, and re-read again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["REREAD_KEY", "REREAD_OFFSET", "mark_reread", "snapshot_moment"]

REREAD_KEY = "_woonox_reread"
# Less than a second, so a stamp of the next second still wins over the re-read.
REREAD_OFFSET = timedelta(milliseconds=500)


def mark_reread(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {**obj, REREAD_KEY: True}


def snapshot_moment(obj: Mapping[str, Any], *fields: str) -> datetime | None:
    """When the snapshot was taken, for "latest wins": the first of `fields` that is set (default
    date_modified_gmt, UTC), plus REREAD_OFFSET for a tie's re-read."""
    value = next((obj.get(f) for f in fields or ("date_modified_gmt",) if obj.get(f)), None)
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment + REREAD_OFFSET if obj.get(REREAD_KEY) is True else moment
