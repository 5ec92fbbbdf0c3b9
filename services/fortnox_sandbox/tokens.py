"""Access and refresh tokens as Fortnox issues them.

Fortnox developer docs, Authorization (https://www.fortnox.se/developer/authorization): the access token is
a JWT valid 3600 s carrying the tenant; the refresh
token is single use and rotating (every refresh returns a new one and kills the old one); service
accounts get no refresh token.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from services.fortnox_sandbox.state import Company, RefreshGrant, SandboxState

__all__ = ["AccessClaims", "TokenIssuer", "TokenRejected"]

ISSUER = "woonox-fortnox-sandbox"


class TokenRejected(Exception):
    """The bearer token is missing, malformed, expired or revoked: answer 401."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    client_id: str
    database_number: int
    scopes: frozenset[str]


class TokenIssuer:
    def __init__(self, state: SandboxState, secret: str, access_ttl: int, refresh_ttl: int) -> None:
        self.state = state
        self.secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        # Decoding a JWT costs ~30 µs; the same token comes back hundreds of times an hour.
        self._cache: dict[str, tuple[AccessClaims, float, int]] = {}

    def issue(self, company: Company, client_id: str, scopes: tuple[str, ...], *, refresh: bool) -> dict[str, object]:
        now = time.time()
        claims = {
            "iss": ISSUER, "sub": client_id, "clientId": client_id, "tenantId": company.database_number,
            "scope": " ".join(scopes), "iat": int(now), "exp": int(now) + self.access_ttl,
            "gen": company.token_generation, "jti": uuid.uuid4().hex,
        }
        answer: dict[str, object] = {
            "access_token": jwt.encode(claims, self.secret, algorithm="HS256"),
            "token_type": "bearer",
            "expires_in": self.access_ttl,
            "scope": " ".join(scopes),
        }
        if refresh:
            token = secrets.token_urlsafe(32)
            self.state.refresh_tokens[token] = RefreshGrant(client_id, company.database_number, scopes,
                                                            now + self.refresh_ttl)
            answer["refresh_token"] = token
        return answer

    def take_refresh(self, token: str, client_id: str) -> RefreshGrant | None:
        """Consume a refresh token (single use): the grant, or None when unknown, used, expired or foreign."""
        grant = self.state.refresh_tokens.get(token)
        if grant is None or grant.client_id != client_id:
            return None
        del self.state.refresh_tokens[token]
        if grant.expires_at < time.time():
            return None
        return grant

    def verify(self, authorization: str | None) -> AccessClaims:
        if not authorization or not authorization[:7].lower() == "bearer ":
            raise TokenRejected("missing bearer token")
        token = authorization[7:].strip()
        now = time.time()
        cached = self._cache.get(token)
        if cached is None:
            try:
                data = jwt.decode(token, self.secret, algorithms=["HS256"], issuer=ISSUER,
                                  options={"require": ["exp", "tenantId"]})
            except jwt.PyJWTError as exc:
                raise TokenRejected(str(exc)) from None
            claims = AccessClaims(str(data["clientId"]), int(data["tenantId"]), frozenset(str(data["scope"]).split()))
            cached = (claims, float(data["exp"]), int(data.get("gen", 0)))
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[token] = cached
        claims, expires, generation = cached
        if expires <= now:
            raise TokenRejected("token expired")
        company = self.state.companies.get(claims.database_number)
        if company is None or generation != company.token_generation:
            raise TokenRejected("token revoked")
        if claims.client_id not in company.consents:
            raise TokenRejected("consent withdrawn")
        return claims
