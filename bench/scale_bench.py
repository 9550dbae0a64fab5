"""Scale benchmark: the storefront and a merchant's order list at demo size and at full size, in one run.

Times, through gunicorn (2 workers by default) on 127.0.0.1 with a small threaded load
generator, p50 and p95 of:

  list20     storefront products(first: 20) with totalCount (as storefront_bench's list20)
  filtered   the same narrowed to a top-level category and a price range (priceGte/priceLte)
  search     storefront products(first: 20, filter: {search: "手机"}) with totalCount
  orders     core API orders(first: 20) with totalCount, as the owner of one store (Bearer token)

on two databases of the benchmark's own:

  demo   20 stores (2 suspended), 2,000 listings with 3 variants, 20,000 orders, generated at the
         start (bench_<--demo-name>, SQLite bench/results/<--demo-name>.sqlite3), dropped at the
         end unless --keep;
  full   the database make_data.py built and kept (bench_<--large-name>): 1,000 stores, 100,000
         listings, 300,000 variants, 1,000,000 orders. It is never generated or dropped here.

Both sizes' servers run at once and each scenario alternates between them in ten rounds, so
the shared machine's changing load weighs on both alike. After the load it reads VmRSS and VmHWM (peak) of each gunicorn worker from
/proc/<pid>/status. Prints markdown tables, with the ratio full / demo of each p95.

    DATABASE_URL=postgres://marketplace:marketplace@127.0.0.1:5432/marketplace \\
        .venv/bin/python bench/make_data.py --name large --keep
    DATABASE_URL=postgres://marketplace:marketplace@127.0.0.1:5432/marketplace \\
        .venv/bin/python bench/scale_bench.py --large-name large

Never part of the test run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from base64 import b64encode
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import data  # noqa: E402
from bench.storefront_bench import LIST_QUERY, SEARCH_QUERY, free_port, wait_for  # noqa: E402

FILTERED_QUERY = """query($filter: ProductFilterInput) { products(first: 20, filter: $filter) { totalCount
  edges { node { id name slug thumbnail { url(size: THUMBNAIL) }
  priceRange { start { amount currency } stop { amount currency } } category { id name slug } } } } }"""
ORDERS_QUERY = """query { orders(first: 20) { totalCount pageInfo { hasNextPage endCursor }
  edges { node { id number status createdAt total { amount currency }
  lines { productName variantSku quantity } } } } }"""
STOREFRONT, CORE = "/storefront/graphql/", "/graphql/"
OWNER_EMAIL = "owner@scale.bench"
ROUNDS = 10
DEMO = data.Sizes(vendors=20, suspended=2, listings=2000, variants_per_listing=3, orders=20_000)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large-name", default="large", help="the full-size database make_data.py kept: bench_<name>")
    parser.add_argument("--demo-name", default="scale_demo", help="the demo-size database: bench_<name>")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="concurrent keep-alive clients")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per scenario")
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per scenario")
    parser.add_argument("--keep", action="store_true", help="keep the demo database")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args()


# --- What each database is asked ---


def prepare() -> dict:
    """The owner's token, the store they own and the filter of `filtered`, in the current database."""
    from django.db.models import Count

    from backend.accounts.jwt import create_access_token
    from backend.accounts.models import User
    from backend.catalog.models import Category, Product
    from backend.catalog.selectors import storefront_products
    from backend.orders.models import Order
    from backend.vendors.models import Vendor, VendorRole, VendorStaff

    # The store of the first order (the first store has only listings waiting for review).
    vendor = Vendor.objects.get(pk=Order.objects.order_by("pk").values_list("vendor_id", flat=True)[0])
    owner = User.objects.filter(email=OWNER_EMAIL).first() or User.objects.create_user(OWNER_EMAIL, None)
    VendorStaff.objects.update_or_create(user=owner, defaults={"vendor": vendor, "role": VendorRole.OWNER})
    # The top-level category with the most listings (its listings are those of its leaves).
    leaf_counts = dict(
        Product.objects.values("category_id").annotate(n=Count("id")).values_list("category_id", "n")
    )
    parents = dict(Category.objects.values_list("pk", "parent_id"))

    def root(pk):
        while parents.get(pk):
            pk = parents[pk]
        return pk

    totals: dict[int, int] = {}
    for pk, count in leaf_counts.items():
        totals[root(pk)] = totals.get(root(pk), 0) + count
    category = max(totals, key=totals.get)
    narrowed = {
        "category": b64encode(f"Category:{category}".encode()).decode(),
        "priceGte": "50",
        "priceLte": "500",
    }
    return {
        "token": create_access_token(owner),
        "vendor_orders": Order.objects.filter(vendor=vendor).count(),
        "filter": narrowed,
        "listings": Product.objects.count(),
        "visible": storefront_products().count(),
        "orders": Order.objects.count(),
    }


