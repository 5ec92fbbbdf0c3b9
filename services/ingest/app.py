"""Wiring of the ingest service, on two listeners (issue 16):

- the webhook listener (WOONOX_INGEST_HOST/PORT): `POST /webhooks/woocommerce/{tenant}`, /healthz and
  /readyz, nothing else. It is the one that may face the internet.
- the admin listener (WOONOX_ADMIN_HOST/PORT, loopback by default): the admin API, the status page,
  the Fortnox OAuth callback, /openapi.json, /docs and /metrics.

`create_app` returns the webhook app; the admin app is `app.state.admin_app` and shares its state
(one pool, one publisher, one Redis). One process serves both (`main`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from urllib.parse import unquote_to_bytes

import redis.asyncio as aioredis
import structlog
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from libs.common.consumer import health_routes
from libs.common.crypto import SecretBox
from libs.common.errors import TransientError
from libs.common.fortnox.tokens import TokenManager
from libs.common.logging import configure_logging
from libs.common.outbound import guarded_client
from libs.common.publisher import Publisher
from libs.common.store.db import make_engine, make_sessionmaker
from libs.common.store.tenants import TenantStore
from libs.common.topology import Topology
from services.ingest.admin import callback_router
from services.ingest.admin import router as admin_router
from services.ingest.dedup import EdgeDedup
from services.ingest.fast_path import WebhookFastPath
from services.ingest.operator_auth import require_operator
from services.ingest.settings import IngestSettings
from services.ingest.tenant_cache import TenantCache
from services.ingest.webhooks import WebhookReceiver

__all__ = ["create_app", "main"]

log = structlog.get_logger("woonox.ingest")
RECONNECT_SECONDS = 2.0


async def _connect_until_up(publisher: Publisher, started: asyncio.Event) -> None:
    """Keep trying at start: ingest serves (503 + /readyz 503) while RabbitMQ is away, never crashes.
    `started` is set only once the topology is declared: `publisher.connected` turns true earlier."""
    while True:
        try:
            await publisher.connect()
            started.set()
            log.info("broker_connected")
            return
        except TransientError as exc:
            log.warning("broker_unreachable", error=exc.reason)
            await asyncio.sleep(RECONNECT_SECONDS)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    """Every error answer is `{"error": ..., "reason": ...}`, the same shape as the webhook's."""
    assert isinstance(exc, HTTPException)
    body = exc.detail if isinstance(exc.detail, dict) else {"error": f"http-{exc.status_code}", "reason": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return JSONResponse({"error": "invalid-request", "reason": reason}, status_code=422)


def _include_status_page(app: FastAPI) -> None:
    """The operators' status page lives in its own module (another team's); mounted when present."""
    try:
        from services.ingest.status_page import router as status_router
    except ModuleNotFoundError as exc:
        if exc.name != "services.ingest.status_page":
            raise  # the page exists but something it imports is missing: that is a bug, not absence
        return
    # At the root: the page links and redirects to absolute /status paths.
    app.include_router(status_router, dependencies=[Depends(require_operator)])


class _NoNulInUrl:
    """400 for a URL whose path or query holds a NUL byte. PostgreSQL text cannot hold NUL, so a
    path parameter such as /admin/tenants/%00 failed in the driver with a 500 (found by
    tests/integration/test_ingest_fuzz.py); no id, state or option of the admin API contains one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]
                                        or b"\x00" in unquote_to_bytes(scope["query_string"])):
            response = JSONResponse({"error": "bad-request", "reason": "the URL contains a NUL byte"},
                                    status_code=400)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _admin_app(settings: IngestSettings, ready: object) -> FastAPI:
    admin = FastAPI(title="woonox ingest", redirect_slashes=False)
    admin.add_middleware(_NoNulInUrl)
    admin.include_router(health_routes(ready))
    admin.include_router(admin_router)
    admin.include_router(callback_router)
    _include_status_page(admin)
    admin.add_exception_handler(HTTPException, _http_error)
    admin.add_exception_handler(RequestValidationError, _invalid)
    return admin


def create_app(settings: IngestSettings) -> FastAPI:
    engine = make_engine(settings.database_url, settings.db_schema)
    sessions = make_sessionmaker(engine)
    box = SecretBox(settings.secret_keys.get_secret_value())
    store = TenantStore(sessions, box)
    cache = TenantCache(store, settings.tenant_cache_seconds)
    publisher = Publisher(settings.rabbitmq_url, Topology(settings.broker_prefix))
    redis = aioredis.from_url(settings.redis_url)
    http = guarded_client(timeout=30)  # OAuth exchange and token refresh: tenant URLs (issue 16)
    dedup = EdgeDedup(redis, settings.redis_prefix, settings.dedup_seconds) if settings.edge_dedup else None
    receiver = WebhookReceiver(
        tenants=cache, publisher=publisher, dedup=dedup,
        redis=redis, redis_prefix=settings.redis_prefix, max_body_bytes=settings.max_body_bytes,
    )

    started = asyncio.Event()

    def ready() -> bool:
        return started.is_set() and publisher.connected

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        connecting = asyncio.create_task(_connect_until_up(publisher, started))
        try:
            yield
        finally:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            if dedup is not None:
                await dedup.drain()
            await publisher.close()
            await http.aclose()
            await redis.aclose()
            await engine.dispose()

    # redirect_slashes=False: WooCommerce does not follow redirects, so a redirect would silently
    # lose every delivery (WooCommerce source, plugins/woocommerce/includes/class-wc-webhook.php).
    # No /docs, /openapi.json or /metrics here: they describe the operator surface (issue 16).
    app = FastAPI(title="woonox ingest", lifespan=lifespan, redirect_slashes=False,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(WebhookFastPath, endpoint=receiver.handle)
    app.include_router(health_routes(ready, metrics=False))
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.http = http
    app.state.tokens = TokenManager(sessions, redis, box, http, settings.redis_prefix)
    app.state.publisher = publisher
    app.state.ready = ready
    app.state.tenant_cache = cache
    app.state.tenant_store = store
    app.state.redis = redis
    admin = _admin_app(settings, ready)
    admin.state = app.state  # one set of resources, opened and closed by the webhook app's lifespan
    app.state.admin_app = admin
    return app


class _Quiet(uvicorn.Server):
    """The admin listener: leaves the signals to the webhook listener's server, which stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_both(app: FastAPI, settings: IngestSettings) -> None:
    def config(asgi: FastAPI, host: str, port: int) -> uvicorn.Config:
        return uvicorn.Config(asgi, host=host, port=port, log_level="warning", access_log=False,
                              lifespan="off", timeout_graceful_shutdown=30)

    public = uvicorn.Server(config(app, settings.host, settings.port))
    admin = _Quiet(config(app.state.admin_app, settings.admin_host, settings.admin_port))
    async with app.router.lifespan_context(app):
        admin_task = asyncio.create_task(admin.serve())
        try:
            # SIGTERM reaches `public`: webhooks in flight finish, then the admin listener stops,
            # then the lifespan closes the shared resources.
            await public.serve()
        finally:
            admin.should_exit = True
            await admin_task


def main() -> None:
    settings = IngestSettings()
    configure_logging("ingest", settings.log_level, settings.log_json)
    # Both listeners always: without an admin token the admin API answers 404, /metrics still serves.
    asyncio.run(_serve_both(create_app(settings), settings))
