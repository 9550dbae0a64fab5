"""Storefront benchmark: SQL queries per request and requests per second.

Seeds N published listings (with variants, images and the search index) into a
database of its own, then measures the storefront queries shoppers send most:

  list20   products(first: 20) with name, slug, thumbnail, price range, category
  list100  the same with first: 100
  search   products(first: 20, filter: {search: "手机"})
  detail   product(slug) with variants, attributes, images and the vendor
  list20-apq  list20 sent as an automatic persisted query (the hash, not the document)
  ceiling  { __typename }: the cost of the stack without any work
  list20-core, list100-core, detail-core  in process only: the same with the
           fast completion path off (storefront_api/fast_execution.py), every
           field through graphql-core, to show what that path saves in one run

First in process through Django's test client (one process, no network), then,
with --server, through gunicorn with 2 workers and a small threaded load
generator on 127.0.0.1 (bounded in requests and time). Prints a markdown table.

    .venv/bin/python bench/storefront_bench.py --products 2000 --server
    DATABASE_URL=postgres://marketplace:marketplace@127.0.0.1:5432/marketplace_bench \\
        .venv/bin/python bench/storefront_bench.py --products 2000 --server

It runs on a database of its own next to the configured one (SQLite:
bench/results/storefront.sqlite3; PostgreSQL from DATABASE_URL: a database
named bench_storefront), created and migrated at the start and dropped at the
end; --keep keeps it and a later run only seeds what is missing. Never part of
the test run.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import data  # noqa: E402

LIST_QUERY = """query($first: Int!) { products(first: $first) { totalCount edges { node {
  id name slug thumbnail { url(size: THUMBNAIL) }
  priceRange { start { amount currency } stop { amount currency } }
  category { id name slug } } } } }"""
SEARCH_QUERY = """query { products(first: 20, filter: {search: "手机"}) { totalCount edges { node {
  id name slug thumbnail { url(size: THUMBNAIL) } priceRange { start { amount } } } } } }"""
DETAIL_QUERY = """query($slug: String!) { product(slug: $slug) {
  id name slug description inStock rating { average count }
  category { name slug parent { name slug } }
  vendor { id name slug logoUrl }
  attributes { slug name value }
  variants { id sku price { amount currency } quantityAvailable weight attributes { slug name value } }
  media { alt width height url jpeg: url(format: JPEG) }
  priceRange { start { amount } stop { amount } } } }"""
CEILING_QUERY = "{ __typename }"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=2000, help="Listings to seed (default 2000).")
    parser.add_argument("--requests", type=int, default=200, help="Requests per scenario in process.")
    parser.add_argument("--server", action="store_true", help="Also measure through gunicorn with 2 workers.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8, help="Concurrent clients against the server.")
    parser.add_argument("--server-requests", type=int, default=400, help="Requests per scenario against the server.")
    parser.add_argument("--max-seconds", type=float, default=60, help="Time cap per server scenario.")
    parser.add_argument("--keep", action="store_true", help="Keep (and reuse) the benchmark database.")
    parser.add_argument("--reseed", action="store_true", help="Delete the listings and seed again.")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--profile", metavar="SCENARIO",
        help="Profile SCENARIO in process (pyinstrument, the `bench` extra) and print the top of the profile.",
    )
    parser.add_argument(
        "--profile-functions", action="store_true",
        help="With --profile: cProfile's 40 functions of most own time instead of pyinstrument's call tree.",
    )
    return parser.parse_args()


def seed(count: int, *, reseed: bool, progress: bool) -> None:
    from backend.catalog.models import Product
    from backend.search import get_search_backend

    if reseed:
        Product.objects.all().delete()
        get_search_backend().clear()
    # Twenty stores, two of them suspended: their listings must never show.
    data.seed(data.Sizes(vendors=20, suspended=2, listings=count, variants_per_listing=2), progress=progress)


# --- Measuring ---


def scenarios(detail_slug: str) -> list[tuple[str, str, dict]]:
    return [
        ("list20", LIST_QUERY, {"first": 20}),
        ("list20-apq", APQ_PREFIX + LIST_QUERY, {"first": 20}),
        ("list100", LIST_QUERY, {"first": 100}),
        ("search", SEARCH_QUERY, {}),
        ("detail", DETAIL_QUERY, {"slug": detail_slug}),
        ("ceiling", CEILING_QUERY, {}),
    ]


APQ_PREFIX = "#apq\n"  # a scenario sent by its hash (automatic persisted queries)


def body(query: str, variables: dict, *, register: bool = False) -> bytes:
    if not query.startswith(APQ_PREFIX):
        return json.dumps({"query": query, "variables": variables}).encode()
    document = query[len(APQ_PREFIX):]
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(document.encode()).hexdigest()}}
    sent = {"extensions": persisted, "variables": variables}
    if register:
        sent["query"] = document
    return json.dumps(sent).encode()


CORE_PATH = "-core"  # in process only: the fast completion path switched off


def measure_in_process(requests: int, detail_slug: str) -> dict[str, dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from storefront_api import fast_execution

    client = Client()
    results = {}
    measured = scenarios(detail_slug)
    by_name = {name: (query, variables) for name, query, variables in measured}
    measured += [(name + CORE_PATH, *by_name[name]) for name in ("list20", "list100", "detail")]
    for name, query, variables in measured:
        fast_execution.ENABLED = not name.endswith(CORE_PATH)
        payload = body(query, variables)
        client.post("/storefront/graphql/", body(query, variables, register=True), content_type="application/json")

        def call():
            response = client.post("/storefront/graphql/", payload, content_type="application/json")
            data = response.json()
            assert response.status_code == 200 and "errors" not in data, data
            return data

        for _ in range(5):
            call()
        # A full log (earlier commands) would hide the new entries from the capture.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            call()
        queries = len(captured.captured_queries)
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            call()
        cpu = time.process_time() - cpu
        elapsed = time.perf_counter() - started
        results[name] = {"queries": queries, "rps": requests / elapsed, "cpu_ms": cpu * 1000 / requests}
    fast_execution.ENABLED = True
    return results


def profile_in_process(scenario: str, requests: int, detail_slug: str, *, functions: bool = False) -> None:
    """The top of a pyinstrument profile of `requests` in-process requests of one scenario (or,
    with `functions`, cProfile's functions of most own time)."""
    from django.test import Client

    found = {name: (query, variables) for name, query, variables in scenarios(detail_slug)}
    if scenario not in found:
        raise SystemExit(f"unknown scenario {scenario!r}; one of {', '.join(found)}")
    query, variables = found[scenario]
    client = Client()
    client.post("/storefront/graphql/", body(query, variables, register=True), content_type="application/json")
    payload = body(query, variables)
    for _ in range(5):
        client.post("/storefront/graphql/", payload, content_type="application/json")
    if functions:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            client.post("/storefront/graphql/", payload, content_type="application/json")
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("tottime")
        stats.print_stats(40)
        stats.print_callers(8)
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(requests):
            client.post("/storefront/graphql/", payload, content_type="application/json")
    print(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def load(port: int, payload: bytes, total: int, concurrency: int, max_seconds: float) -> dict:
    """Send `total` requests from `concurrency` keep-alive clients; stops early at max_seconds."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.perf_counter() + max_seconds

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        while time.perf_counter() < deadline:
            with lock:
                if next(counter, None) is None:
                    break
            started = time.perf_counter()
            try:
                connection.request("POST", "/storefront/graphql/", payload, headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    failures[0] += 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "failures": failures[0],
    }


def measure_server(args, detail_slug: str) -> dict[str, dict]:
    port = free_port()
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "backend.wsgi:application",
        "--workers", str(args.workers),
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    try:
        wait_for(port)
        results = {}
        for name, query, variables in scenarios(detail_slug):
            payload = body(query, variables)
            load(port, body(query, variables, register=True), 20, args.concurrency, 10)  # warm both workers
            results[name] = load(port, payload, args.server_requests, args.concurrency, args.max_seconds)
        return results
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    args = parse_args()
    data.configure_environment()
    import django

    django.setup()
    from django.db import connection

    original_name = connection.settings_dict["NAME"]
    url = data.use_own_database("storefront", keep=args.keep)
    os.environ["DATABASE_URL"] = url  # the server's workers use the benchmark database too
    try:
        run(args, url)
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(original_name, verbosity=0)


def run(args, url: str) -> None:
    from django.db import connection

    from backend.catalog.selectors import storefront_products

    seed(args.products, reseed=args.reseed, progress=not args.no_progress)
    visible = storefront_products().count()
    detail_slug = storefront_products().order_by("pk").values_list("slug", flat=True).first()
    if args.profile:
        profile_in_process(args.profile, args.requests, detail_slug, functions=args.profile_functions)
        return
    local = measure_in_process(args.requests, detail_slug)
    remote = measure_server(args, detail_slug) if args.server else {}

    database = connection.vendor + ("" if connection.vendor == "sqlite" else f" {connection.pg_version // 10000}")
    print()
    print(f"Database: {database} ({url.split('@')[-1]}); listings: {args.products} seeded, {visible} on the storefront")
    header = "| scenario | SQL queries / request | req/s in process | CPU ms / request in process | x floor |"
    rule = "| --- | ---: | ---: | ---: | ---: |"
    floor = local["ceiling"]["cpu_ms"]
    if remote:
        header += f" req/s gunicorn {args.workers} workers, {args.concurrency} clients | p50 ms |"
        rule += " ---: | ---: |"
    print(header)
    print(rule)
    for name, values in local.items():
        row = (
            f"| {name} | {values['queries']} | {values['rps']:.0f} | {values['cpu_ms']:.1f} |"
            f" {values['cpu_ms'] / floor:.1f} |"
        )
        if remote and name in remote:
            server = remote[name]
            row += f" {server['rps']:.0f} | {server['p50_ms']:.0f} |"
            if server["failures"]:
                row += f" ({server['failures']} failed)"
        elif remote:
            row += " - | - |"
        print(row)


if __name__ == "__main__":
    main()