def scenarios(prepared: dict) -> list[tuple[str, str, bytes, dict]]:
    def body(query, variables=None):
        return json.dumps({"query": query, "variables": variables or {}}).encode()

    owner = {"Authorization": f"Bearer {prepared['token']}"}
    return [
        ("list20", STOREFRONT, body(LIST_QUERY, {"first": 20}), {}),
        ("filtered", STOREFRONT, body(FILTERED_QUERY, {"filter": prepared["filter"]}), {}),
        ("search", STOREFRONT, body(SEARCH_QUERY), {}),
        ("orders", CORE, body(ORDERS_QUERY), owner),
    ]


# --- Load and measurements ---


def load(port: int, path: str, payload: bytes, extra: dict, total: int, concurrency: int, max_seconds: float) -> dict:
    """`total` requests from `concurrency` keep-alive clients (stops early at max_seconds): latencies."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.perf_counter() + max_seconds
    headers = {"Content-Type": "application/json", **extra}

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < deadline:
            with lock:
                if next(counter, None) is None:
                    break
            started = time.perf_counter()
            problem = None
            try:
                connection.request("POST", path, payload, headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status != 200 or b'"errors"' in answer:
                    problem = f"{response.status} {answer[:300]!r}"
            except (OSError, http.client.HTTPException) as error:
                problem = repr(error)
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                if problem is None:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    failures.append(problem)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"latencies": latencies, "seconds": elapsed, "failures": failures}


def worker_memory(master: int) -> list[dict]:
    """VmRSS and VmHWM (kB) of the gunicorn master's children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master):
            found.append({
                "pid": int(entry.name),
                "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
                "hwm_mb": int(fields["VmHWM"].split()[0]) / 1024,
            })
    return sorted(found, key=lambda w: w["pid"])


