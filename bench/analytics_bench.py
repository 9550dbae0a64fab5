"""Analytics at scale: the daily aggregation over N orders, the `analytics` figures read from it, and
what recording a storefront event costs the request.

    .venv/bin/python bench/analytics_bench.py                      # 1,000,000 orders over 400 days
    .venv/bin/python bench/analytics_bench.py --orders 20000 --events 5000 --repeat 5
    DATABASE_URL=postgres://marketplace:marketplace@127.0.0.1:5432/marketplace .venv/bin/python bench/analytics_bench.py

1. Data (bench/data.py, in bulk, with progress bars): --stores stores, --listings listings, --orders
   orders placed over the last --days days, and --events storefront events (views, searches, add to
   cart, checkouts, orders placed) over the same days, written as the recorder's flush writes them.
2. The aggregation: `aggregation.aggregate_day` for every past day (the backfill, a progress bar),
   the weekly and monthly rollups of every stored day (`rollups.rebuild_all`, as the migration that
   added them does; also on a kept database), those of one recomputed day, then one periodic run (`analytics.aggregate_days`: the last ANALYTICS_RECOMPUTE_DAYS days and
   today), and today's live figures computed once (what the first reader of a range ending today
   pays every ANALYTICS_LIVE_CACHE_SECONDS).
3. The figures: `selectors.analytics_report` (what the core `analytics` query and the staff page
   call) for the busiest store and for the platform, by day, week and month over the last 30 and
   365 days, `report_csv` of the same, the CSV download view (`/analytics/reports/<token>.csv`) and
   the whole core `analytics` query through /graphql/ (Django's test client): median and p95 over
   --repeat calls (and the median CPU time of this process: on a shared machine the wall time
   also counts waiting for a core), and the SQL queries of one call. Today's live figures are cached (as in use).
4. Recording: `hooks.product_viewed` inside a storefront visit, per event, into the memory buffer
   (the embedded default) and, when Redis answers on 127.0.0.1:6379, into a Redis list; then the
   storefront `product(slug)` and search queries with ANALYTICS_ENABLED on and off, interleaved,
   and the difference per request.

Runs on a database of its own (bench_<--name>, SQLite: bench/results/<name>.sqlite3), created and
migrated at the start and dropped at the end; --keep keeps it, and a later run with --keep reuses
its orders and events (it generates only when there are none). Never part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import data  # noqa: E402

CORE_QUERY = """query($vendor: ID, $from: Date!, $to: Date!, $period: AnalyticsPeriod) {
  analytics(vendor: $vendor, from: $from, to: $to, period: $period) {
    vendorId from to period
    totals { visitors conversionRate orders gmv { amount currency } averageOrderValue { amount } refundRate
      repurchaseRate platformRevenue { amount } takeRate }
    periods { date visitors orders gmv { amount } }
    series(metric: GMV) { date value }
    topProducts { id name orders quantity gmv { amount } }
    topCategories { id name gmv { amount } }
    trafficSources { source visitors }
    takeByStore { id name amount { amount } }
    csvUrl } }"""
DETAIL_QUERY = """query($slug: String!) { product(slug: $slug) { id name slug inStock
  vendor { id name slug } variants { id sku price { amount currency } } priceRange { start { amount } } } }"""
SEARCH_QUERY = """query { products(first: 20, filter: {search: "手机"}) { totalCount edges { node {
  id name slug priceRange { start { amount } } } } } }"""

# Storefront events, by share: mostly views.
_KINDS = [("product_view", 60), ("store_view", 10), ("search", 15), ("add_to_cart", 10), ("checkout_started", 3),
          ("order_placed", 2)]
_SOURCES = ["direct"] * 5 + ["baidu.com", "weixin", "douyin", "google.com", "newsletter"]
_TERMS = ["手机", "耳机", "连衣裙", "茶叶", "键盘", "不存在的商品", "zzz-nothing"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders to generate (default 1,000,000)")
    parser.add_argument("--stores", type=int, default=100, help="stores (default 100)")
    parser.add_argument("--listings", type=int, default=2000, help="listings (default 2000)")
    parser.add_argument("--days", type=int, default=400, help="orders and events over the last DAYS days (400)")
    parser.add_argument("--events", type=int, default=200_000, help="storefront events to generate (200,000)")
    parser.add_argument("--repeat", type=int, default=30, help="calls per figures scenario (30)")
    parser.add_argument("--event-calls", type=int, default=20_000, help="recorder calls per buffer (20,000)")
    parser.add_argument("--requests", type=int, default=200, help="storefront requests per variant (200)")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis buffer even if Redis answers")
    parser.add_argument("--name", default="analytics", help="the database: bench_<name>")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the benchmark database")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args()


def _bar(total: int, desc: str, unit: str, progress: bool):
    return data._bar(total, desc, unit, progress)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


# --- Data ---


def seed_events(count: int, days: int, *, progress: bool) -> int:
    """`count` events over the last `days` days, as the recorder's flush writes them (bulk insert)."""
    from django.db import transaction
    from django.utils import timezone

    from backend.analytics.models import Event
    from backend.catalog.models import ListingStatus, Product

    if count <= 0 or Event.objects.exists():
        return 0
    listings = list(
        Product.objects.filter(status=ListingStatus.PUBLISHED).values_list("pk", "vendor_id", "category_id")
    )
    rng = random.Random(11)
    kinds = [kind for kind, share in _KINDS for _ in range(share)]
    visitors = max(count // 8, 1)
    now = timezone.now()
    bar = _bar(count, "events", "event", progress)
    for start in range(0, count, data.BATCH):
        size = min(data.BATCH, count - start)
        rows = []
        for _ in range(size):
            kind = rng.choice(kinds)
            product_id, vendor_id, category_id = rng.choice(listings)
            source = rng.choice(_SOURCES)
            event = Event(
                event_id=uuid.UUID(int=rng.getrandbits(128)),
                kind=kind,
                occurred_at=now - timedelta(days=rng.uniform(0, days)),
                visitor_id=f"bench-visitor-{rng.randrange(visitors)}",
                source=source,
                utm_source="" if "." in source or source == "direct" else source,
            )
            if kind in ("product_view", "add_to_cart"):
                event.product_id, event.vendor_id, event.category_id = product_id, vendor_id, category_id
            elif kind in ("store_view", "order_placed"):
                event.vendor_id = vendor_id
            elif kind == "search":
                event.search_term = rng.choice(_TERMS)
                event.search_results = 0 if event.search_term in _TERMS[-2:] else rng.randint(1, 200)
            if kind in ("add_to_cart", "checkout_started", "order_placed"):
                event.checkout_token = uuid.UUID(int=rng.getrandbits(128) % 5000 + 1)
            rows.append(event)
        with transaction.atomic():
            Event.objects.bulk_create(rows, batch_size=data.BATCH)
        bar.update(size)
    bar.close()
    return count


# --- Aggregation ---


def aggregate(days: int, *, progress: bool) -> dict:
    from django.utils import timezone

    from backend.analytics import aggregation, rollups
    from backend.analytics.models import DailyMetrics, PeriodMetrics

    today = timezone.localdate()
    past = [today - timedelta(days=n) for n in range(days + 1, 0, -1)]
    result = {}
    if DailyMetrics.objects.filter(day__lt=today).exists():
        result["backfill_s"] = None  # a kept database: already aggregated
    else:
        bar = _bar(len(past), "aggregation (days)", "day", progress)
        started = time.perf_counter()
        per_day = []
        for day in past:
            mark = time.perf_counter()
            aggregation.aggregate_day(day, rollups=False)  # the weeks and months once, below
            per_day.append(time.perf_counter() - mark)
            bar.update(1)
        bar.close()
        result["backfill_s"] = time.perf_counter() - started
        result["backfill_days"] = len(past)
        result["day_median_s"] = statistics.median(per_day)
        result["day_max_s"] = max(per_day)
    # Every week and month rolled up again from the stored days (also what the migration that added
    # rollups does, and a kept database made before them needs).
    started = time.perf_counter()
    result["rollup_rows"] = rollups.rebuild_all()
    result["rollups_s"] = time.perf_counter() - started
    started = time.perf_counter()
    result["rollup_day_rows"] = rollups.rebuild_for_days([today - timedelta(days=1)])
    result["rollup_day_s"] = time.perf_counter() - started
    started = time.perf_counter()
    result["periodic_rows"] = aggregation.aggregate_recent()
    result["periodic_s"] = time.perf_counter() - started
    started = time.perf_counter()
    aggregation.compute_day(today)
    result["live_today_s"] = time.perf_counter() - started
    result["rows"] = DailyMetrics.objects.count()
    result["rollups"] = PeriodMetrics.objects.count()
    return result


# --- The figures ---


def figures_scenarios(store_id: int):
    """(name, callable) of every figures read the bench times."""
    from django.test import Client
    from django.utils import timezone
    from graphql_relay import to_global_id

    from backend.accounts.jwt import create_access_token
    from backend.accounts.models import User
    from backend.analytics import selectors

    staff = User.objects.filter(email="analytics@staff.bench").first() or User.objects.create_user(
        "analytics@staff.bench", None, is_staff=True, is_superuser=True
    )
    today = timezone.localdate()
    client = Client()
    token = create_access_token(staff)
    found = []
    for scope, vendor_id in (("store", store_id), ("platform", None)):
        for span in (30, 365):
            for period in ("day", "week", "month"):
                def call(vendor_id=vendor_id, span=span, period=period):
                    return selectors.analytics_report(
                        user=staff, vendor_id=vendor_id, date_from=today - timedelta(days=span - 1), date_to=today,
                        period=period,
                    )
                found.append((f"{scope} {span}d by {period}", call))
        for span in (30, 365):
            def csv(vendor_id=vendor_id, span=span):
                report = selectors.analytics_report(
                    user=staff, vendor_id=vendor_id, date_from=today - timedelta(days=span - 1), date_to=today,
                    period="day",
                )
                return selectors.report_csv(report)
            found.append((f"{scope} {span}d CSV (report_csv)", csv))
        link = selectors.report_link_token(
            user=staff, vendor_id=vendor_id, date_from=today - timedelta(days=364), date_to=today, period="day"
        )

        def download(link=link):
            response = client.get(f"/analytics/reports/{link}.csv")
            assert response.status_code == 200, response.status_code
            return response

        found.append((f"{scope} 365d CSV download view", download))
        variables = {
            "vendor": to_global_id("Vendor", vendor_id) if vendor_id else None,
            "from": (today - timedelta(days=364)).isoformat(), "to": today.isoformat(), "period": "MONTH",
        }
        body = json.dumps({"query": CORE_QUERY, "variables": variables})

        def graphql(body=body):
            response = client.post("/graphql/", body, content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {token}")
            answer = response.json()
            assert response.status_code == 200 and "errors" not in answer and answer["data"]["analytics"], answer
            return answer

        found.append((f"{scope} 365d by month, core GraphQL query", graphql))
    return found


def time_figures(store_id: int, repeat: int, *, progress: bool) -> list[dict]:
    from django.db import connection

    scenarios = figures_scenarios(store_id)
    results = []
    bar = _bar(len(scenarios) * repeat, "figures", "call", progress)
    for name, call in scenarios:
        call()  # warm: today's live figures land in the cache, as after the first reader
        # Counted by a wrapper, not the query log: a request through the test client may reconnect.
        queries = []
        with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
            call()
        timings, cpu = [], []
        for _ in range(repeat):
            started, process = time.perf_counter(), time.process_time()
            call()
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - process) * 1000)
            bar.update(1)
        results.append({
            "scenario": name, "queries": len(queries), "median_ms": statistics.median(timings),
            "p95_ms": percentile(timings, 0.95), "cpu_median_ms": statistics.median(cpu),
        })
    bar.close()
    return results


