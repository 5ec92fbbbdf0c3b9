"""Fortnox's error answers: `{"ErrorInformation": {"error": 1, "message": ..., "code": ...}}`.

Codes are the ones Fortnox's errors page lists
(https://www.fortnox.se/developer/guides-and-good-to-know/errors), plus a few that existing integrations
report (2000861, 2000013, 2001302, 2000513, 2000342); the status is the one Fortnox uses for them (400 for
bad input, 404 for unknown resources, 403 for scope problems, 401 for bad tokens, 429 rate limit).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FortnoxError", "bad_request", "error_body", "not_found"]

# Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/errors — the codes the
# sandbox answers with.
CUSTOMER_NUMBER_USED = 2000637
ACCOUNT_NOT_FOUND = 2001304
UNKNOWN_FIELD = 2001399
NOT_ALPHANUMERIC = 2000106
NOT_NUMERIC = 2000108
NOT_BOOLEAN = 2000134
INVALID_CHARACTERS = 2000359
BAD_PARAMETER = 2000588
EMPTY_BODY = 2001392
JSON_SYNTAX = 2002115
SYSTEM_EXCEPTION = 1000003
NO_SCOPE_ACCESS = 2000663
DOCUMENT_NUMBER_USED = 2000861
ARTICLE_NUMBER_TAKEN = 2000013
ROW_UNKNOWN_ARTICLE = 2001302
ARTICLE_NOT_FOUND = 2000513
PRICE_MISSING = 2000342
# Not on Fortnox's current errors page: its older error list names 2000311 for an invalid access
# token; the sandbox
# uses it for every 401 so a client has a code to log (docs/sandbox.md, deviations).
INVALID_TOKEN = 2000311
# Fortnox's errors page names no code for "resource not found" in general: 2000513 is the article
# one; the sandbox
# uses the same code family for every unknown document (docs/sandbox.md, deviations).
NOT_FOUND = 2000513


class FortnoxError(Exception):
    """Raised by a handler; the API layer answers with Fortnox's error body."""

    def __init__(self, status: int, message: str, code: int) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.code)


def error_body(message: str, code: int) -> dict[str, Any]:
    return {"ErrorInformation": {"error": 1, "message": message, "code": code}}


def bad_request(message: str, code: int) -> FortnoxError:
    return FortnoxError(400, message, code)


def not_found(what: str) -> FortnoxError:
    return FortnoxError(404, f"Kan inte hitta {what}.", NOT_FOUND)
