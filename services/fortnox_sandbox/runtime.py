"""The running sandbox: settings, state, token issuer, limiter, faults, journal and router, in one object
that the HTTP layer (api.py, oauth.py, admin.py) shares through `app.state.sandbox`."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime

from services.fortnox_sandbox import seed
from services.fortnox_sandbox.faults import Faults
from services.fortnox_sandbox.journal import Journal
from services.fortnox_sandbox.ratelimit import SlidingWindow
from services.fortnox_sandbox.resources import register_all
from services.fortnox_sandbox.routing import Router
from services.fortnox_sandbox.settings import SandboxSettings
from services.fortnox_sandbox.state import Client, Company, Consent, SandboxState
from services.fortnox_sandbox.tokens import TokenIssuer
from services.fortnox_sandbox.validation import SchemaValidator

__all__ = ["Sandbox"]


class Sandbox:
    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.state = SandboxState()
        self.journal = Journal(settings.journal_size)
        self.faults = Faults(rng=random.Random(settings.fault_seed))
        self.limiter = SlidingWindow(settings.rate_limit, settings.rate_window_seconds, self._clock)
        self.router = Router()
        register_all(self.router)
        self.persistence = None
        secret = settings.jwt_secret or secrets.token_urlsafe(32)
        if settings.sqlite_path:
            from services.fortnox_sandbox.persistence import SqlitePersistence

            self.persistence = SqlitePersistence(settings.sqlite_path)
            secret = settings.jwt_secret or self.persistence.secret(secret)
            self.persistence.load(self.state)
        self.tokens = TokenIssuer(self.state, secret, settings.access_token_ttl, settings.refresh_token_ttl)
        self.validator: SchemaValidator | None = None
        self.ensure_validator()

    def ensure_validator(self) -> None:
        if self.validator is None and (self.settings.validate_requests or self.settings.validate_responses):
            self.validator = SchemaValidator()

    def _clock(self) -> float:
        # Indirection so tests can replace `state.clock` after the limiter exists.
        return self.state.clock()

    def register_client(self, client_id: str, client_secret: str) -> Client:
        client = self.state.clients.get(client_id)
        if client is None:
            client = self.state.clients[client_id] = Client(client_id, client_secret)
        elif client.client_secret is None:
            client.client_secret = client_secret
        elif client.client_secret != client_secret:
            raise ValueError(f"client {client_id} is registered with another secret")
        self.flush_clients()
        return client

    def create_company(self, name: str, database_number: int | None = None, *, rounding: bool = False,
                       organisation_number: str | None = None) -> Company:
        number = database_number if database_number is not None else self.state.next_database_number()
        if number in self.state.companies:
            raise ValueError(f"database number {number} is taken")
        org = organisation_number or f"55{number % 100_000_000:08d}"[:10]
        company = Company(number, name, f"{org[:6]}-{org[6:10]}", rounding=rounding)
        seed.seed_company(company, datetime.now(UTC).year)
        self.state.companies[number] = company
        self.flush(company)
        return company

    def consent(self, company: Company, client_id: str, scopes: tuple[str, ...], service_account: bool) -> None:
        company.consents[client_id] = Consent(client_id, scopes, service_account)
        company.dirty.add(("_meta", "company"))
        self.flush(company)

    def flush(self, company: Company) -> None:
        """Write what changed to SQLite (when persistence is on); in memory, just forget the marks."""
        if self.persistence is not None and company.dirty:
            self.persistence.save_company(company)
        company.dirty.clear()

    def flush_clients(self) -> None:
        if self.persistence is not None:
            self.persistence.save_tokens(self.state)
