"""Never twice, under any interleaving of faults (issue 14): a hypothesis state machine of one
shop's writer against the sandbox.

Rules: snapshots of one order published in any order and duplicated; deliveries of any pending
message, each with a plan of faults between the steps of the command (a write dropped after
commit, a 429, Redis losing this deployment's keys, claims expiring, the writer killed);
between deliveries Redis loss, the passing of time (claims expire, the degraded window ends) and
writer restarts. The invariant after every step: at most one Fortnox order per WooCommerce order
(and one customer); once every message is delivered, exactly one, with the latest snapshot.

Time passing is the expiry of the keys that carry it (claims, `ledger:rebuilt`), so the machine
needs no clock. A killed in-process writer unwinds its `finally` blocks (it releases its claim):
that is a kill followed by the claim's expiry.

The default run is a few hundred steps; `WOONOX_STATEFUL=long` runs thousands.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.common.commands import DocumentCommand, PaymentIntent
from libs.common.envelope import Envelope
from libs.common.errors import PermanentError, TransientError
from libs.common.fortnox.ratelimit import RateLimiter
from libs.common.settings import CommonSettings
from libs.common.store.db import drop_schema, make_engine, make_sessionmaker
from libs.common.store.migrate import upgrade
from libs.common.store.models import SyncCursor
from services.fortnox_sandbox.app import create_app
from services.fortnox_sandbox.settings import SandboxSettings
from services.fortnox_writer.handlers import WriterHandlers
from tests.writer_harness import add_tenant, create_company, order_command, writer_handlers

pytestmark = pytest.mark.integration

SANDBOX = "http://sandbox.test"
ORDER = 175
VERSIONS = 4
T = TypeVar("T")

hsettings.register_profile(
    "writer", max_examples=40, stateful_step_count=30, deadline=None, derandomize=True,
    suppress_health_check=list(HealthCheck))
hsettings.register_profile(
    "writer-long", max_examples=400, stateful_step_count=60, deadline=None,
    suppress_health_check=list(HealthCheck))
LONG = os.environ.get("WOONOX_STATEFUL") == "long"
PROFILE = "writer-long" if LONG else "writer"

# Faults a delivery may meet before one of its Fortnox requests ("drop": the n-th write is
# committed, then its answer is lost).
FAULTS = ("drop", "429", "redis-loss", "claim-expiry", "time-passes", "kill")


class WriterKilled(Exception):
    """The writer process dies here (nothing in the writer catches it)."""


@dataclass
class World:
    """What outlives one example: the event loop, the servers' clients, the sandbox."""

    loop: asyncio.AbstractEventLoop
    settings: CommonSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    app: Any
    checker: httpx.AsyncClient

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)


WORLD: World | None = None
# The run's own count: it must have done something.
STEPS = {"examples": 0, "steps": 0, "deliveries": 0, "acknowledged": 0}


@dataclass
class Faulty(httpx.AsyncBaseTransport):
    """The writer's way to Fortnox, with a plan of faults for the current delivery."""

    inner: httpx.AsyncBaseTransport
    machine: OneShopWriter
    # (where, n) -> fault: before the n-th request ("any") or write ("write"); ("drop", "POST /3/orders"):
    # the first such write is dropped after commit.
    plan: dict[tuple[str, int | str], str] = field(default_factory=dict)
    requests: int = 0
    writes: int = 0

    def start(self, plan: dict[tuple[str, int | str], str]) -> None:
        self.plan, self.requests, self.writes = plan, 0, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        write = request.method in ("POST", "PUT") and request.url.path.startswith("/3/")
        fault = self.plan.pop(("any", self.requests), None)
        self.requests += 1
        if write:
            fault = self.plan.pop(("write", self.writes), None) or fault
            self.writes += 1
            aimed = next((k for k in self.plan if k[0] == "drop" and f"{request.method} {request.url.path}"
                          .startswith(str(k[1]))), None)
            if aimed is not None:
                fault = self.plan.pop(aimed)
        if fault == "kill":
            raise WriterKilled()
        if fault == "429":
            return httpx.Response(429, json={"ErrorInformation": {"error": 1, "message": "Too many requests",
                                                                  "code": 429}})
        if fault in ("redis-loss", "claim-expiry", "time-passes"):
            await self.machine.apply(fault)
        response = await self.inner.handle_async_request(request)
        if fault == "drop" and write:
            await response.aread()
            raise httpx.RemoteProtocolError("fault: connection dropped after the write was committed")
        return response


