"""The WooCommerce shop emulator: the REST API v3 woonox uses, plus webhook deliveries like
WooCommerce's. In-process: `Emulator(...)` and `emulator.app` (mount under httpx.ASGITransport).
As a process: `woonox-woo-emulator` (settings from WOO_EMULATOR_* env), with control routes under
/_emulator for demos and tests (seed data, make changes, flush deliveries, inject faults)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.common.runner import serve
from services.woo_emulator.dispatch import Dispatcher
from services.woo_emulator.rest import rest_router, woo_error_handler
from services.woo_emulator.shop import Shop

__all__ = ["Emulator", "EmulatorSettings", "main"]


class EmulatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WOO_EMULATOR_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8100
    url: str = "http://127.0.0.1:8100"
    consumer_key: str = "ck_demo"
    consumer_secret: str = "cs_demo"  # noqa: S105 - the emulator's own demo credentials
    # Where webhooks go (e.g. http://127.0.0.1:8000/webhooks/woocommerce/demo); empty = no webhooks.
    webhook_url: str = ""
    webhook_secret: str = "demoWebhookSecret1"  # noqa: S105 - demo only
    # Action Scheduler's pace: waiting deliveries are sent this often.
    flush_seconds: float = Field(1.0, gt=0)
    drop_rate: float = Field(0.0, ge=0, le=1)
    fail_rate: float = Field(0.0, ge=0, le=1)


class Faults(BaseModel):
    drop_rate: float = Field(0.0, ge=0, le=1)
    fail_rate: float = Field(0.0, ge=0, le=1)


class NewProduct(BaseModel):
    name: str
    sku: str
    price: Decimal
    stock: int | None = None


class NewOrder(BaseModel):
    customer_id: int | None = None
    lines: list[tuple[int, int]]
    status: str = "processing"


class Emulator:
    def __init__(self, shop: Shop, http: httpx.AsyncClient, *, drop_rate: float = 0.0, fail_rate: float = 0.0,
                 seed: int = 7) -> None:
        self.shop = shop
        self.dispatcher = Dispatcher(shop, http, drop_rate=drop_rate, fail_rate=fail_rate, seed=seed)
        self.app = FastAPI(title="WooCommerce shop emulator (woonox)", redirect_slashes=False)
        self.app.add_exception_handler(HTTPException, woo_error_handler)
        self.app.include_router(rest_router(shop, self.dispatcher))
        self.app.include_router(self._control())

    def _control(self) -> APIRouter:
        router = APIRouter(prefix="/_emulator", tags=["control"])
        shop, dispatcher = self.shop, self.dispatcher

        @router.post("/flush")
        async def flush() -> dict[str, int]:
            done = await dispatcher.flush()
            return {outcome: sum(d.outcome == outcome for d in done) for outcome in ("ok", "failed", "dropped")}

        @router.put("/faults")
        async def faults(body: Faults) -> Faults:
            dispatcher.drop_rate, dispatcher.fail_rate = body.drop_rate, body.fail_rate
            return body

        @router.post("/products", status_code=201)
        async def new_product(body: NewProduct) -> dict[str, Any]:
            return shop.create_product(body.name, body.sku, body.price, body.stock)

        @router.post("/orders", status_code=201)
        async def new_order(body: NewOrder) -> dict[str, Any]:
            return shop.create_order(body.customer_id, body.lines, status=body.status)

        @router.get("/deliveries")
        async def deliveries() -> list[dict[str, Any]]:
            return [{"webhook_id": d.webhook_id, "topic": d.topic, "object_id": d.object_id, "outcome": d.outcome,
                     "status": d.status} for d in dispatcher.log[-500:]]

        return router


def main() -> None:
    settings = EmulatorSettings()
    shop = Shop(url=settings.url, consumer_key=settings.consumer_key, consumer_secret=settings.consumer_secret)
    http = httpx.AsyncClient()
    emulator = Emulator(shop, http, drop_rate=settings.drop_rate, fail_rate=settings.fail_rate)
    if settings.webhook_url:
        shop.subscribe_all(settings.webhook_url, settings.webhook_secret)

    async def pace() -> None:
        while True:
            await asyncio.sleep(settings.flush_seconds)
            await emulator.dispatcher.flush()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(pace())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await http.aclose()

    emulator.app.router.lifespan_context = lifespan
    serve(emulator.app, host=settings.host, port=settings.port)
