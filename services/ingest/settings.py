"""Settings of the ingest service (webhooks, admin API) and its poller, built once in `main()`."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from libs.common.settings import CommonSettings

__all__ = ["IngestSettings"]


class IngestSettings(CommonSettings):
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("WOONOX_INGEST_HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=AliasChoices("WOONOX_INGEST_PORT"))
    poller_port: int = Field(8004, ge=1, le=65535, validation_alias=AliasChoices("WOONOX_POLLER_PORT"))
    # WooCommerce orders with hundreds of lines stay well under this; anything larger is refused
    # with 413 before it is read into memory.
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    # The hot path must not ask PostgreSQL on every delivery (docs/benchmarks.md);
    # a changed secret is picked up within this many seconds.
    tenant_cache_seconds: float = Field(5.0, ge=0)
    # Edge dedup costs a Redis round trip per delivery; it only makes replays cheap (never correctness).
    edge_dedup: bool = True
    # How long an accepted (tenant, resource, id, modified) is remembered for edge deduplication.
    dedup_seconds: int = Field(7 * 24 * 3600, ge=1)
    # Operator token of the admin API (Authorization: Bearer <token>); empty disables the admin API.
    admin_token: SecretStr = SecretStr("")
    # Public base URL of this service, for the Fortnox OAuth redirect_uri.
    public_url: str = "http://127.0.0.1:8000"
    # Backfill: how often each tenant's shop is polled, and how far before the cursor it looks again
    # (WooCommerce's modified dates are second-granular and writes commit out of order).
    backfill_interval_seconds: float = Field(300.0, gt=0)
    backfill_overlap_seconds: float = Field(120.0, ge=0)
    backfill_first_lookback_seconds: float = Field(24 * 3600.0, ge=0)
    fortnox_poll_interval_seconds: float = Field(60.0, gt=0)