class OneShopWriter(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert WORLD is not None
        self.world = WORLD
        self.tenant = f"shop-{uuid.uuid4().hex[:8]}"
        self.settings = WORLD.settings.model_copy(update={"redis_prefix": "t" + uuid.uuid4().hex[:10]})
        self.transport = Faulty(httpx.ASGITransport(app=WORLD.app), self)
        self.http = httpx.AsyncClient(transport=self.transport)
        self.pending: list[DocumentCommand] = []
        self.published: set[int] = set()
        self.world.run(self._setup())
        self.writer = self._new_writer()
        STEPS["examples"] += 1

    async def _setup(self) -> None:
        async with self.world.sessions.begin() as session:  # the epoch of the previous example's Redis
            await session.execute(delete(SyncCursor))
        company = await create_company(self.world.checker, SANDBOX)
        self.token = company.access_token
        await add_tenant(self.world.sessions, self.settings, self.world.redis, self.world.checker, SANDBOX,
                         self.tenant, company)

    def _new_writer(self) -> WriterHandlers:
        prefix = self.settings.redis_prefix
        # The limiter is not under test here: generous, so that no step waits for a window.
        limiter = RateLimiter(self.world.redis, prefix, limit=10_000, window=0.05, loss_grace=0.0)
        return writer_handlers(self.world.sessions, self.settings, self.world.redis, self.http,
                               lease_ms=5_000, degraded_ms=60_000, limiter=limiter)

    def command(self, version: int) -> DocumentCommand:
        modified = datetime(2026, 11, 1, 12, 0, tzinfo=UTC) + timedelta(hours=version)
        return order_command(self.tenant, ORDER, modified=modified, price=f"{self.price(version)}.00")

    def price(self, version: int) -> int:
        return 100 + 10 * version

    async def apply(self, fault: str) -> None:
        """A fault of Redis, or time passing (the keys that carry it expire)."""
        prefix = self.settings.redis_prefix
        pattern = {"redis-loss": f"{prefix}:*", "claim-expiry": f"{prefix}:claim:*"}.get(fault)
        patterns = [pattern] if pattern else [f"{prefix}:claim:*", f"{prefix}:ledger:rebuilt"]
        for match in patterns:
            async for key in self.world.redis.scan_iter(match=match):
                await self.world.redis.delete(key)

    async def _deliver(self, cmd: DocumentCommand) -> bool:
        """One delivery; True when acknowledged. A dead letter of a good message is a bug."""
        envelope = Envelope.new(tenant=self.tenant, type="fortnox.command.document", body=cmd.to_body())
        try:
            await self.writer.handle(envelope)
        except TransientError:
            return False
        except PermanentError as exc:
            raise AssertionError(f"a good snapshot was dead-lettered: {exc.code}: {exc.reason}") from exc
        return True

    async def _documents(self, resource: str, wrapper: str) -> list[dict[str, Any]]:
        r = await self.world.checker.get(f"{SANDBOX}/3/{resource}", headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == 200, r.text
        return list(r.json()[wrapper])

    # -- rules ---------------------------------------------------------------------------------

    @initialize(version=st.integers(0, VERSIONS - 1))
    def first_snapshot(self, version: int) -> None:
        self.publish(version)

    @rule(version=st.integers(0, VERSIONS - 1))
    def publish(self, version: int) -> None:
        """A snapshot in a new message: any version, in any order, again and again."""
        self.pending.append(self.command(version))
        self.published.add(version)

    def _delivery(self, index: int, plan: dict[tuple[str, int | str], str]) -> None:
        index %= len(self.pending)
        self.transport.start(plan)
        STEPS["deliveries"] += 1
        try:
            acked = self.world.run(self._deliver(self.pending[index]))
        except WriterKilled:
            self.restart()
            return
        finally:
            self.transport.start({})
        if acked:
            self.pending.pop(index)
        STEPS["acknowledged"] += acked

    @precondition(lambda self: bool(self.pending))
    @rule(index=st.integers(0, 7))
    def deliver(self, index: int) -> None:
        """A delivery that meets no fault."""
        self._delivery(index, {})

    @precondition(lambda self: bool(self.pending))
    @rule(index=st.integers(0, 7), write=st.sampled_from(["POST /3/orders", "PUT /3/orders", "POST /3/customers"]))
    def deliver_dropping_a_write(self, index: int, write: str) -> None:
        """A delivery whose write (the first of its kind) is committed in Fortnox, its answer lost."""
        self._delivery(index, {("drop", write): "drop"})

    @precondition(lambda self: bool(self.pending))
    @rule(index=st.integers(0, 7), plan=st.dictionaries(
        st.tuples(st.sampled_from(["any", "write"]), st.integers(0, 5)), st.sampled_from(FAULTS), max_size=3))
    def deliver_with_faults(self, index: int, plan: dict[tuple[str, int | str], str]) -> None:
        """A delivery that meets faults between its steps."""
        self._delivery(index, plan)

    @rule()
    def redis_loss(self) -> None:
        self.world.run(self.apply("redis-loss"))

    @rule()
    def claim_expiry(self) -> None:
        self.world.run(self.apply("claim-expiry"))

    @rule()
    def time_passes(self) -> None:
        self.world.run(self.apply("time-passes"))

    @rule()
    def restart(self) -> None:
        """A new writer process: nothing of the old one's memory survives."""
        self.writer = self._new_writer()

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def never_twice(self) -> None:
        STEPS["steps"] += 1
        orders = self.world.run(self._documents("orders", "Orders"))
        customers = self.world.run(self._documents("customers", "Customers"))
        assert len(orders) <= 1, f"order {ORDER} booked {len(orders)} times: {[o['DocumentNumber'] for o in orders]}"
        assert len(customers) <= 1, f"{len(customers)} customers for one email"

    def teardown(self) -> None:
        try:
            self._drain_and_check()
        finally:
            self.world.run(self.http.aclose())
            self.world.run(self.apply("redis-loss"))

    def _drain_and_check(self) -> None:
        for _ in range(40):  # every message is redelivered until acknowledged
            if not self.pending:
                break
            self.time_passes()
            self.pending = [cmd for cmd in self.pending if not self.world.run(self._deliver(cmd))]
        assert not self.pending, f"{len(self.pending)} messages were never applied"
        orders = self.world.run(self._documents("orders", "Orders"))
        assert len(orders) == 1, f"order {ORDER} booked {len(orders)} times once drained"
        r = self.world.run(self.world.checker.get(f"{SANDBOX}/3/orders/{orders[0]['DocumentNumber']}",
                                                  headers={"Authorization": f"Bearer {self.token}"}))
        price = Decimal(str(r.json()["Order"]["OrderRows"][0]["Price"]))
        assert price == self.price(max(self.published)), "Fortnox does not hold the latest snapshot"


class OneShopLifecycle(OneShopWriter):
    """The same machine, through the order's lifecycle: snapshot 0 is the order in processing, the
    later ones the order completed, to be invoiced and paid (same rows, so a newer snapshot never
    needs to change a locked document). Every effect of the chain — customer, order,
    createinvoice, payment, bookkeep — meets the faults."""

    def price(self, version: int) -> int:
        return 100

    def command(self, version: int) -> DocumentCommand:
        modified = datetime(2026, 11, 1, 12, 0, tzinfo=UTC) + timedelta(hours=version)
        if version == 0:
            return order_command(self.tenant, ORDER, modified=modified)
        return order_command(self.tenant, ORDER, modified=modified, convert_to_invoice=True,
                             payment=PaymentIntent(amount=Decimal("250.00"), payment_date="2026-11-01"))

    @invariant()
    def never_twice_through_the_lifecycle(self) -> None:
        invoices = [i for i in self.world.run(self._documents("invoices", "Invoices")) if not i.get("Credit")]
        payments = self.world.run(self._documents("invoicepayments", "InvoicePayments"))
        assert len(invoices) <= 1, f"order {ORDER} invoiced {len(invoices)} times"
        assert len(payments) <= 1, f"order {ORDER} paid {len(payments)} times"

    def _drain_and_check(self) -> None:
        super()._drain_and_check()
        if max(self.published) == 0:
            return
        invoices = self.world.run(self._documents("invoices", "Invoices"))
        payments = self.world.run(self._documents("invoicepayments", "InvoicePayments"))
        assert len(invoices) == 1 and len(payments) == 1, (len(invoices), len(payments))
        r = self.world.run(self.world.checker.get(f"{SANDBOX}/3/invoicepayments/{payments[0]['Number']}",
                                                  headers={"Authorization": f"Bearer {self.token}"}))
        assert r.json()["InvoicePayment"]["Booked"], "the payment was never bookkept"


class OneShopInvoices(OneShopWriter):
    """A shop that books invoices, whose accountant bookkeeps them in Fortnox at any moment: a later
    snapshot then credits the booked invoice and issues a new one. Every write of that chain —
    create, credit, the new invoice — meets the faults, and at no moment may two invoices of the
    order be live (neither a credit nor credited)."""

    def command(self, version: int) -> DocumentCommand:
        cmd = super().command(version)
        rows = [{"Description": "Kaffe", "DeliveredQuantity": Decimal("2"), "Price": Decimal(self.price(version)),
                 "VAT": 25, "AccountNumber": 3001}]
        return cmd.model_copy(update={"kind": "invoice", "document": {
            "InvoiceDate": "2026-11-01", "Currency": "SEK", "YourReference": "Anna Andersson", "InvoiceRows": rows}})

    async def _live_invoices(self) -> list[dict[str, Any]]:
        auth = {"Authorization": f"Bearer {self.token}"}
        live = []
        for listed in await self._documents("invoices", "Invoices"):
            r = await self.world.checker.get(f"{SANDBOX}/3/invoices/{listed['DocumentNumber']}", headers=auth)
            whole = r.json()["Invoice"]
            if (str(whole.get("Credit")).lower() != "true" and not int(whole.get("CreditInvoiceReference") or 0)
                    and not whole.get("Cancelled")):
                live.append(whole)
        return live

    @rule()
    def accountant_bookkeeps(self) -> None:
        """The accountant books the live invoice in Fortnox: from now on it can only be credited."""
        async def bookkeep() -> None:
            for invoice in await self._live_invoices():
                if not invoice.get("Booked"):
                    r = await self.world.checker.put(f"{SANDBOX}/3/invoices/{invoice['DocumentNumber']}/bookkeep",
                                                     headers={"Authorization": f"Bearer {self.token}"})
                    assert r.status_code == 200, r.text
        self.world.run(bookkeep())

    @precondition(lambda self: bool(self.pending))
    @rule(index=st.integers(0, 7), write=st.sampled_from(["POST /3/invoices", "PUT /3/invoices"]))
    def deliver_dropping_an_invoice_write(self, index: int, write: str) -> None:
        """A delivery whose invoice write (a create, an update or a credit) is committed, its answer lost."""
        self._delivery(index, {("drop", write): "drop"})

    @invariant()
    def never_twice(self) -> None:
        STEPS["steps"] += 1
        live = self.world.run(self._live_invoices())
        assert len(live) <= 1, f"order {ORDER} has {len(live)} live invoices: {[i['DocumentNumber'] for i in live]}"

    def _drain_and_check(self) -> None:
        for _ in range(40):
            if not self.pending:
                break
            self.time_passes()
            self.pending = [cmd for cmd in self.pending if not self.world.run(self._deliver(cmd))]
        assert not self.pending, f"{len(self.pending)} messages were never applied"
        live = self.world.run(self._live_invoices())
        assert len(live) == 1, f"order {ORDER} has {len(live)} live invoices once drained"
        price = Decimal(str(live[0]["InvoiceRows"][0]["Price"]))
        assert price == self.price(max(self.published)), "Fortnox does not hold the latest snapshot"


@pytest.mark.timeout(0 if LONG else 300)  # the long run takes many minutes
@pytest.mark.parametrize("machine", [OneShopWriter, OneShopLifecycle, OneShopInvoices],
                         ids=["updates", "lifecycle", "invoices"])
def test_one_shops_writer_never_books_twice(settings: CommonSettings, machine: type[OneShopWriter]) -> None:
    global WORLD
    loop = asyncio.new_event_loop()

    async def open_world() -> World:
        await upgrade(settings.database_url, settings.db_schema)
        engine = make_engine(settings.database_url, settings.db_schema, pool_size=2)
        app = create_app(SandboxSettings(rate_limit=1_000_000))
        return World(loop, settings, engine, make_sessionmaker(engine), aioredis.from_url(settings.redis_url), app,
                     httpx.AsyncClient(transport=httpx.ASGITransport(app=app)))

    world = WORLD = loop.run_until_complete(open_world())
    try:
        run_state_machine_as_test(machine, settings=hsettings.get_profile(PROFILE))
        print(f"stateful writer: {STEPS}")
        assert STEPS["acknowledged"] > 0
    finally:
        WORLD = None
        loop.run_until_complete(world.checker.aclose())
        loop.run_until_complete(world.redis.aclose())
        loop.run_until_complete(world.engine.dispose())
        loop.run_until_complete(drop_schema(settings.database_url, settings.db_schema))
        loop.close()
