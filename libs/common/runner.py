"""Running an ASGI service under uvicorn, the same way for every service."""

from __future__ import annotations

from typing import Any

import uvicorn

__all__ = ["serve"]


def serve(app: Any, *, host: str, port: int, log_level: str = "warning") -> None:
    # uvicorn turns SIGTERM/SIGINT into a graceful shutdown: the lifespan stops the consumers and
    # waits for handlers in flight (graceful_timeout), so `docker stop` loses nothing.
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False, lifespan="on",
                timeout_graceful_shutdown=30)
