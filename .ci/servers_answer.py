"""Prints which of the machine's RabbitMQ, Redis and PostgreSQL on their default ports do NOT speak
their protocol. Runs before the venv exists: libs/cli/private_servers.py needs only the stdlib."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from libs.cli.private_servers import DEFAULTS, KIND, server_answers

if __name__ == "__main__":
    dead = [KIND[var] for var, (_, port) in DEFAULTS.items() if not server_answers(KIND[var], "127.0.0.1", port)]
    print(" ".join(dead))