# --- Recording ---


def _storefront_request():
    from django.test import RequestFactory

    return RequestFactory().post(
        "/storefront/graphql/", HTTP_X_VISITOR_ID="bench-visitor-recording",
        HTTP_X_PAGE_URL="https://shop.example/p/x?utm_source=newsletter&utm_campaign=bench",
        HTTP_REFERER="https://www.baidu.com/s?wd=x",
    )


def time_recorder(calls: int, slug: str, *, redis_buffer: bool, progress: bool) -> list[dict]:
    """The storefront's call (hooks.product_viewed inside a visit) per event, per buffer."""
    from django.contrib.auth.models import AnonymousUser
    from django.test import override_settings

    from backend.analytics import hooks, recorder

    buffers = [("memory (embedded default)", {"ANALYTICS_BUFFER_URL": "memory"})]
    try:
        if not redis_buffer:
            raise LookupError("--no-redis")
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
        buffers.append(("Redis list on 127.0.0.1", {
            "ANALYTICS_BUFFER_URL": "redis://127.0.0.1:6379/0", "ANALYTICS_BUFFER_KEY": f"bench:analytics:{os.getpid()}",
        }))
    except Exception:
        pass
    results = []
    for name, overrides in buffers:
        with override_settings(**overrides):
            buffer = recorder.get_buffer()
            buffer.clear()
            timings = []
            bar = _bar(calls, f"record ({name.split()[0]})", "event", progress)
            for n in range(calls):
                request = _storefront_request()  # a new request: its visit is worked out once, in the first call
                request.user = AnonymousUser()
                with recorder.visit(request):
                    started = time.perf_counter()
                    hooks.product_viewed(slug)
                    timings.append((time.perf_counter() - started) * 1000)
                bar.update(1)
            bar.close()
            recorder.flush()
            if hasattr(buffer, "client"):
                buffer.clear()
        results.append({
            "buffer": name, "events": calls, "median_ms": statistics.median(timings),
            "mean_ms": statistics.fmean(timings), "p95_ms": percentile(timings, 0.95),
            "p99_ms": percentile(timings, 0.99), "max_ms": max(timings),
        })
    return results


