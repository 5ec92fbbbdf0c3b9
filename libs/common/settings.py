"""Settings shared by every service: where the servers are and how names are prefixed.

Each service subclasses `CommonSettings` in its own `settings.py`; the instance is built once in
`main()` (never at import time). Unknown `WOONOX_*` keys are rejected so a typo is an error, not a
silently ignored setting.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CommonSettings"]


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WOONOX_", extra="forbid", frozen=True)

    rabbitmq_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/",
        validation_alias=AliasChoices("RABBITMQ_URL", "WOONOX_RABBITMQ_URL"),
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", validation_alias=AliasChoices("REDIS_URL", "WOONOX_REDIS_URL")
    )
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        validation_alias=AliasChoices("DATABASE_URL", "WOONOX_DATABASE_URL"),
    )
    # Prefixes keep deployments (and tests) apart on shared servers.
    broker_prefix: str = "woonox"
    redis_prefix: str = "woonox"
    db_schema: str = "woonox"
    # Fernet keys (urlsafe base64, 32 bytes), comma-separated; the first encrypts, all decrypt,
    # so a key can be rotated without downtime.
    secret_keys: SecretStr = SecretStr("")
    # Hosts that tenant URLs may reach over plain http and at internal addresses (the sandbox, the
    # shop emulator, tests); empty in production. Read by libs.common.outbound.
    allow_http_hosts: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    prefetch: int = Field(32, ge=1, le=1000)
