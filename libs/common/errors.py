"""The one exception tree that steers the message machinery.

    WoonoxError
     ├── TransientError   retry later, through a delay queue (429, 5xx, timeouts, broker or Redis hiccups)
     │    └── Busy        another worker holds the object now: retry soon, without spending an attempt
     └── PermanentError   dead-letter now, with a reason an operator can read (validation, missing SKU,
                          Fortnox 4xx, unknown schema version)

Handlers only raise; `libs.common.outcome` turns the exception into retry / dead-letter / ack.
Errors of the layers below (httpx, redis, aio-pika, Fortnox bodies) are translated into these at the
adapter boundary, so no handler catches a library's exception.
"""

from __future__ import annotations

__all__ = ["Busy", "PermanentError", "TransientError", "WoonoxError"]


class WoonoxError(Exception):
    """Root of every error woonox raises on purpose.

    `reason` is the operator-facing sentence; `code` an optional machine code (a Fortnox error code,
    or a woonox code such as ``unknown-schema-version``).
    """

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code

    def __str__(self) -> str:
        return f"{self.reason} (code {self.code})" if self.code else self.reason


class TransientError(WoonoxError):
    """Worth trying again later. `delay` (seconds) is a hint; the retry policy has the last word."""

    def __init__(self, reason: str, *, code: str | None = None, delay: float | None = None) -> None:
        super().__init__(reason, code=code)
        self.delay = delay


class Busy(TransientError):
    """Another worker is applying the same object right now (its claim or lock is taken).

    Not a failure of this message: several snapshots of one order routinely arrive together, and
    all but one find the order busy. Counting that as a failed attempt would back them off to the
    long delays and, under enough contention, dead-letter a valid order. `libs.common.outcome`
    retries it after `delay` without spending an attempt, bounded by the group's `max_busy`."""

    def __init__(self, reason: str, *, code: str | None = None, delay: float = 5.0) -> None:
        super().__init__(reason, code=code, delay=delay)


class PermanentError(WoonoxError):
    """Will fail the same way every time until a human fixes the cause: dead-letter with the reason."""
