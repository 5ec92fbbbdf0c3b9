"""Optional SQLite file that keeps a sandbox's companies, resources, clients and tokens across restarts
(WOONOX_SANDBOX_SQLITE_PATH). Written through after every change; the journal is not kept.

Decimals are stored tagged (`{"$d": "12.50"}`) so money comes back as Decimal, never float.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.fortnox_sandbox.state import Client, CodeGrant, Company, Consent, RefreshGrant, SandboxState

__all__ = ["SqlitePersistence"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS companies (database_number INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    database_number INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,
    modified TEXT NOT NULL, PRIMARY KEY (database_number, kind, key));
"""


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(type(value).__name__)


def _decode(obj: dict[str, Any]) -> Any:
    return Decimal(obj["$d"]) if len(obj) == 1 and "$d" in obj else obj


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_encode, ensure_ascii=False)


def _loads(text: str) -> Any:
    return json.loads(text, object_hook=_decode)


class SqlitePersistence:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def secret(self, proposed: str) -> str:
        """The JWT key kept in the file (so tokens issued before a restart stay valid), or `proposed`."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'jwt_secret'").fetchone()
        if row:
            return str(row[0])
        self.db.execute("INSERT INTO meta VALUES ('jwt_secret', ?)", (proposed,))
        return proposed

    def save_company(self, company: Company) -> None:
        header = {
            "name": company.name, "organisation_number": company.organisation_number, "rounding": company.rounding,
            "consents": {k: asdict(v) for k, v in company.consents.items()},
            "token_generation": company.token_generation, "counters": company.counters,
            "retired": {k: sorted(v) for k, v in company.retired.items()},
        }
        self.db.execute("BEGIN")
        self.db.execute("INSERT OR REPLACE INTO companies VALUES (?, ?)", (company.database_number, _dumps(header)))
        for kind, key in company.dirty:
            if kind == "_meta":
                continue
            body = company.get(kind, key)
            if body is None:
                self.db.execute("DELETE FROM resources WHERE database_number = ? AND kind = ? AND key = ?",
                                (company.database_number, kind, key))
            else:
                modified = company.modified.get(kind, {}).get(key)
                self.db.execute("INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?)",
                                (company.database_number, kind, key, _dumps(body),
                                 modified.isoformat() if modified else ""))
        self.db.execute("COMMIT")

    def save_tokens(self, state: SandboxState) -> None:
        tokens = {
            "clients": {k: asdict(v) for k, v in state.clients.items()},
            "refresh": {k: asdict(v) for k, v in state.refresh_tokens.items()},
            "codes": {k: asdict(v) for k, v in state.codes.items()},
        }
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('tokens', ?)", (_dumps(tokens),))

    def load(self, state: SandboxState) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'tokens'").fetchone()
        if row:
            tokens = _loads(row[0])
            state.clients = {k: Client(**v) for k, v in tokens["clients"].items()}
            state.refresh_tokens = {k: RefreshGrant(**{**v, "scopes": tuple(v["scopes"])})
                                    for k, v in tokens["refresh"].items()}
            state.codes = {k: CodeGrant(**{**v, "scopes": tuple(v["scopes"])}) for k, v in tokens["codes"].items()}
        for number, body in self.db.execute("SELECT database_number, body FROM companies"):
            header = _loads(body)
            company = Company(number, header["name"], header["organisation_number"], rounding=header["rounding"],
                              token_generation=header["token_generation"], counters=header["counters"])
            company.consents = {k: Consent(v["client_id"], tuple(v["scopes"]), v["service_account"])
                                for k, v in header["consents"].items()}
            company.retired = {k: set(v) for k, v in header["retired"].items()}
            state.companies[number] = company
        for number, kind, key, body, modified in self.db.execute(
            "SELECT database_number, kind, key, body, modified FROM resources ORDER BY rowid"
        ):
            company = state.companies[number]
            company.table(kind)[key] = _loads(body)
            if modified:
                company.modified.setdefault(kind, {})[key] = datetime.fromisoformat(modified)
