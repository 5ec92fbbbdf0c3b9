"""The operator's token (WOONOX_ADMIN_TOKEN) guarding the admin API: `Authorization: Bearer <token>`,
or HTTP Basic with the token as password (so a browser can open the status page). Compared in
constant time; with no token configured the admin API answers 404, it does not exist."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import HTTPException, Request
from fastapi.security import HTTPBearer

__all__ = ["bearer_scheme", "require_operator"]

# Declared for the OpenAPI document (clients see the bearer scheme); the check itself is below.
bearer_scheme = HTTPBearer(auto_error=False, description="the operator token, WOONOX_ADMIN_TOKEN")


def _given(header: str) -> str:
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer":
        return credential.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(credential).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return ""


async def require_operator(request: Request) -> None:
    token = request.app.state.settings.admin_token.get_secret_value()
    if not token:
        raise HTTPException(404, {"error": "admin-disabled", "reason": "the admin API is off: set WOONOX_ADMIN_TOKEN"})
    given = _given(request.headers.get("authorization", ""))
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(401, {"error": "unauthorized", "reason": "operator token required (Bearer)"},
                            headers={"WWW-Authenticate": 'Bearer realm="woonox", Basic realm="woonox"'})
