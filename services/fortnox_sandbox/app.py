"""Wiring of the Fortnox sandbox: `create_app()` for in-process use (httpx.ASGITransport) and `main()`
for the `woonox-sandbox` console script (uvicorn on WOONOX_SANDBOX_HOST:WOONOX_SANDBOX_PORT)."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.fortnox_sandbox import admin, api, oauth
from services.fortnox_sandbox.faults import ConnectionDropped
from services.fortnox_sandbox.runtime import Sandbox
from services.fortnox_sandbox.settings import SandboxSettings

__all__ = ["create_app", "main"]


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    settings = settings or SandboxSettings()
    app = FastAPI(title="woonox Fortnox sandbox", version="1", docs_url="/_sandbox/docs",
                  openapi_url="/_sandbox/openapi.json", redoc_url=None)
    app.state.sandbox = Sandbox(settings)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "companies": len(app.state.sandbox.state.companies)})

    app.include_router(admin.router)
    app.add_route("/oauth-v1/auth", oauth.authorize, methods=["GET"])
    app.add_route("/oauth-v1/token", oauth.token, methods=["POST"])
    app.add_route("/3/{path:path}", api.fortnox_api, methods=["GET", "POST", "PUT", "DELETE"])
    app.add_middleware(FortnoxFastPath)
    return app


class FortnoxFastPath:
    """Sends `/3/...` straight to the API endpoint, past FastAPI's routing and per-route machinery.

    The sandbox is the Fortnox of every benchmark: this halves its CPU per call (docs/sandbox.md,
    "Performance"). The route above stays registered so the path is documented in the OpenAPI page.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.fortnox = request_response(api.fortnox_api)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/3/"):
            await self.fortnox(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class _QuietDrops(logging.Filter):
    """uvicorn logs every app exception with a traceback; a deliberate drop is not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def main() -> None:
    import uvicorn

    settings = SandboxSettings()
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                access_log=False)


if __name__ == "__main__":
    main()
