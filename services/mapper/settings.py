"""The mapper's settings: the common ones plus its HTTP side (health, readiness, metrics)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from libs.common.settings import CommonSettings

__all__ = ["MapperSettings"]


class MapperSettings(CommonSettings):
    http_host: str = Field("127.0.0.1", validation_alias=AliasChoices("WOONOX_MAPPER_HOST"))
    http_port: int = Field(8002, ge=1, le=65535, validation_alias=AliasChoices("WOONOX_MAPPER_PORT"))
    # Shop settings are read from the store of record and kept this long per tenant, so a burst of
    # orders does not query PostgreSQL once each, and a settings change applies within seconds.
    tenant_settings_ttl: float = Field(5.0, ge=0, le=600)
