"""`woonox connect TENANT`: give woonox access to the shop's Fortnox company.

Three ways, as Fortnox offers them (Fortnox developer docs, https://www.fortnox.se/developer/authorization):

    woonox connect my-shop                       print a single-use start link (10 minutes): the browser
                                                 that opens it gets a session cookie and goes on to
                                                 Fortnox's consent; Fortnox sends it back to ingest's
                                                 /admin/fortnox/callback, which stores the tokens only
                                                 for that same browser
    woonox connect my-shop --code CODE           finish by hand with the code from the redirect
    woonox connect my-shop --service-account N   a service account: client_credentials with TenantId N
                                                 (the DatabaseNumber); no refresh token to lose

Tokens are stored encrypted in the store of record; a tenant marked `needs_reconnect` is active again.
With a code, the company that approved is checked against the tenant's `fortnox_organisation_number`
(when set) before anything is stored. A code from a consent that was asked with PKCE
(`WOONOX_FORTNOX_PKCE`) can only be redeemed by ingest's callback, which holds the verifier.
"""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
import typer

from libs.cli.context import console, run, store
from libs.common.crypto import SecretBox
from libs.common.errors import PermanentError
from libs.common.fortnox.oauth import (
    CALLBACK_PATH,
    START_PATH,
    STATE_SECONDS,
    exchange_code,
    new_start,
    verified_company,
)
from libs.common.fortnox.tokens import TokenManager
from libs.common.outbound import guarded_client
from libs.common.store.tenants import TenantNew


def connect(
    tenant_id: Annotated[str, typer.Argument(help="The tenant to connect")],
    code: Annotated[str | None, typer.Option(help="Authorization code from Fortnox's redirect")] = None,
    service_account: Annotated[int | None, typer.Option(
        "--service-account", help="Connect as a service account of this DatabaseNumber")] = None,
    public_url: Annotated[str, typer.Option(envvar="WOONOX_PUBLIC_URL",
                                            help="Where ingest's admin listener is reached (for the redirect back)")] =
        "http://127.0.0.1:8001",
) -> None:
    """Connect a shop to its Fortnox company (consent link, authorization code, or service account)."""
    redirect_uri = public_url.rstrip("/") + CALLBACK_PATH

    async def go() -> str:
        async with store() as s:
            tenant = await s.tenants.require(tenant_id)
            if not tenant.fortnox_client_id or tenant.fortnox_client_secret is None:
                raise PermanentError(f"tenant {tenant_id} has no Fortnox app: add --fortnox-client-id and the "
                                     "client secret (`woonox tenant add ... --replace`)", code="no-fortnox-app")
            redis = aioredis.from_url(s.settings.redis_url)
            box = SecretBox(s.settings.secret_keys.get_secret_value())
            async with guarded_client() as http:
                tokens = TokenManager(s.sessions, redis, box, http, s.settings.redis_prefix)
                try:
                    if service_account is not None:
                        fields = tenant.model_dump(include=set(TenantNew.model_fields))
                        fields["fortnox_tenant_id"] = str(service_account)
                        tenant = await s.tenants.add(TenantNew.model_validate(fields), replace=True)
                        await tokens.forget(tenant.id)
                        await tokens.access_token(tenant)  # client_credentials now: proves it works
                        return f"tenant {tenant_id} connected as a service account of company {service_account}"
                    if code is not None:
                        pair = await exchange_code(http, tenant, code, redirect_uri)
                        await verified_company(http, tenant, pair.access_token)
                        await tokens.store(tenant.id, pair.access_token, pair.refresh_token, pair.expires_in,
                                           pair.scope)
                        return f"tenant {tenant_id} connected (scopes: {pair.scope})"
                    ticket = await new_start(redis, s.settings.redis_prefix, tenant.id)
                    return (f"Open this link within {STATE_SECONDS // 60} minutes, once, in the browser that will "
                            "log in to Fortnox and approve; Fortnox sends that browser back to ingest, which "
                            f"stores the tokens:\n{public_url.rstrip('/')}{START_PATH}?ticket={ticket}")
                finally:
                    await redis.aclose()

    console.print(run(go))
