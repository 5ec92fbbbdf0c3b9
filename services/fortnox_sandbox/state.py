"""What the sandbox holds: clients, companies (tenants) and each company's resources.

Every company is isolated: its resources live in its own `Company.resources`, and an access token
carries exactly one database number (the token's tenantId claim: Fortnox developer docs,
Authorization, https://www.fortnox.se/developer/authorization).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["ALL_SCOPES", "Client", "Company", "Consent", "Resource", "SandboxState"]

# Fortnox developer docs, https://www.fortnox.se/developer/authorization (scopes): the ones used here.
ALL_SCOPES = (
    "companyinformation", "customer", "article", "order", "invoice", "offer",
    "payment", "bookkeeping", "settings", "price",
)


@dataclass
class Client:
    client_id: str
    # None: registered by a consent (auto_register_clients); the first secret presented is kept.
    client_secret: str | None


@dataclass
class Consent:
    """A client's consent to act for a company: the scopes granted, and whether as a service account."""

    client_id: str
    scopes: tuple[str, ...]
    service_account: bool = False


Resource = dict[str, Any]


@dataclass
class Company:
    database_number: int
    name: str
    organisation_number: str
    rounding: bool = False
    consents: dict[str, Consent] = field(default_factory=dict)
    # Bumped by `expire-tokens`: access tokens of an older generation answer 401.
    token_generation: int = 0
    resources: dict[str, dict[str, Resource]] = field(default_factory=dict)
    modified: dict[str, dict[str, datetime]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    # Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/errors, 2000637:
    # deleted customer numbers stay reserved.
    retired: dict[str, set[str]] = field(default_factory=dict)
    # (kind, key) written since the last flush to SQLite.
    dirty: set[tuple[str, str]] = field(default_factory=set)

    def table(self, kind: str) -> dict[str, Resource]:
        return self.resources.setdefault(kind, {})

    def get(self, kind: str, key: str) -> Resource | None:
        return self.resources.get(kind, {}).get(key)

    def put(self, kind: str, key: str, body: Resource) -> Resource:
        self.resources.setdefault(kind, {})[key] = body
        self.modified.setdefault(kind, {})[key] = datetime.now(UTC)
        self.dirty.add((kind, key))
        return body

    def delete(self, kind: str, key: str) -> None:
        self.resources.get(kind, {}).pop(key, None)
        self.modified.get(kind, {}).pop(key, None)
        self.retired.setdefault(kind, set()).add(key)
        self.dirty.add((kind, key))

    def next_number(self, kind: str, start: int = 1) -> int:
        """The next free number of a series (document numbers, customer numbers, RowIds...)."""
        value = max(self.counters.get(kind, start - 1) + 1, start)
        taken = self.resources.get(kind, {})
        retired = self.retired.get(kind, set())
        while str(value) in taken or str(value) in retired:
            value += 1
        self.counters[kind] = value
        self.dirty.add(("_meta", "counters"))
        return value


@dataclass
class RefreshGrant:
    client_id: str
    database_number: int
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class CodeGrant:
    client_id: str
    database_number: int
    scopes: tuple[str, ...]
    redirect_uri: str
    expires_at: float
    # PKCE (RFC 7636): the S256 challenge the consent was asked with; None when none was sent.
    code_challenge: str | None = None


@dataclass
class SandboxState:
    clients: dict[str, Client] = field(default_factory=dict)
    companies: dict[int, Company] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    # Seconds, monotonic: the rate limiter's clock. Tests replace it to walk through a window.
    clock: Callable[[], float] = time.monotonic

    def next_database_number(self) -> int:
        return max(self.companies, default=1_000_000) + 1
