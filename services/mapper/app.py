"""Wiring of the mapper: consume the mapper group, map with each shop's settings, publish commands."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from libs.common.consumer import ConsumerService
from libs.common.crypto import SecretBox
from libs.common.logging import configure_logging
from libs.common.runner import serve
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.store.tenants import TenantStore
from libs.common.topology import MAPPER
from services.mapper.handlers import MapperHandlers
from services.mapper.settings import MapperSettings
from services.mapper.shop_settings_cache import ShopSettingsCache

__all__ = ["build_service", "create_app", "main"]


def build_service(settings: MapperSettings) -> ConsumerService:
    """The mapper as a ConsumerService (tests run it in-process with `service.running()`)."""
    service = ConsumerService("mapper", settings)
    engine = make_engine(settings.database_url, settings.db_schema, pool_size=2)
    tenants = TenantStore(make_sessionmaker(engine), SecretBox(settings.secret_keys.get_secret_value()))

    async def load(tenant: str) -> dict[str, Any]:
        return (await tenants.require(tenant)).settings

    handlers = MapperHandlers(service.publisher, ShopSettingsCache(load, settings.tenant_settings_ttl))
    service.consume(MAPPER, handlers, description="WooCommerce and Fortnox changes -> Fortnox/Woo commands")

    async def dispose() -> None:
        await engine.dispose()

    service.on_shutdown(dispose)
    return service


def create_app(settings: MapperSettings) -> FastAPI:
    return build_service(settings).asgi()


def main() -> None:
    settings = MapperSettings()
    configure_logging("mapper", settings.log_level, settings.log_json)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port, log_level="warning")
