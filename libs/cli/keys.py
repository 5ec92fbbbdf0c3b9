"""`woonox keys rotate`: re-encrypt every stored secret under the first key of WOONOX_SECRET_KEYS.

Retiring a key, step by step (docs/operations/security.md, Key rotation):

    woonox keygen                                   a new key B
    WOONOX_SECRET_KEYS=B,A  everywhere, restart     B encrypts, A still decrypts
    woonox keys rotate                              everything stored is re-encrypted under B
    WOONOX_SECRET_KEYS=B    everywhere, restart     A is retired

Exit codes: `0` every tenant's secrets are under the first key, `1` some tenant's secrets could not
be decrypted with any key (listed; nothing of that tenant was changed) or a server is unreachable.
"""

from __future__ import annotations

import contextlib

import redis.asyncio as aioredis
import typer
from redis.exceptions import RedisError

from libs.cli.context import EXIT_ERROR, console, err_console, run, store
from libs.common.crypto import SecretBox
from libs.common.fortnox.tokens import cache_key
from libs.common.store.rotation import RotationReport, rotate_secrets

app = typer.Typer(help="Encryption keys of stored secrets (WOONOX_SECRET_KEYS).", no_args_is_help=True)


@app.command()
def rotate() -> None:
    """Re-encrypt every stored secret under the first key of WOONOX_SECRET_KEYS (idempotent)."""

    async def go() -> RotationReport:
        async with store() as s:
            report = await rotate_secrets(s.sessions, SecretBox(s.settings.secret_keys.get_secret_value()))
            # Redis caches access tokens encrypted under the key of the day: drop them, or they would
            # not decrypt once the old key is gone (they are fetched again from PostgreSQL).
            redis = aioredis.from_url(s.settings.redis_url)
            try:
                for tenant in await s.tenants.list():
                    with contextlib.suppress(RedisError, OSError):
                        await redis.delete(cache_key(s.settings.redis_prefix, tenant.id))
            finally:
                await redis.aclose()
            return report

    report = run(go)
    console.print(f"{report.tenants} tenant(s): {report.rotated} secret(s) re-encrypted under the first key, "
                  f"{report.current} already under it")
    for tenant_id, reason in report.failed.items():
        err_console.print(f"[red]error:[/red] tenant {tenant_id}: {reason} (nothing of it was changed)")
    if report.failed:
        raise typer.Exit(EXIT_ERROR)
