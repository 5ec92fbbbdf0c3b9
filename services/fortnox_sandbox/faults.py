"""Fault injection: the ways Fortnox (or the network to it) misbehaves, switched on through the admin API.

A rule applies to the requests it matches (optionally one database number and/or a path prefix).
`drop_after_commit_share` is the one that matters most: the create is committed, then the connection
is closed before the response, so a naive client that retries books the document twice
(docs/architecture.md, invariant 2; tests/integration/test_sandbox_drop_after_commit.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import httpx
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConnectionDropped", "FaultRule", "Faults", "Verdict"]


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised after the response head went out: uvicorn then closes the socket without a body, and an
    in-process `httpx.ASGITransport` client sees this very exception, a transport error either way."""


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(0, ge=0, le=120_000)
    error_share: float = Field(0.0, ge=0.0, le=1.0)
    error_status: int = Field(503, ge=500, le=599)
    # The next N matching requests answer 429, then the burst is spent.
    burst_429: int = Field(0, ge=0)
    drop_after_commit_share: float = Field(0.0, ge=0.0, le=1.0)
    # The next N matching creates are dropped after commit, then the rule is spent (deterministic tests).
    drop_after_commit_next: int = Field(0, ge=0)
    token_outage: bool = False
    database_number: int | None = None
    path_prefix: str | None = None

    def matches(self, database_number: int | None, path: str) -> bool:
        if self.database_number is not None and database_number != self.database_number:
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)


@dataclass
class Verdict:
    latency: float = 0.0
    status: int | None = None  # answer this instead of doing the work
    drop_after_commit: bool = False


@dataclass
class Faults:
    rules: list[FaultRule] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    def judge(self, database_number: int | None, path: str, method: str) -> Verdict | None:
        if not self.rules:
            return None
        verdict = Verdict()
        for rule in self.rules:
            if not rule.matches(database_number, path):
                continue
            verdict.latency += rule.latency_ms / 1000
            if verdict.status is None and rule.burst_429 > 0:
                rule.burst_429 -= 1
                verdict.status = 429
            if verdict.status is None and rule.error_share and self.rng.random() < rule.error_share:
                verdict.status = rule.error_status
            # "for creates": a POST that commits a new resource.
            if method == "POST" and verdict.status is None:
                if rule.drop_after_commit_next > 0:
                    rule.drop_after_commit_next -= 1
                    verdict.drop_after_commit = True
                elif rule.drop_after_commit_share and self.rng.random() < rule.drop_after_commit_share:
                    verdict.drop_after_commit = True
        return verdict

    def token_outage(self, database_number: int | None) -> bool:
        """Whether the token endpoint is down (for this tenant, where the grant names one)."""
        return any(
            rule.token_outage and (rule.database_number is None or rule.database_number == database_number)
            for rule in self.rules
        )
