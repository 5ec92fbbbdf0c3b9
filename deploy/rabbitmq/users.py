"""Write RabbitMQ's users definitions from the environment, so no password is kept in the repo.

A node that loads definitions at boot creates no default user, so every user is defined here: one
per service, with the permissions of permissions.json beside this file (generated from the
topology by `python -m scripts.rabbitmq_definitions`), and its password from the variable that
file names (RABBITMQ_INGEST_PASSWORD, ...). Stored as a salted SHA-256 hash (RabbitMQ's
`rabbit_password_hashing_sha256`: base64(salt + sha256(salt + password))).

Runs in a bare python image (the RabbitMQ init container, compose's rabbitmq-users): stdlib only.

    python deploy/rabbitmq/users.py /etc/rabbitmq/definitions.d/users.json
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PERMISSIONS = Path(__file__).with_name("permissions.json")


def password_hash(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def users(spec: Mapping[str, Any], env: Mapping[str, str], *, vhost: str | None = None,
          suffix: str = "") -> dict[str, Any]:
    """The users and permissions definitions; a required user without a password is an error.
    `vhost` and `suffix` let a test load the same users into a vhost and names of its own."""
    vhost = vhost if vhost is not None else spec["vhost"]
    missing = [u["password_env"] for u in spec["users"] if not u.get("optional") and not env.get(u["password_env"])]
    if missing:
        raise SystemExit(f"set {', '.join(missing)} (see .env.example / secret.example.yaml)")
    chosen = [u for u in spec["users"] if env.get(u["password_env"])]
    return {
        "users": [{"name": u["name"] + suffix, "password_hash": password_hash(env[u["password_env"]]),
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": u["tags"]} for u in chosen],
        "permissions": [{"user": u["name"] + suffix, "vhost": vhost, "configure": u["configure"],
                         "write": u["write"], "read": u["read"]} for u in chosen],
    }


def main(path: str) -> None:
    spec = json.loads(PERMISSIONS.read_text())
    with open(path, "w") as out:
        json.dump(users(spec, os.environ), out)
    os.chmod(path, 0o644)  # read by the rabbitmq user of the broker container


if __name__ == "__main__":
    main(sys.argv[1])
