"""Signed WooCommerce webhooks per second and p50/p99 latency through ingest (HMAC + confirmed publish
to RabbitMQ + edge dedup in Redis), against a bare endpoint that only answers 202, in the same run on
the same machine: the ratio is the figure (docs/benchmarks.md).

Both servers run as uvicorn processes (one worker each, as deployed); the load generator is a small
keep-alive HTTP/1.1 client on raw sockets so that the client's own cost stays low. Every request is a
distinct order snapshot, so none is answered as a duplicate.

    .venv/bin/python -m bench.ingest_webhooks [--seconds 6] [--connections 32]

Needs RabbitMQ, Redis and PostgreSQL (RABBITMQ_URL / REDIS_URL / DATABASE_URL or local defaults).
Uses its own prefix/schema and removes them afterwards. Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aio_pika
import redis.asyncio as aioredis
from pydantic import SecretStr

from bench.report import record
from libs.common.crypto import SecretBox, generate_key
from libs.common.store.db import drop_schema, make_engine, make_sessionmaker
from libs.common.store.migrate import upgrade
from libs.common.store.tenants import TenantNew, TenantStore
from libs.common.topology import Topology

ROOT = Path(__file__).resolve().parents[1]
SECRET = b"benchSecret123"
BARE = (
    "import uvicorn\n"
    "from fastapi import FastAPI\n"
    "from starlette.requests import Request\n"
    "from starlette.responses import Response\n"
    "from starlette.routing import Route\n"
    "async def hook(request: Request) -> Response:\n"
    "    await request.body()\n"
    "    return Response(b'{\"status\":\"accepted\"}', 202, media_type='application/json')\n"
    "app = FastAPI()\n"
    "app.router.routes.append(Route('/webhooks/woocommerce/{tenant}', hook, methods=['POST']))\n"
    "uvicorn.run(app, host='127.0.0.1', port=int(__import__('sys').argv[1]), log_level='warning', access_log=False)\n"
)
# A WooCommerce order of ordinary size (~2.5 KB), its id and modified time varied per request.
ORDER = (
    '{"id":%d,"parent_id":0,"number":"%d","status":"processing","currency":"SEK","date_created_gmt":'
    '"2026-05-12T10:15:00","date_modified_gmt":"2026-05-12T10:%02d:%02d","discount_total":"0.00",'
    '"shipping_total":"39.20","shipping_tax":"9.80","cart_tax":"122.01","total":"943.00","total_tax":"131.81",'
    '"prices_include_tax":true,"customer_id":17,"billing":{"first_name":"Anna","last_name":"Svensson",'
    '"company":"","address_1":"Storgatan 1","city":"G\\u00f6teborg","postcode":"411 05","country":"SE",'
    '"email":"anna.svensson@example.se","phone":"+46 31 123 45 67"},"shipping":{"first_name":"Anna",'
    '"last_name":"Svensson","address_1":"Storgatan 1","city":"G\\u00f6teborg","postcode":"411 05",'
    '"country":"SE"},"payment_method":"klarna","meta_data":[],"line_items":[' + ",".join(
        f'{{"id":{n},"name":"Product {n}","product_id":{n},"variation_id":0,"quantity":2,"tax_class":"",'
        '"subtotal":"200.00","subtotal_tax":"50.00","total":"200.00","total_tax":"50.00","taxes":[{"id":1,'
        f'"total":"50.00","subtotal":"50.00"}}],"meta_data":[],"sku":"SKU-{n}","price":100}}'
        for n in range(1, 6)
    ) + '],"tax_lines":[{"id":1,"rate_code":"SE-MOMS-25","rate_id":1,"label":"Moms","compound":false,'
    '"tax_total":"122.01","shipping_tax_total":"9.80","rate_percent":25}],"shipping_lines":[],"fee_lines":[],'
    '"coupon_lines":[],"refunds":[]}'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request_bytes(port: int, n: int) -> bytes:
    body = (ORDER % (n, n, (n // 60) % 60, n % 60)).encode()
    signature = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest())
    head = (f"POST /webhooks/woocommerce/bench HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nX-WC-Webhook-Topic: order.updated\r\n"
            f"X-WC-Webhook-Delivery-ID: d{n}\r\nX-WC-Webhook-Signature: ").encode()
    return head + signature + b"\r\n\r\n" + body


async def one_connection(port: int, ids: list[int], deadline: float, latencies: list[float],
                         statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            ids[0] += 1
            payload = request_bytes(port, ids[0])
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def load(port: int, seconds: float, connections: int, first_id: int) -> tuple[float, list[float], dict[int, int]]:
    ids = [first_id]
    warm: list[float] = []
    await asyncio.gather(*(one_connection(port, ids, time.perf_counter() + 1.0, warm, {})
                           for _ in range(connections)))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(*(one_connection(port, ids, started + seconds, latencies, statuses)
                           for _ in range(connections)))
    return len(latencies) / (time.perf_counter() - started), latencies, statuses


async def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise SystemExit("server did not start")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000 if len(values) > 1 else 0.0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    prefix = "bench" + uuid.uuid4().hex[:8]
    env = {**os.environ, "WOONOX_BROKER_PREFIX": prefix, "WOONOX_REDIS_PREFIX": prefix, "WOONOX_DB_SCHEMA": prefix,
           "WOONOX_SECRET_KEYS": generate_key(), "WOONOX_LOG_LEVEL": "WARNING"}
    database_url = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    rabbitmq_url = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    topology = Topology(prefix)
    await upgrade(database_url, prefix)
    engine = make_engine(database_url, prefix, pool_size=1)
    await TenantStore(make_sessionmaker(engine), SecretBox(env["WOONOX_SECRET_KEYS"])).add(
        TenantNew(id="bench", shop_url="https://bench.example", webhook_secret=SecretStr(SECRET.decode())))
    await engine.dispose()
    await topology.declare_on(rabbitmq_url)
    rows: list[tuple[str, float, float, float, dict[int, int]]] = []
    try:
        ingest = "from services.ingest.app import main; main()"
        servers: tuple[tuple[str, str, dict[str, str]], ...] = (("bare endpoint (202, no work)", BARE, {}),
                   ("ingest: HMAC + dedup + confirmed publish", ingest, {}),
                   ("ingest without edge dedup (no Redis)", ingest, {"WOONOX_EDGE_DEDUP": "false"}))
        for name, code, extra in servers:
            port = free_port()
            process = subprocess.Popen([sys.executable, "-c", code, str(port)], cwd=ROOT,
                                       env={**env, **extra, "WOONOX_INGEST_PORT": str(port)})
            try:
                await wait_listening(port, process)
                if "ingest" in name:
                    await asyncio.sleep(1.0)  # let it connect to RabbitMQ (/readyz)
                rate, latencies, statuses = await load(port, args.seconds, args.connections, len(rows) * 10_000_000)
            finally:
                process.terminate()
                process.wait(timeout=30)
            rows.append((name, rate, percentile(latencies, 0.5), percentile(latencies, 0.99), statuses))
    finally:
        connection = await aio_pika.connect(rabbitmq_url)
        async with connection:
            await topology.delete(await connection.channel())
        await drop_schema(database_url, prefix)
        client = aioredis.from_url(redis_url)
        async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            await client.delete(key)
        await client.aclose()

    print(f"\nsigned webhooks, {args.connections} keep-alive connections, {args.seconds:.0f} s each, "
          f"one uvicorn worker per server, {os.cpu_count()} cores shared with the load generator\n")
    print(f"| {'endpoint':<42} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | answers")
    print(f"|{'-' * 44}|{'-' * 9}|{'-' * 9}|{'-' * 9}|---------")
    for name, rate, p50, p99, statuses in rows:
        print(f"| {name:<42} | {rate:>7.0f} | {p50:>7.1f} | {p99:>7.1f} | {statuses}")
    print(f"\ningest / bare = {rows[1][1] / rows[0][1]:.2f} of the bare endpoint's rate "
          f"(goal: >= 2,000/s and p99 <= 50 ms on this machine); load average now {os.getloadavg()[0]:.1f}")
    for name, rate, p50, p99, statuses in rows:
        record("ingest_webhooks", {"endpoint": name, "rate": rate, "p50_ms": p50, "p99_ms": p99,
                                   "ratio": rate / rows[0][1], "statuses": statuses})


if __name__ == "__main__":
    asyncio.run(main())
