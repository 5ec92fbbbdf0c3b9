"""The message envelope every event and command travels in.

On the wire the envelope lives in AMQP properties and headers and the body is the payload's JSON,
untouched: ingest passes WooCommerce's raw bytes through instead of parsing and re-serialising
them (docs/benchmarks.md: everything here is bound by Python CPU).

    message_id      Envelope.id (deterministic where the source gives one: a replay keeps its id)
    correlation_id  Envelope.correlation_id (the WooCommerce delivery id where there is one)
    type            Envelope.type, e.g. "woo.order.updated", "fortnox.command.document"
    timestamp       Envelope.occurred_at
    x-tenant        Envelope.tenant
    x-schema        Envelope.version
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from libs.common.errors import PermanentError

__all__ = [
    "SCHEMA_VERSIONS",
    "Envelope",
    "deterministic_id",
]

# The schema versions each message family understands. A consumer rejects any other version to the
# dead-letter queue (never drops it): a newer producer must not be silently ignored.
SCHEMA_VERSIONS: dict[str, frozenset[int]] = {
    "woo": frozenset({1}),
    "fortnox": frozenset({1}),
}

HEADER_TENANT = "x-tenant"
HEADER_SCHEMA = "x-schema"


def deterministic_id(*parts: object) -> str:
    """A message id derived from what identifies the event, so a replayed event keeps its id."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:32]


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    tenant: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=3, max_length=128)
    version: int = 1
    occurred_at: datetime
    correlation_id: str | None = None
    body: bytes = Field(repr=False)

    @property
    def family(self) -> str:
        return self.type.split(".", 1)[0]

    def payload(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise PermanentError(f"message body is not JSON: {exc}", code="bad-json") from exc

    def check_version(self) -> None:
        known = SCHEMA_VERSIONS.get(self.family, frozenset())
        if self.version not in known:
            raise PermanentError(
                f"unknown schema version {self.version} for {self.type} (this consumer reads "
                f"{sorted(known) or 'no versions'})",
                code="unknown-schema-version",
            )

    @classmethod
    def new(
        cls,
        *,
        tenant: str,
        type: str,
        payload: Any | None = None,
        body: bytes | None = None,
        id: str | None = None,
        correlation_id: str | None = None,
        occurred_at: datetime | None = None,
        version: int = 1,
    ) -> Envelope:
        if body is None:
            body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        return cls(
            id=id or deterministic_id(tenant, type, hashlib.sha256(body).hexdigest()),
            tenant=tenant,
            type=type,
            version=version,
            occurred_at=occurred_at or datetime.now(UTC),
            correlation_id=correlation_id,
            body=body,
        )

    def amqp_headers(self) -> dict[str, Any]:
        return {HEADER_TENANT: self.tenant, HEADER_SCHEMA: self.version}

    @classmethod
    def from_amqp(
        cls,
        *,
        body: bytes,
        headers: Mapping[str, Any] | None,
        message_id: str | None,
        type: str | None,
        correlation_id: str | None,
        timestamp: datetime | None,
    ) -> Envelope:
        """Rebuild the envelope from a delivered message; anything missing is a permanent error."""
        headers = headers or {}
        try:
            return cls(
                id=message_id or "",
                tenant=str(headers.get(HEADER_TENANT, "")),
                type=type or "",
                version=int(headers.get(HEADER_SCHEMA, 0)),
                occurred_at=(timestamp or datetime.now(UTC)).replace(tzinfo=timestamp.tzinfo or UTC)
                if timestamp
                else datetime.now(UTC),
                correlation_id=correlation_id,
                body=body,
            )
        except (ValidationError, ValueError, TypeError) as exc:
            raise PermanentError(f"message envelope is incomplete: {exc}", code="bad-envelope") from exc
