"""Finding or creating the Fortnox customer of an order, per the shop's customer mode.

The stored mapping (booking map, resource "customer", keyed by the match key) answers for
returning customers without a Fortnox request. A new key is looked up in Fortnox (by email or
organisation number, compared exactly: the filter is a substring match, Fortnox developer docs,
https://www.fortnox.se/developer/guides-and-good-to-know/parameters) before a
customer is created, so a customer who existed before woonox is reused, not duplicated.
"""

from __future__ import annotations

import asyncio

from libs.common.commands import CustomerCommand
from libs.common.errors import Busy, PermanentError
from libs.common.store.bookings import BookingRecord
from services.fortnox_writer.context import WriterContext
from services.fortnox_writer.ledger import Claim, Effect

__all__ = ["ensure_customer", "match_key"]

CLAIM_WAIT_S = 5.0


def match_key(cmd: CustomerCommand, woo_order_id: int) -> tuple[str, dict[str, str]]:
    """(ledger key, Fortnox search filter) for this customer."""
    if cmd.match.organisation_number:
        org = cmd.match.organisation_number.strip()
        return f"org:{org}", {"organisationnumber": org}
    if cmd.match.email:
        email = cmd.match.email.strip().lower()
        return f"email:{email}", {"email": email}
    # No key to match on: one customer per order (a guest without email).
    return f"order:{woo_order_id}", {}


def _matches(candidate: dict[str, object], filter_: dict[str, str]) -> bool:
    if "email" in filter_:
        return str(candidate.get("Email") or "").strip().lower() == filter_["email"]
    if "organisationnumber" in filter_:
        digits = "".join(ch for ch in str(candidate.get("OrganisationNumber") or "") if ch.isdigit())
        return digits == "".join(ch for ch in filter_["organisationnumber"] if ch.isdigit())
    return False


async def _claim(ctx: WriterContext, key: str) -> Claim:
    # Two orders of one new customer on two replicas: the second waits briefly for the first.
    deadline = asyncio.get_running_loop().time() + CLAIM_WAIT_S
    while True:
        claim = await ctx.ledger.begin(ctx.tenant.id, f"customer:{key}")
        if claim.acquired:
            return claim
        if asyncio.get_running_loop().time() > deadline:
            raise Busy(f"customer {key} is being created by another writer", code="customer-busy")
        await asyncio.sleep(0.1)  # bounded wait for the other replica's claim


async def ensure_customer(ctx: WriterContext, cmd: CustomerCommand, woo_order_id: int) -> str:
    key, filter_ = match_key(cmd, woo_order_id)
    known = await ctx.bookings.get(ctx.tenant.id, "customer", key, "customer")
    if known and known.fortnox_number:
        return known.fortnox_number
    claim = await _claim(ctx, key)
    try:
        async with ctx.ledger.held(claim):
            return await _find_or_create(ctx, cmd, woo_order_id, key, filter_, claim)
    finally:
        await ctx.ledger.release(claim)


async def _find_or_create(ctx: WriterContext, cmd: CustomerCommand, woo_order_id: int, key: str,
                          filter_: dict[str, str], claim: Claim) -> str:
    async def existing() -> str | None:
        if not filter_:
            raise PermanentError(f"customer of order {woo_order_id} may exist twice: no email or org no to match",
                                 code="customer-ambiguous")
        hits = [c for c in await ctx.client.find_customers(filter_) if _matches(c, filter_)]
        return str(hits[0]["CustomerNumber"]) if hits else None

    if not filter_ and not cmd.create_if_missing:
        raise PermanentError(f"customer of order {woo_order_id} has no email or org no to find it by, and the "
                             "shop's customer mode is update-only", code="unknown-customer")

    async def create() -> str:
        if not cmd.create_if_missing:
            raise PermanentError(
                f"customer {key.split(':', 1)[1]} does not exist in Fortnox and the shop's customer mode "
                "is update-only: create the customer in Fortnox, then replay", code="unknown-customer")
        created = await ctx.client.create("customers", "Customer", cmd.body)
        return str(created["CustomerNumber"])

    def booking(number: str) -> BookingRecord:
        return BookingRecord(tenant_id=ctx.tenant.id, woo_resource="customer", woo_id=key, kind="customer",
                             fortnox_number=number, detail={"woo_customer_id": cmd.match.woo_customer_id})

    # A customer with a key to match on is always looked up first: one who existed before woonox is
    # reused, not duplicated. The key is the reference the create is recorded with.
    made = await ctx.ledger.run(claim, Effect(
        "create", key, create, existing, look_first=bool(filter_), booking=booking,
        action="customer-mapped", found_action="customer-mapped", audit=lambda n: {"customer": n}))
    return made.value
