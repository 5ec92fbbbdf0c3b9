"""The invariants of docs/architecture.md, checked after a chaos run against the truth:
the shops' own state (what WooCommerce holds), the sandbox's state and journal (what Fortnox holds
and was asked), the dead-letter queues and every service's log file."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.loadgen import ShopLoad
from libs.common.commands import credit_reference, external_reference
from libs.common.dead_letters import DeadLetter
from services.fortnox_sandbox.arithmetic import Line, compute
from tests.e2e.writer_stack import max_in_window

__all__ = ["Check", "Expected", "dead_letter_checks", "documents_checks", "expected_of", "journal_checks",
           "secrets_check"]

BOOKED = {"processing", "on-hold", "completed", "refunded"}  # the default create triggers (docs/mapping.md)
# and an order refunded in full, which WooCommerce moves on to `refunded`; the load generator refunds
# only completed orders, so a refunded one was invoiced first and keeps its invoice and credits.
INVOICED = {"completed", "refunded"}
RATE_LIMIT = 25  # requests per 5 s per tenant (Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits)


@dataclass
class Check:
    name: str
    ok: bool
    figures: str


@dataclass
class Expected:
    """What Fortnox must hold for one tenant: reference -> the WooCommerce object it stands for."""

    orders: dict[str, dict[str, Any]]
    invoices: dict[str, dict[str, Any]]
    credits: dict[str, Decimal]  # credit reference -> refunded amount


def expected_of(load: ShopLoad) -> Expected:
    orders: dict[str, dict[str, Any]] = {}
    invoices: dict[str, dict[str, Any]] = {}
    credits: dict[str, Decimal] = {}
    for order in load.shop.orders.values():
        if order["status"] not in BOOKED:
            continue
        ref = external_reference(load.tenant, order["id"])
        orders[ref] = order
        if order["status"] in INVOICED:  # convert_on_completed: the order becomes an invoice
            invoices[ref] = order
            for refund in load.shop.refunds.get(order["id"], []):
                credits[credit_reference(load.tenant, order["id"], refund["id"])] = Decimal(refund["amount"])
    return Expected(orders, invoices, credits)


def _vat_by_rate(doc: dict[str, Any], rows_key: str) -> dict[Decimal, Decimal]:
    lines = [Line(Decimal(str(r.get("DeliveredQuantity") or r.get("OrderedQuantity") or 0)),
                  Decimal(str(r.get("Price") or 0)), Decimal(str(r.get("Discount") or 0)),
                  str(r.get("DiscountType") or "AMOUNT"), Decimal(str(r.get("VAT") or 0)))
             for r in doc.get(rows_key) or []]
    totals = compute(lines, vat_included=bool(doc.get("VATIncluded")))
    return {rate: vat for rate, vat in totals.vat_by_rate.items() if vat}


def _woo_vat_by_rate(order: dict[str, Any]) -> dict[Decimal, Decimal]:
    out: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in order["tax_lines"]:
        out[Decimal(str(line["rate_percent"]))] += Decimal(line["tax_total"]) + Decimal(line["shipping_tax_total"])
    return {rate: vat for rate, vat in out.items() if vat}


def _money_off(doc: dict[str, Any], order: dict[str, Any], rows_key: str) -> str | None:
    total, vat = Decimal(str(doc.get("Total"))), Decimal(str(doc.get("TotalVAT")))
    if total != Decimal(order["total"]) or vat != Decimal(order["total_tax"]):
        return f"{doc.get('DocumentNumber')}: Total {total}/{order['total']} VAT {vat}/{order['total_tax']}"
    if _vat_by_rate(doc, rows_key) != _woo_vat_by_rate(order):
        return f"{doc.get('DocumentNumber')}: VAT by rate {_vat_by_rate(doc, rows_key)} != {_woo_vat_by_rate(order)}"
    return None


def documents_checks(tenants: dict[str, tuple[Expected, dict[str, list[dict[str, Any]]]]]) -> list[Check]:
    """Per tenant (expected, sandbox state): one document of each kind per order, the money to the
    öre, and no document woonox made without an order behind it."""
    n = Counter[str]()
    money_off: list[str] = []
    examples: dict[str, list[str]] = defaultdict(list)
    for tenant, (want, state) in tenants.items():
        orders = Counter(str(d.get("ExternalInvoiceReference1") or "") for d in state.get("orders", []))
        invoices = Counter(str(d.get("ExternalInvoiceReference1") or "") for d in state.get("invoices", []))
        for kind, have, expected in (("order", orders, set(want.orders)), ("invoice", invoices, set(want.invoices)),
                                     ("credit", invoices, set(want.credits))):
            n[f"{kind}s expected"] += len(expected)
            n[f"{kind}s found"] += sum(1 for ref in expected if have[ref])
            lost = [ref for ref in expected if not have[ref]]
            doubles = [ref for ref in expected if have[ref] > 1]
            n[f"{kind}s lost"] += len(lost)
            n[f"{kind}s doubled"] += len(doubles)
            examples[f"{kind} lost"] += lost[:3]
            examples[f"{kind} doubled"] += doubles[:3]
        orphans = [ref for ref in orders if ref not in want.orders]
        orphans += [ref for ref in invoices if ref not in want.invoices and ref not in want.credits]
        n["orphans"] += len(orphans)
        examples["orphan"] += [f"{tenant}:{ref or '(no reference)'}" for ref in orphans[:3]]
        for key, docs, by_ref in (("OrderRows", state.get("orders", []), want.orders),
                                  ("InvoiceRows", state.get("invoices", []), want.invoices)):
            for doc in docs:
                order = by_ref.get(str(doc.get("ExternalInvoiceReference1") or ""))
                if order is not None:
                    n["documents compared"] += 1
                    if (off := _money_off(doc, order, key)) is not None:
                        money_off.append(f"{tenant} {off}")
        for doc in state.get("invoices", []):
            amount = want.credits.get(str(doc.get("ExternalInvoiceReference1") or ""))
            if amount is not None:
                n["credits compared"] += 1
                if abs(Decimal(str(doc.get("Total")))) != amount:
                    money_off.append(f"{tenant} credit {doc.get('DocumentNumber')}: {doc.get('Total')} != -{amount}")

    def row(kind: str, title: str) -> Check:
        lost, doubled = n[f"{kind}s lost"], n[f"{kind}s doubled"]
        bad = [e for k in (f"{kind} lost", f"{kind} doubled") for e in examples[k]]
        return Check(title, lost == 0 and doubled == 0,
                     f"expected {n[f'{kind}s expected']}, booked {n[f'{kind}s found']}, duplicates {doubled}, "
                     f"lost {lost}" + (f" (e.g. {', '.join(bad[:3])})" if bad else ""))

    return [
        row("order", "each order exactly one Fortnox order"),
        row("invoice", "each completed order exactly one invoice"),
        row("credit", "each refund exactly one credit invoice"),
        Check("totals and VAT per rate equal to the öre", not money_off,
              f"{n['documents compared']} documents and {n['credits compared']} credits compared, "
              f"{len(money_off)} differ" + (f": {'; '.join(money_off[:3])}" if money_off else "")),
        Check("no document without an order", n["orphans"] == 0,
              f"{n['orphans']} orphans" + (f": {', '.join(examples['orphan'][:3])}" if examples["orphan"] else "")),
    ]


def dead_letter_checks(letters: list[DeadLetter]) -> list[Check]:
    """Every dead letter must carry its reason; and since the load generator makes only valid
    orders, products and customers, none of them should be dead-lettered at all."""
    unexplained = [d for d in letters if not d.reason.strip()]
    reasons = Counter(f"{d.code or d.kind}" for d in letters).most_common(4)
    detail = "; ".join(f"{n}× {d.code}: {d.reason[:120]}" for d, n in
                       ((next(x for x in letters if (x.code or x.kind) == code), n) for code, n in reasons))
    return [
        Check("every dead letter explained", not unexplained,
              f"{len(letters)} dead letters, {len(unexplained)} without a reason"),
        Check("no valid order, product or customer dead-lettered", not letters,
              f"{len(letters)} dead letters" + (f": {detail}" if detail else "")),
    ]


def _after(moment: datetime, timeline: list[tuple[datetime, str]]) -> str:
    """The chaos event last begun before `moment` ("Redis loss +1.2 s"), to explain a figure."""
    before = [(t, name) for t, name in timeline if t <= moment]
    if not before:
        return "before any chaos"
    t, name = before[-1]
    return f"{name} +{(moment - t).total_seconds():.1f} s"


def _worst_window(times: list[datetime], window: float = 5.0) -> tuple[int, datetime | None]:
    ts = sorted(times)
    best, at, j = 0, None, 0
    for i, t in enumerate(ts):
        while (t - ts[j]).total_seconds() >= window:
            j += 1
        if i - j + 1 > best:
            best, at = i - j + 1, ts[j]
    return best, at


def journal_checks(journal: list[dict[str, Any]], numbers: dict[str, int], clients: dict[str, str],
                   expiries: dict[str, int], generations: dict[str, int],
                   timeline: list[tuple[datetime, str]]) -> list[Check]:
    ours_429 = [e for e in journal if e["status"] == 429 and not e.get("fault")]
    when_429 = Counter(_after(datetime.fromisoformat(str(e["at"])), timeline) for e in ours_429)
    injected = sum(1 for e in journal if e.get("fault"))
    worst: dict[str, int] = {}
    worst_at: dict[str, str] = {}
    for tenant, number in numbers.items():
        times = [datetime.fromisoformat(str(e["at"])) for e in journal
                 if e.get("database_number") == number and str(e["path"]).startswith("/3/")]
        worst[tenant] = max_in_window(times) if times else 0
        count, at = _worst_window(times)
        if count > RATE_LIMIT and at is not None:
            worst_at[tenant] = _after(at, timeline)
    calls = sum(1 for e in journal if str(e["path"]).startswith("/3/"))
    refreshes = {t: sum(1 for e in journal if e["path"] == "/oauth-v1/token" and e.get("client_id") == c
                        and e["status"] == 200) for t, c in clients.items()}
    failed = sum(1 for e in journal if e["path"] == "/oauth-v1/token" and e["status"] != 200)
    rotations_ok = all(refreshes[t] == expiries.get(t, 0) == generations.get(t, 1) - 1 for t in clients)
    return [
        Check("0 × 429 caused by woonox", not ours_429,
              f"{calls} Fortnox calls, {len(ours_429)} × 429 not injected, {injected} answers shaped by faults"
              + (f" (429s at: {', '.join(f'{k} ×{v}' for k, v in when_429.items())})" if ours_429 else "")),
        Check(f"max requests in any 5-s window ≤ {RATE_LIMIT} per tenant", max(worst.values(), default=0) <= RATE_LIMIT,
              ", ".join(f"{t} {w}" + (f" (window from {worst_at[t]})" if t in worst_at else "")
                        for t, w in worst.items())),
        Check("exactly one refresh per token rotation", rotations_ok,
              ", ".join(f"{t}: {expiries.get(t, 0)} expiries, {refreshes[t]} refreshes, "
                        f"{generations.get(t, 1) - 1} pairs committed" for t in clients)
              + f"; {failed} failed token requests"),
    ]


def secrets_check(log_files: list[Path], secrets: dict[str, list[str]]) -> Check:
    hits: Counter[str] = Counter()
    lines = 0
    for path in log_files:
        for line in path.read_text(errors="replace").splitlines():
            lines += 1
            for kind, values in secrets.items():
                hits[kind] += sum(1 for v in values if v and v in line)
    count = sum(secrets_len for secrets_len in (len(v) for v in secrets.values()))
    return Check("no secret in any log line", not hits.total(),
                 f"{len(log_files)} log files, {lines} lines, {count} secrets, {hits.total()} found"
                 + (f" ({dict(+hits)})" if hits.total() else ""))
