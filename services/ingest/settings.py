"""Settings of the ingest service (webhooks, admin API) and its poller, built once in `main()`."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator

from libs.common.settings import CommonSettings

__all__ = ["MIN_ADMIN_TOKEN", "IngestSettings"]

MIN_ADMIN_TOKEN = 32


class IngestSettings(CommonSettings):
    # The webhook listener (webhooks and health only): the one port that may face the internet.
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("WOONOX_INGEST_HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=AliasChoices("WOONOX_INGEST_PORT"))
    # The admin listener (admin API, status page, /openapi.json, /docs, /metrics): operators only,
    # so loopback by default; in a cluster, an address NetworkPolicies keep internal.
    admin_host: str = Field("127.0.0.1", validation_alias=AliasChoices("WOONOX_ADMIN_HOST"))
    admin_port: int = Field(8001, ge=1, le=65535, validation_alias=AliasChoices("WOONOX_ADMIN_PORT"))
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
    # Whoever holds it can re-point a tenant's URLs and secrets, so a short or placeholder token is
    # refused at start (see `_strong_token`).
    admin_token: SecretStr = SecretStr("")
    # Base URL of the admin listener as the operator's browser reaches it, for the Fortnox OAuth
    # redirect_uri (the callback is served on the admin listener, never the public one).
    public_url: str = "http://127.0.0.1:8001"
    # PKCE (RFC 7636) on the Fortnox consent: off, because Fortnox's authorization documentation names
    # no code_challenge; the sandbox supports it (libs.common.fortnox.oauth).
    fortnox_pkce: bool = False
    # Backfill: how often each tenant's shop is polled, and how far before the cursor it looks again
    # (WooCommerce's modified dates are second-granular and writes commit out of order).
    backfill_interval_seconds: float = Field(300.0, gt=0)
    backfill_overlap_seconds: float = Field(120.0, ge=0)
    backfill_first_lookback_seconds: float = Field(24 * 3600.0, ge=0)
    fortnox_poll_interval_seconds: float = Field(60.0, gt=0)

    @field_validator("admin_token")
    @classmethod
    def _strong_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        if not token:
            return value  # no token: no admin API at all
        if len(token) < MIN_ADMIN_TOKEN or token.lower().startswith("change-me"):
            raise ValueError(f"WOONOX_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN} characters and not the "
                             "change-me placeholder (generate one: python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))')")
        return value
