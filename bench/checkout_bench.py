"""checkoutComplete throughput for 1-, 2- and 3-store checkouts, and the time the periodic
task takes to release N due orders.

Runs in-process against a throwaway database: PostgreSQL when DATABASE_URL is set
(a test database `test_<name>` is created and dropped), otherwise a temporary SQLite
file. Checkouts are prepared (lines, address, shipping per store) before timing;
each timed call is one storefront `checkoutComplete` request through Django's test
client (dummy gateway, token success), so it includes GraphQL parsing, locking,
order placement, the payment and the escrow posting.

    .venv/bin/python bench/checkout_bench.py [--checkouts 60] [--release 300]
    DATABASE_URL=postgres://marketplace:marketplace@127.0.0.1:5432/marketplace .venv/bin/python bench/checkout_bench.py

The throwaway database is `bench_checkout_<pid>` (PostgreSQL) or a temporary file (SQLite);
--db-name names it otherwise. With --server, completions are also sent through gunicorn
(--workers, 2 by default) from --concurrency keep-alive clients on 127.0.0.1, each completing
checkouts prepared beforehand (bounded by --server-checkouts and --max-seconds).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault(
    "PLUGINS", "plugins.logistics.table_rate.TableRateCarrierPlugin,plugins.payments.dummy.DummyGatewayPlugin"
)
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from graphql_relay import to_global_id  # noqa: E402
from tqdm import tqdm  # noqa: E402

COMPLETE = """
mutation($id: ID!, $payment: PaymentInput!) {
  checkoutComplete(id: $id, payment: $payment) {
    orders { id status total { amount } } payment { id status } errors { code message }
  }
}"""
ORIGINS = ["330100", "440100", "310000"]  # Hangzhou, Guangzhou, Shanghai: regions with zone charts


class QueryCounter:
    """Counts the SQL statements run while installed (connection.execute_wrapper)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def use_throwaway_database(name: str | None = None):
    setup_test_environment()
    # One connection for the whole run, as a web worker keeps it (no reconnect per request).
    connection.settings_dict["CONN_MAX_AGE"] = None
    if connection.vendor == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="checkout-bench-")) / "bench.sqlite3"
        connection.settings_dict["TEST"]["NAME"] = str(path)
    else:
        # Its own name: never clobber the test suite's database.
        connection.settings_dict["TEST"]["NAME"] = name or f"bench_checkout_{os.getpid()}"
    return connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)


def make_world():
    from backend.accounts.models import User
    from backend.catalog.models import Category, ListingStatus, Product, ProductVariant
    from backend.orders.models import VendorShippingOrigin
    from backend.vendors.models import Vendor, VendorRole, VendorStaff, VendorStatus

    category = Category.objects.create(name="Tea", slug="tea")
    stores = []
    for i, origin in enumerate(ORIGINS):
        vendor = Vendor.objects.create(
            name=f"Store {i}", slug=f"store-{i}", company_name=f"Store {i} Ltd", contact_email=f"s{i}@example.com",
            status=VendorStatus.ACTIVE,
        )
        owner = User.objects.create_user(f"owner{i}@example.com", "Correct-Horse-42")
        VendorStaff.objects.create(vendor=vendor, user=owner, role=VendorRole.OWNER)
        VendorShippingOrigin.objects.create(vendor=vendor, region_code=origin)
        product = Product.objects.create(
            vendor=vendor, category=category, name=f"Listing {i}", slug=f"listing-{i}", status=ListingStatus.PUBLISHED,
            published_at=timezone.now(),
        )
        variant = ProductVariant.objects.create(
            product=product, vendor=vendor, sku=f"SKU-{i}", price_amount=Decimal("59.90"), stock=1_000_000,
            weight_kg=Decimal("0.600"),
        )
        stores.append((vendor, owner, variant))
    shopper = User.objects.create_user("shopper@example.com", "Correct-Horse-42")
    return stores, shopper


def prepare_checkout(shopper, variants):
    from backend.checkout import services

    checkout = services.checkout_create(
        user=shopper,
        lines=[services.LineInput(variant_id=v.pk, quantity=2) for v in variants],
        shipping_address=services.AddressInput(region="310000", street_address_1="1 Nanjing Road", first_name="Li"),
    )
    for variant in variants:
        services.checkout_shipping_method_update(
            checkout=checkout, vendor_id=variant.vendor_id, carrier="logistics.table_rate", service_code="economy"
        )
    return checkout


