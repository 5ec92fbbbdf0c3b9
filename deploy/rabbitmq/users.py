"""Write RabbitMQ's users definitions from the environment, so no password is kept in the repo.

A node that loads definitions at boot creates no default user, so the stack's user is defined here:
RABBITMQ_USER / RABBITMQ_PASSWORD (from the env file) -> users.json with a salted SHA-256 hash
(RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + sha256(salt + password))).

    python deploy/rabbitmq/users.py /etc/rabbitmq/definitions.d/users.json
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys


def password_hash(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def users(user: str, password: str) -> dict[str, object]:
    return {
        "users": [{"name": user, "password_hash": password_hash(password),
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]}],
        "permissions": [{"user": user, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}],
    }


def main(path: str) -> None:
    user, password = os.environ.get("RABBITMQ_USER", ""), os.environ.get("RABBITMQ_PASSWORD", "")
    if not user or not password:
        sys.exit("RABBITMQ_USER and RABBITMQ_PASSWORD must be set (see .env.example)")
    with open(path, "w") as out:
        json.dump(users(user, password), out)
    os.chmod(path, 0o644)  # read by the rabbitmq user of the broker container


if __name__ == "__main__":
    main(sys.argv[1])