def time_storefront(requests: int, slug: str, *, progress: bool) -> list[dict]:
    """Storefront queries with recording on and off, interleaved in blocks of ten requests."""
    from django.test import Client, override_settings

    from backend.analytics import recorder
    from backend.analytics.models import Event

    client = Client()
    results = []
    for name, query, variables in (
        ("product(slug) detail", DETAIL_QUERY, {"slug": slug}),
        ("products search", SEARCH_QUERY, {}),
    ):
        body = json.dumps({"query": query, "variables": variables})

        def call():
            response = client.post("/storefront/graphql/", body, content_type="application/json",
                                   HTTP_X_VISITOR_ID="bench-visitor-storefront")
            answer = response.json()
            assert response.status_code == 200 and "errors" not in answer, answer
        timings = {True: [], False: []}
        recorder.flush()
        before = Event.objects.count()
        for enabled in (True, False):
            with override_settings(ANALYTICS_ENABLED=enabled):
                for _ in range(10):
                    call()
        recorder.flush()
        warm = Event.objects.count() - before
        bar = _bar(2 * requests, f"storefront {name.split()[0]}", "request", progress)
        for block in range(0, requests, 10):
            for enabled in (True, False):
                with override_settings(ANALYTICS_ENABLED=enabled):
                    for _ in range(min(10, requests - block)):
                        started = time.perf_counter()
                        call()
                        timings[enabled].append((time.perf_counter() - started) * 1000)
                        bar.update(1)
        bar.close()
        with_, without = statistics.median(timings[True]), statistics.median(timings[False])
        results.append({
            "query": name, "requests": requests, "events_per_request": warm / 10,
            "with_median_ms": with_, "without_median_ms": without, "difference_ms": with_ - without,
            "with_mean_ms": statistics.fmean(timings[True]), "without_mean_ms": statistics.fmean(timings[False]),
        })
    recorder.flush()
    return results


