"""Fortnox's rate limit: 25 requests in any 5-second sliding window per (client, tenant).

Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits: a sliding
window, not fixed buckets; past it HTTP 429 with no headers.
Refused requests are not counted: a client that backs off gets its capacity back as soon as the
oldest accepted request leaves the window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

__all__ = ["SlidingWindow"]


class SlidingWindow:
    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[tuple[str, int], deque[float]] = {}

    def allow(self, client_id: str, tenant: int) -> bool:
        now = self.clock()
        hits = self._hits.get((client_id, tenant))
        if hits is None:
            hits = self._hits[(client_id, tenant)] = deque()
        edge = now - self.window
        while hits and hits[0] <= edge:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def reset(self) -> None:
        self._hits.clear()