def bench_complete(stores, shopper, vendors: int, count: int) -> dict:
    from backend.accounts.jwt import create_access_token

    variants = [variant for _, _, variant in stores[:vendors]]
    checkouts = [prepare_checkout(shopper, variants) for _ in tqdm(range(count), desc=f"prepare {vendors}-store", leave=False)]
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {create_access_token(shopper)}"}
    timings, queries = [], []
    counter = QueryCounter()
    warm_up = prepare_checkout(shopper, variants)  # first request pays for imports and caches: not timed
    client.post("/storefront/graphql/", json.dumps({"query": COMPLETE, "variables": {
        "id": to_global_id("Checkout", str(warm_up.pk)), "payment": {"gateway": "dummy", "token": "success"}}}),
        content_type="application/json", **headers)
    from backend.notifications import services as notifications

    deliver_now = notifications.enqueue
    queued: list[int] = []
    delivery_queries = []
    for checkout in tqdm(checkouts, desc=f"checkoutComplete {vendors}-store", leave=False):
        body = json.dumps({"query": COMPLETE, "variables": {
            "id": to_global_id("Checkout", str(checkout.pk)), "payment": {"gateway": "dummy", "token": "success"}}})
        counter.count = 0
        # Without a broker the notices' emails are sent eagerly inside the request; a deployment's
        # worker sends them. They are sent after the timed request, and counted apart.
        queued.clear()
        notifications.enqueue = lambda ids, **_kw: queued.extend(ids)
        try:
            with connection.execute_wrapper(counter):
                started = time.perf_counter()
                response = client.post("/storefront/graphql/", body, content_type="application/json", **headers)
                timings.append(time.perf_counter() - started)
        finally:
            notifications.enqueue = deliver_now
        payload = response.json()["data"]["checkoutComplete"]
        assert payload["errors"] == [] and len(payload["orders"]) == vendors, payload
        queries.append(counter.count)
        counter.count = 0
        with connection.execute_wrapper(counter):
            deliver_now(list(queued))
        delivery_queries.append(counter.count)
    total = sum(timings)
    return {
        "vendors": vendors,
        "count": count,
        "per_second": count / total,
        "p50_ms": statistics.median(timings) * 1000,
        "p95_ms": sorted(timings)[max(0, int(len(timings) * 0.95) - 1)] * 1000,
        "queries": statistics.median(queries),
        "delivery_queries": statistics.median(delivery_queries),
    }


def _database_url(created: str) -> str:
    """The DATABASE_URL of the throwaway database, for the server's workers."""
    from urllib.parse import urlsplit, urlunsplit

    if connection.vendor == "sqlite":
        return f"sqlite:///{created}"
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{created}"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server did not start")