# --- Main ---


def main() -> None:
    args = parse_args()
    data.configure_environment()
    import django

    django.setup()
    from django.db import connection

    original = connection.settings_dict["NAME"]
    url = data.use_own_database(args.name, keep=args.keep)
    try:
        run(args, url)
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(original, verbosity=0)


def run(args, url: str) -> None:
    from django.db import connection
    from django.db.models import Count

    from backend.analytics.models import Event
    from backend.catalog.selectors import storefront_products
    from backend.orders.models import Order

    progress = not args.no_progress
    sizes = data.Sizes(
        vendors=args.stores, suspended=0, listings=args.listings, variants_per_listing=1, orders=args.orders,
        days=args.days,
    )
    timings = {}
    started = time.perf_counter()
    data.seed_listings(sizes, progress=progress)
    timings["stores and listings"] = time.perf_counter() - started
    mark = time.perf_counter()
    data.seed_orders(sizes, progress=progress)
    timings["shoppers and orders"] = time.perf_counter() - mark
    mark = time.perf_counter()
    seed_events(args.events, args.days, progress=progress)
    timings["events"] = time.perf_counter() - mark
    mark = time.perf_counter()
    data.analyze()
    timings["planner statistics"] = time.perf_counter() - mark

    aggregation = aggregate(args.days, progress=progress)
    data.analyze()
    store_id = (
        Order.objects.values("vendor_id").annotate(n=Count("id")).order_by("-n", "vendor_id")
        .values_list("vendor_id", flat=True).first()
    )
    figures = time_figures(store_id, args.repeat, progress=progress)
    slug = storefront_products().order_by("pk").values_list("slug", flat=True).first()
    recording = time_recorder(args.event_calls, slug, redis_buffer=not args.no_redis, progress=progress)
    storefront = time_storefront(args.requests, slug, progress=progress)

    database = connection.vendor + ("" if connection.vendor == "sqlite" else f" {connection.pg_version // 10000}")
    orders, events = Order.objects.count(), Event.objects.count()
    print()
    print(f"Database: {database} ({url.split('@')[-1]}); {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"Rows: {orders:,} orders over {args.days} days, {args.stores} stores, {events:,} events, "
          f"{aggregation['rows']:,} daily figures rows, "
          f"{aggregation['rollups']:,} weekly and monthly rollups")
    print("\n| data step | seconds |\n| --- | ---: |")
    for step, seconds in timings.items():
        print(f"| {step} | {seconds:.1f} |")
    print("\n| aggregation | seconds |\n| --- | ---: |")
    if aggregation["backfill_s"] is not None:
        print(f"| backfill: aggregate_day for {aggregation['backfill_days']} past days | {aggregation['backfill_s']:.1f} |")
        print(f"| one day, median / slowest | {aggregation['day_median_s']:.3f} / {aggregation['day_max_s']:.3f} |")
    print(f"| weekly and monthly rollups of every stored day ({aggregation['rollup_rows']:,} rows) | "
          f"{aggregation['rollups_s']:.1f} |")
    print(f"| rollups of one recomputed day: its week and month ({aggregation['rollup_day_rows']} rows) | "
          f"{aggregation['rollup_day_s']:.2f} |")
    print(f"| periodic analytics.aggregate_days ({aggregation['periodic_rows']} rows, their rollups included) | "
          f"{aggregation['periodic_s']:.2f} |")
    print(f"| today's live figures (compute_day, cache cold) | {aggregation['live_today_s']:.3f} |")
    print("\n| figures | SQL queries | median ms | p95 ms | CPU ms (median) |\n| --- | ---: | ---: | ---: | ---: |")
    for row in figures:
        print(f"| {row['scenario']} | {row['queries']} | {row['median_ms']:.1f} | {row['p95_ms']:.1f} | "
              f"{row['cpu_median_ms']:.1f} |")
    print("\n| recording one event | events | median ms | mean ms | p95 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in recording:
        print(f"| {row['buffer']} | {row['events']:,} | {row['median_ms']:.4f} | {row['mean_ms']:.4f} | "
              f"{row['p95_ms']:.4f} | {row['p99_ms']:.4f} | {row['max_ms']:.2f} |")
    print("\n| storefront query | events / request | requests | median ms recording | median ms not recording "
          "| difference ms | mean ms recording | mean ms not recording |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in storefront:
        print(f"| {row['query']} | {row['events_per_request']:g} | {row['requests']} | {row['with_median_ms']:.2f} | "
              f"{row['without_median_ms']:.2f} | {row['difference_ms']:+.2f} | {row['with_mean_ms']:.2f} | "
              f"{row['without_mean_ms']:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "database": database, "orders": orders, "events": events, "data": timings, "aggregation": aggregation,
            "figures": figures, "recording": recording, "storefront": storefront,
        }, indent=2, default=str))


if __name__ == "__main__":
    main()