def start_server(args, url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [
        str(gunicorn if gunicorn.exists() else ROOT / ".venv" / "bin" / "gunicorn"), "backend.wsgi:application",
        "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, start_new_session=True)
    wait_for(port)
    return server, port


def measure(args, sizes: dict) -> tuple[dict, list[dict]]:
    """Both sizes' servers at once, each scenario sent to one then the other in ROUNDS alternating
    rounds, so a change of the machine's load (it is shared) weighs on both sizes alike."""
    servers = {}
    try:
        for size, (url, _prepared) in sizes.items():
            servers[size] = start_server(args, url)
        results = {size: {} for size in sizes}
        per_round = max(1, args.requests // ROUNDS)
        for index in range(len(scenarios(next(iter(sizes.values()))[1]))):
            collected = {size: {"latencies": [], "failures": [], "seconds": 0.0} for size in sizes}
            for round_number in range(ROUNDS + 1):  # round 0 warms every worker
                for size, (_url, prepared) in sizes.items():
                    name, path, payload, extra = scenarios(prepared)[index]
                    port = servers[size][1]
                    if round_number == 0:
                        warm = load(port, path, payload, extra, 4 * args.workers, args.concurrency, 30)
                        if warm["failures"]:
                            raise RuntimeError(f"{size} {name}: {warm['failures'][0]}")
                        continue
                    done = load(port, path, payload, extra, per_round, args.concurrency, args.max_seconds / ROUNDS)
                    collected[size]["latencies"] += done["latencies"]
                    collected[size]["failures"] += done["failures"]
                    collected[size]["seconds"] += done["seconds"]
            for size, found in collected.items():
                latencies = sorted(found["latencies"])
                results[size][name] = {
                    "n": len(latencies),
                    "rps": len(latencies) / found["seconds"] if found["seconds"] else 0.0,
                    "p50": statistics.median(latencies) if latencies else float("nan"),
                    "p95": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] if latencies else float("nan"),
                    "failures": found["failures"],
                }
        memory = worker_memory(servers["full"][0].pid) if "full" in servers else []
        return results, memory
    finally:
        for server, _port in servers.values():
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def main() -> None:
    args = parse_args()
    data.configure_environment()
    import django

    django.setup()
    from django.db import connection

    original = connection.settings_dict["NAME"]
    sizes = {}
    demo_name = None
    try:
        # Demo size: generated here (a later --keep run reuses it).
        demo_url = data.use_own_database(args.demo_name, keep=True)
        demo_name = connection.settings_dict["NAME"]
        data.seed(DEMO, progress=not args.no_progress)
        sizes["demo"] = (demo_url, prepare())
        connection.close()

        # Full size: the database make_data.py kept.
        large_url = data.use_own_database(args.large_name, keep=True)
        from backend.orders.models import Order

        if not Order.objects.exists():
            raise SystemExit(f"bench_{args.large_name} holds no data: run bench/make_data.py --name {args.large_name} --keep")
        sizes["full"] = (large_url, prepare())
        connection.close()
        with open("/proc/loadavg") as handle:
            args.load_before = " ".join(handle.read().split()[:3])
        results, memory = measure(args, sizes)
    finally:
        connection.close()
        if demo_name and not args.keep:
            connection.creation._destroy_test_db(demo_name, verbosity=0)
        connection.settings_dict["NAME"] = original
    report(args, {size: (prepared, results[size], memory if size == "full" else []) for size, (_url, prepared) in sizes.items()})


def report(args, runs: dict) -> None:
    from django.db import connection

    database = connection.vendor
    if database == "postgresql":
        connection.ensure_connection()
        database += f" {connection.pg_version // 10000}"
    print()
    with open("/proc/loadavg") as handle:
        loadavg = " ".join(handle.read().split()[:3])
    print(f"Database: {database}; gunicorn {args.workers} workers, {args.concurrency} clients; load average {getattr(args, 'load_before', '?')} before, {loadavg} after")
    for size, (prepared, _results, _memory) in runs.items():
        print(
            f"- {size}: {prepared['listings']:,} listings ({prepared['visible']:,} on the storefront), "
            f"{prepared['orders']:,} orders, {prepared['vendor_orders']:,} of them the owner's store's"
        )
    print()
    print("| scenario | demo p50 ms | demo p95 ms | full p50 ms | full p95 ms | full / demo p95 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    demo, full = runs.get("demo", (None, {}, []))[1], runs.get("full", (None, {}, []))[1]
    for name in demo:
        row = f"| {name} | {demo[name]['p50']:.1f} | {demo[name]['p95']:.1f} |"
        if name in full:
            ratio = full[name]["p95"] / demo[name]["p95"] if demo[name]["p95"] else float("nan")
            row += f" {full[name]['p50']:.1f} | {full[name]['p95']:.1f} | {ratio:.2f} |"
        else:
            row += " - | - | - |"
        failed = len(demo[name]["failures"]) + len(full.get(name, {}).get("failures", []))
        if failed:
            row += f" ({failed} failed)"
        print(row)
    memory = runs.get("full", (None, {}, []))[2]
    if memory:
        print()
        print("| worker (full size, after the load) | VmRSS MB | VmHWM MB |")
        print("| --- | ---: | ---: |")
        for worker in memory:
            print(f"| {worker['pid']} | {worker['rss_mb']:.0f} | {worker['hwm_mb']:.0f} |")


if __name__ == "__main__":
    main()
