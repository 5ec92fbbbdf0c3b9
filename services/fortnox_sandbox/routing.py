"""The sandbox's own router for `/3/...`: one table of (method, path template, scope, handler, schemas).

Kept apart from FastAPI's router because the table is also what the contract tests walk and what
docs/sandbox.md lists: one place names every endpoint, the scope it needs (Fortnox developer docs,
Authorization, https://www.fortnox.se/developer/authorization: a token without the scope cannot touch the
resource) and its OpenAPI schemas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from services.fortnox_sandbox.state import Company

if TYPE_CHECKING:
    from services.fortnox_sandbox.runtime import Sandbox

__all__ = ["Call", "Endpoint", "Reply", "Router"]

Reply = tuple[int, dict[str, Any]]


@dataclass(slots=True)
class Call:
    sandbox: Sandbox
    company: Company
    method: str
    params: dict[str, str]
    query: Mapping[str, str]  # keys lower-cased: Fortnox's query parameters are case-insensitive
    body: Any


Handler = Callable[[Call], Reply]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    template: str
    scope: str
    handler: Handler
    request_schema: str | None  # component name in openapi.json of the body
    response_schema: str | None  # ... of the success response
    pattern: re.Pattern[str]
    names: tuple[str, ...]


class Router:
    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []
        self._by_first: dict[tuple[str, str], list[Endpoint]] = {}

    def add(self, method: str, template: str, scope: str, handler: Handler, *, request: str | None = None,
            response: str | None = None) -> None:
        names = tuple(re.findall(r"{(\w+)}", template))
        regex = "^" + re.sub(r"{\w+}", "([^/]+)", template) + "$"
        endpoint = Endpoint(method, template, scope, handler, request, response, re.compile(regex), names)
        self.endpoints.append(endpoint)
        self._by_first.setdefault((method, template.split("/")[2]), []).append(endpoint)

    def route(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        """Match a raw (still percent-encoded) path; parameters come back decoded ("%2F" → "/")."""
        parts = path.split("/", 3)
        if len(parts) < 3:
            return None
        for endpoint in self._by_first.get((method, parts[2]), ()):
            found = endpoint.pattern.match(path)
            if found:
                return endpoint, {n: unquote(v) for n, v in zip(endpoint.names, found.groups(), strict=True)}
        return None

    def allowed(self, path: str) -> bool:
        """Whether some method serves this path (405 rather than 404)."""
        return any(e.pattern.match(path) for e in self.endpoints)
