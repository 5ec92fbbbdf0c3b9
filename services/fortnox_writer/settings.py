"""Settings of the fortnox-writer service (env WOONOX_*)."""

from __future__ import annotations

from pydantic import Field, model_validator

from libs.common.settings import CommonSettings


class WriterSettings(CommonSettings):
    host: str = Field("127.0.0.1", validation_alias="WOONOX_WRITER_HOST")
    port: int = Field(8003, validation_alias="WOONOX_WRITER_PORT")
    # Fortnox: 25 requests per 5 s per (client, tenant) (Fortnox developer docs,
    # https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits); see ratelimit.py
    # for why the window is a little longer here.
    rate_limit: int = Field(25, ge=1, le=25)
    rate_window: float = Field(5.1, ge=5.0)
    http_timeout: float = Field(20.0, gt=0)
    # A claim must outlive what happens under it: the rate-limit wait, a token refresh, the call.
    claim_lease_ms: int = Field(60_000, gt=0)
    rate_limit_max_wait: float = Field(30.0, gt=0)
    degraded_ms: int = Field(15 * 60_000, gt=0)
    tenant_refresh_seconds: float = Field(5.0, gt=0)
    prefetch: int = Field(4, ge=1, le=100)  # per tenant queue: the limiter, not concurrency, bounds a tenant

    @model_validator(mode="after")
    def _lease_outlives_calls(self) -> WriterSettings:
        # A claim must outlive any Fortnox call made under it (ledger.py).
        if self.claim_lease_ms <= self.http_timeout * 1000:
            raise ValueError("WOONOX_CLAIM_LEASE_MS must exceed WOONOX_HTTP_TIMEOUT (in ms)")
        return self
