"""Every request and response the sandbox saw, queryable by tests, benchmarks and demos.

Bodies are kept as the bytes that crossed the wire (a snapshot; the resource may change later) and
parsed only when someone reads the journal, so recording costs next to nothing on the hot path.
Secrets (client secrets, tokens, codes) never enter the journal.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.fortnox_sandbox.jsonbody import loads

__all__ = ["Journal", "JournalEntry"]


@dataclass(slots=True)
class JournalEntry:
    id: int
    at: datetime
    database_number: int | None
    client_id: str | None
    method: str
    path: str
    query: str
    status: int
    request_body: bytes | dict[str, Any] | None
    response_body: bytes | dict[str, Any] | None
    fault: str | None = None

    def render(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(timespec="milliseconds"),
            "database_number": self.database_number,
            "client_id": self.client_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "request_body": _parse(self.request_body),
            "response_body": _parse(self.response_body),
            "fault": self.fault,
        }


def _parse(body: bytes | dict[str, Any] | None) -> Any:
    if body is None or isinstance(body, dict):
        return body
    if not body:
        return None
    try:
        return loads(body)
    except ValueError:
        return body.decode(errors="replace")


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)  # size 0 = record nothing
        self._ids = itertools.count(1)

    def record(self, *, database_number: int | None, client_id: str | None, method: str, path: str, query: str,
               status: int, request_body: bytes | dict[str, Any] | None,
               response_body: bytes | dict[str, Any] | None, fault: str | None = None) -> None:
        self._entries.append(JournalEntry(next(self._ids), datetime.now(UTC), database_number, client_id, method,
                                          path, query, status, request_body, response_body, fault))

    def query(self, *, database_number: int | None = None, method: str | None = None, path_prefix: str | None = None,
              after_id: int = 0, limit: int | None = None, last: int | None = None) -> list[JournalEntry]:
        found: list[JournalEntry] = []
        for entry in self._entries:
            if entry.id <= after_id:
                continue
            if database_number is not None and entry.database_number != database_number:
                continue
            if method is not None and entry.method != method.upper():
                continue
            if path_prefix is not None and not entry.path.startswith(path_prefix):
                continue
            found.append(entry)
            if limit is not None and len(found) >= limit:
                break
        return found[-last:] if last else found

    def clear(self) -> None:
        self._entries.clear()
