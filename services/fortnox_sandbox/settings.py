"""Settings of the Fortnox sandbox, built once in `main()` (or handed to `create_app`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SandboxSettings"]


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WOONOX_SANDBOX_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8900, ge=1, le=65535)
    # Fortnox developer docs, https://www.fortnox.se/developer/authorization: access tokens live 3600 s,
    # refresh tokens 45 days.
    access_token_ttl: int = Field(3600, ge=0)
    refresh_token_ttl: int = Field(45 * 24 * 3600, ge=1)
    # HS256 key of the sandbox's JWTs; empty = a random key per process (or the one kept in SQLite).
    jwt_secret: str = ""
    # Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits:
    # 25 requests per 5 s sliding window per (client, tenant).
    rate_limit: int = Field(25, ge=1)
    rate_window_seconds: float = Field(5.0, gt=0)
    # Request bodies are checked against openapi.json always (Fortnox rejects bad bodies too);
    # responses only when asked, because it costs CPU the benchmarks need (docs/sandbox.md).
    validate_requests: bool = True
    validate_responses: bool = False
    # Entries kept, oldest dropped first: ~1-3 KB each with bodies, so 100k ≈ 100-300 MB. Benchmarks read
    # whole runs back from it; a long-running staging sandbox may want less.
    journal_size: int = Field(100_000, ge=0)
    # Path of a SQLite file that keeps companies, tokens and resources across restarts; "" = memory.
    sqlite_path: str = ""
    # The URL the sandbox reports in `@url` fields and consent redirects.
    public_url: str = "http://127.0.0.1:8900"
    # A consent from an unknown client_id registers it, and the first secret it presents at the token
    # endpoint becomes its secret (trust on first use), so a staging tenant needs no admin call first.
    auto_register_clients: bool = True
    # Used by `main()` only: fault randomness is seeded for reproducible runs.
    fault_seed: int | None = None
    log_level: str = "INFO"
