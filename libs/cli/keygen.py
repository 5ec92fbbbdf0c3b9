"""`woonox keygen`: a new encryption key for WOONOX_SECRET_KEYS."""

from __future__ import annotations

import typer

from libs.common.crypto import generate_key


def keygen() -> None:
    """Print a new Fernet key. Prepend it to WOONOX_SECRET_KEYS (comma-separated) to rotate."""
    typer.echo(generate_key())
