"""Fortnox errors, translated at the boundary into woonox's two branches.

    FortnoxError (WoonoxError)              status, Fortnox code and message kept for the operator
     ├── FortnoxTransient (TransientError)  429, 5xx, 1000003 system exception, timeouts, dropped connections
     │    └── FortnoxRateLimited            429: Fortnox's 25 requests / 5 s was exceeded (Rate limits, below)
     └── FortnoxPermanent (PermanentError)  validation, unknown account, missing scope or licence
          └── FortnoxUnauthorized           401: the access token was rejected (the client refreshes once)

The body is `{"ErrorInformation": {"error": 1, "message": "...", "code": 2000637}}` with casing that
varies between endpoints, and `code` a number or a string: parsed case-insensitively here and
nowhere else. Sources: Fortnox developer docs, Errors
(https://www.fortnox.se/developer/guides-and-good-to-know/errors) and Rate limits
(https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits).
"""

from __future__ import annotations

import json
from typing import Any

from libs.common.errors import PermanentError, TransientError

__all__ = [
    "CODE_ACCOUNT_NOT_FOUND",
    "CODE_ARTICLE_NUMBER_TAKEN",
    "CODE_NO_LICENCE",
    "CODE_NO_SCOPE",
    "CODE_UNKNOWN_ARTICLE_ROW",
    "FortnoxPermanent",
    "FortnoxRateLimited",
    "FortnoxTransient",
    "FortnoxUnauthorized",
    "from_response",
    "parse_error_body",
]

# Codes from Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/errors.
CODE_SYSTEM_EXCEPTION = "1000003"
CODE_NO_SCOPE = "2000663"
CODE_NO_LICENCE = "2001101"
CODE_NO_API_LICENCE = "2001103"
CODE_ACCOUNT_NOT_FOUND = "2001304"
CODE_UNKNOWN_ARTICLE_ROW = "2001302"
CODE_ARTICLE_NOT_FOUND = "2000513"
CODE_ARTICLE_NUMBER_TAKEN = "2000013"
_HINTS = {
    CODE_NO_SCOPE: "the Fortnox connection lacks a scope: reconnect with the scope granted",
    CODE_NO_LICENCE: "the Fortnox company has no active licence for this resource",
    CODE_NO_API_LICENCE: "the Fortnox company has no API licence",
    CODE_ACCOUNT_NOT_FOUND: "an account in the shop's account map does not exist in Fortnox's chart of accounts",
    CODE_UNKNOWN_ARTICLE_ROW: "a document row refers to an article that does not exist in Fortnox",
}


class _FortnoxMixin:
    status: int
    fortnox_code: str | None
    fortnox_message: str


class FortnoxTransient(TransientError, _FortnoxMixin):
    def __init__(self, reason: str, *, status: int = 0, fortnox_code: str | None = None,
                 fortnox_message: str = "", delay: float | None = None) -> None:
        super().__init__(reason, code=fortnox_code or (f"http-{status}" if status else "transport"), delay=delay)
        self.status, self.fortnox_code, self.fortnox_message = status, fortnox_code, fortnox_message


class FortnoxRateLimited(FortnoxTransient):
    pass


class FortnoxPermanent(PermanentError, _FortnoxMixin):
    def __init__(self, reason: str, *, status: int, fortnox_code: str | None = None,
                 fortnox_message: str = "") -> None:
        super().__init__(reason, code=fortnox_code or f"http-{status}")
        self.status, self.fortnox_code, self.fortnox_message = status, fortnox_code, fortnox_message


class FortnoxUnauthorized(FortnoxPermanent):
    pass


def _ci_get(mapping: dict[str, Any], key: str) -> Any:
    for k, v in mapping.items():
        if k.lower() == key.lower():
            return v
    return None


def parse_error_body(content: bytes) -> tuple[str | None, str]:
    """(code, message) from a Fortnox error body, whatever its casing; (None, raw text) otherwise."""
    try:
        body = json.loads(content)
    except ValueError:
        return None, content.decode(errors="replace")[:300]
    if not isinstance(body, dict):
        return None, str(body)[:300]
    info = _ci_get(body, "ErrorInformation")
    if isinstance(info, dict):
        code = _ci_get(info, "code")
        message = _ci_get(info, "message")
        return (str(code) if code is not None else None), str(message or "")
    # The OAuth endpoint answers like OAuth servers do.
    if "error" in body:
        return str(body.get("error")), str(body.get("error_description") or body.get("error"))
    return None, json.dumps(body)[:300]


def from_response(status: int, content: bytes, what: str) -> Exception:
    code, message = parse_error_body(content)
    text = f"Fortnox {what}: HTTP {status}" + (f", code {code}" if code else "") + (f": {message}" if message else "")
    if code in _HINTS:
        text += f" — {_HINTS[code]}"
    if status == 429:
        # No Retry-After is sent (Fortnox developer docs,
        # https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits): back off by at least
        # one 5-second window.
        return FortnoxRateLimited(text, status=status, fortnox_code=code, fortnox_message=message, delay=5.0)
    if status >= 500 or code == CODE_SYSTEM_EXCEPTION:
        return FortnoxTransient(text, status=status, fortnox_code=code, fortnox_message=message)
    if status == 401:
        return FortnoxUnauthorized(text, status=status, fortnox_code=code, fortnox_message=message)
    return FortnoxPermanent(text, status=status, fortnox_code=code, fortnox_message=message)