def bench_server(stores, shopper, vendors: int, count: int, args, database_url: str) -> dict:
    """checkoutComplete through gunicorn: `count` prepared checkouts completed by concurrent clients."""
    from backend.accounts.jwt import create_access_token

    variants = [variant for _, _, variant in stores[:vendors]]
    warm = [prepare_checkout(shopper, variants) for _ in range(args.workers * 2)]
    checkouts = [prepare_checkout(shopper, variants) for _ in tqdm(range(count), desc=f"prepare {vendors}-store (server)", leave=False)]
    # The prepared rows must be visible to the workers' connections.
    if not connection.get_autocommit():
        connection.commit()
    token = create_access_token(shopper)
    port = _free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    # Emails (sent eagerly by the workers without a broker) go nowhere instead of to the console.
    env = {**os.environ, "DATABASE_URL": database_url, "DATABASE_CONN_MAX_AGE": "600",
           "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    command = [gunicorn, "backend.wsgi:application", "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}",
               "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent, env=env, start_new_session=True)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def body(checkout) -> bytes:
        return json.dumps({"query": COMPLETE, "variables": {
            "id": to_global_id("Checkout", str(checkout.pk)), "payment": {"gateway": "dummy", "token": "success"}}}).encode()

    def client(queue: list, deadline: float, record: bool) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        while time.perf_counter() < deadline:
            with lock:
                if not queue:
                    break
                checkout = queue.pop()
            started = time.perf_counter()
            try:
                conn.request("POST", "/storefront/graphql/", body(checkout), headers)
                response = conn.getresponse()
                payload = json.loads(response.read())
                result = (payload.get("data") or {}).get("checkoutComplete") or {}
                ok = response.status == 200 and result.get("errors") == [] and len(result.get("orders") or []) == vendors
                error = "" if ok else str(payload)[:300]
            except (OSError, http.client.HTTPException, ValueError) as exc:
                ok, error = False, repr(exc)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            if record:
                with lock:
                    if ok:
                        latencies.append(time.perf_counter() - started)
                    else:
                        failures.append(error)
        conn.close()

    def run(queue: list, concurrency: int, seconds: float, record: bool) -> float:
        threads = [threading.Thread(target=client, args=(queue, time.perf_counter() + seconds, record)) for _ in range(concurrency)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    try:
        _wait_for(port)
        run(list(warm), args.workers * 2, 30, False)  # each worker pays for its imports and caches first
        elapsed = run(list(reversed(checkouts)), args.concurrency, args.max_seconds, True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    if failures:
        print(f"{len(failures)} failed completions, first: {failures[0]}", file=sys.stderr)
    return {
        "vendors": vendors,
        "count": len(latencies),
        "failures": len(failures),
        "per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": sorted(latencies)[max(0, int(len(latencies) * 0.95) - 1)] * 1000 if latencies else float("nan"),
    }


def bench_release(stores, shopper, count: int) -> dict:
    from backend.checkout import services as checkout_services
    from backend.finance.ledger import ledger_problems
    from backend.orders import services as orders_services
    from backend.orders.models import Order, OrderStatus

    vendor, owner, variant = stores[0]
    for _ in tqdm(range(count), desc="prepare shipped orders", leave=False):
        checkout = prepare_checkout(shopper, [variant])
        order = checkout_services.checkout_complete(
            checkout=checkout, user=shopper, gateway="dummy", token="success"
        ).orders[0]
        orders_services.order_ship(actor=owner, order=order, carrier="logistics.table_rate")
    due = timezone.now() + timedelta(days=settings.ORDER_AUTO_CONFIRM_DAYS_AFTER_SHIPMENT, minutes=1)
    started = time.perf_counter()
    released = orders_services.orders_auto_confirm(now=due)
    first_run = time.perf_counter() - started
    started = time.perf_counter()
    again = orders_services.orders_auto_confirm(now=due)
    second_run = time.perf_counter() - started
    assert released == count and again == 0, (released, again)
    assert Order.objects.filter(status=OrderStatus.COMPLETED).count() >= count
    assert ledger_problems() == []
    return {"count": count, "seconds": first_run, "per_second": count / first_run, "second_run": second_run}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkouts", type=int, default=60, help="timed completions per store count")
    parser.add_argument("--release", type=int, default=300, help="due orders the periodic task releases (0: skip)")
    parser.add_argument("--stores", default="1,2,3", help="store counts to measure, comma-separated")
    parser.add_argument("--db-name", default=None, help="name of the throwaway database (default bench_checkout_<pid>)")
    parser.add_argument("--server", action="store_true", help="also complete checkouts through gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers with --server")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients with --server")
    parser.add_argument("--server-checkouts", type=int, default=300, help="checkouts completed per store count with --server")
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per store count with --server")
    args = parser.parse_args()
    store_counts = [int(n) for n in args.stores.split(",")]

    old_name = connection.settings_dict["NAME"]
    created = use_throwaway_database(args.db_name)
    served = []
    release = None
    try:
        stores, shopper = make_world()
        results = [bench_complete(stores, shopper, vendors, args.checkouts) for vendors in store_counts]
        if args.server:
            served = [
                bench_server(stores, shopper, vendors, args.server_checkouts, args, _database_url(created))
                for vendors in store_counts
            ]
        if args.release:
            release = bench_release(stores, shopper, args.release)
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)

    database = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    print(f"\n### checkoutComplete ({database}, {os.cpu_count()} cores, one process, in-process client)\n")
    print("| stores in the checkout | completions | per second | p50 ms | p95 ms | SQL queries per completion | SQL queries of its emails (a worker's, untimed) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['vendors']} | {r['count']} | {r['per_second']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['queries']:.0f} "
            f"| {r['delivery_queries']:.0f} |"
        )
    if served:
        print(f"\n### checkoutComplete through gunicorn ({database}, {args.workers} workers, {args.concurrency} clients)\n")
        print("| stores in the checkout | completions | failed | per second | p50 ms | p95 ms |")
        print("| --- | --- | --- | --- | --- | --- |")
        for r in served:
            print(f"| {r['vendors']} | {r['count']} | {r['failures']} | {r['per_second']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} |")
    if release:
        print("\n### Releasing due orders (periodic task)\n")
        print("| due orders | first run s | orders released per second | second run s (nothing left) |")
        print("| --- | --- | --- | --- |")
        print(f"| {release['count']} | {release['seconds']:.2f} | {release['per_second']:.0f} | {release['second_run']:.3f} |")


if __name__ == "__main__":
    main()
