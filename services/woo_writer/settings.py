"""Settings of the woo-writer (applies Fortnox stock and prices to WooCommerce)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from libs.common.settings import CommonSettings

__all__ = ["WooWriterSettings"]


class WooWriterSettings(CommonSettings):
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("WOONOX_WOO_WRITER_HOST"))
    port: int = Field(8005, ge=1, le=65535, validation_alias=AliasChoices("WOONOX_WOO_WRITER_PORT"))
    tenant_cache_seconds: float = Field(30.0, ge=0)
    # How long the snapshot we wrote is remembered as "seen" at ingest's edge (echo suppression).
    echo_seconds: int = Field(7 * 24 * 3600, ge=60)
