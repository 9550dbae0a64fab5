"""Search benchmark: latency of search, facets and suggestions on the database backend, and reindex rates.

Seeds N listings with the storefront benchmark's data tool (bench/storefront_bench.py:
20 stores of which 2 suspended, 10% waiting for review, brands and category
attributes as in the demo data) into a database of its own, then times, in
process through Django's test client:

  search          products(first: 20, filter: {search: "手机"})
  facets          productFacets with no filter (every published listing)
  facets_search   productFacets(filter: {search: "手机"})
  facets_narrow   productFacets with a search, a category and a brand selected
  suggest         searchSuggestions(prefix: "华")

and the rebuild rates: `manage.py search_index` of the database index, and the
Elasticsearch documents built and bulk-sent to a loopback stand-in of
Elasticsearch (tests/search/fake_elasticsearch.py: this measures this side only,
building documents and the bulk requests, not a real node's indexing).

    .venv/bin/python bench/search_bench.py --products 100000
    DATABASE_URL=postgres://marketplace:marketplace@127.0.0.1:5432/marketplace \\
        .venv/bin/python bench/search_bench.py --products 100000

Uses the same own database as storefront_bench (created at the start, dropped at the
end unless --keep). Never part of the test run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import storefront_bench  # noqa: E402

from bench import data  # noqa: E402

SEARCH = 'query { products(first: 20, filter: {search: "手机"}) { totalCount edges { node { id name slug } } } }'
FACETS = """query($filter: ProductFilterInput) { productFacets(filter: $filter) {
  totalCount categories { id name count children { id name count } }
  vendors { value label count } brands { value count } attributes { slug values { value count } }
  priceRanges { gte lt count } inStock ratings { gte count } } }"""
SUGGEST = 'query { searchSuggestions(prefix: "华", first: 8) { text kind slug } }'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000, help="Listings to seed (default 100000).")
    parser.add_argument("--requests", type=int, default=20, help="Timed requests per scenario.")
    parser.add_argument("--keep", action="store_true", help="Keep (and reuse) the benchmark database.")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--name", default="storefront",
        help="the database: bench_<name> (make_data.py's full size: --name large with its --keep)",
    )
    parser.add_argument("--no-rebuild", action="store_true", help="skip the rebuild rates")
    return parser.parse_args()


def narrow_filter() -> dict:
    from django.db.models import Count
    from django.db.models.fields.json import KeyTextTransform

    from backend.catalog.selectors import storefront_products

    from backend.search import get_search_backend

    row = (
        get_search_backend()
        .filter_queryset(storefront_products(), "手机")
        .annotate(brand=KeyTextTransform("brand", "attributes"))
        .exclude(brand__isnull=True)
        .values("category_id", "brand")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return {"search": "手机", "category": f"Category:{row['category_id']}", "brands": [row["brand"]]} if row else {}


def measure(requests: int) -> dict[str, dict]:
    from base64 import b64encode

    from django.db import connection
    from django.test import Client

    narrow = narrow_filter()
    if narrow:
        narrow["category"] = b64encode(narrow["category"].encode()).decode()
    scenarios = [
        ("search", SEARCH, {}),
        ("facets", FACETS, {"filter": {}}),
        ("facets_search", FACETS, {"filter": {"search": "手机"}}),
        ("facets_narrow", FACETS, {"filter": narrow}),
        ("suggest", SUGGEST, {}),
    ]
    client = Client()
    results = {}
    for name, query, variables in scenarios:
        payload = json.dumps({"query": query, "variables": variables}).encode()

        def call():
            response = client.post("/storefront/graphql/", payload, content_type="application/json")
            data = response.json()
            assert response.status_code == 200 and "errors" not in data, data
            return data

        call()
        executed = []

        def count(execute, sql, params, many, context):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            data = call()
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            call()
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        results[name] = {
            "queries": len(executed),
            "p50": statistics.median(timings),
            "p95": timings[min(len(timings) - 1, int(len(timings) * 0.95))],
            "total": (data["data"].get("productFacets") or data["data"].get("products") or {}).get("totalCount", ""),
        }
    return results


def reindex_rates() -> dict[str, float]:
    from django.core.management import call_command
    from django.test.utils import override_settings

    from backend.catalog.models import Product
    from backend.catalog.selectors import storefront_products
    from backend.search import get_search_backend
    from tests.search.fake_elasticsearch import FakeElasticsearch

    rates = {}
    total = Product.objects.count()
    started = time.perf_counter()
    call_command("search_index", "--no-progress", stdout=StringIO())
    rates["database index (every listing)"] = total / (time.perf_counter() - started)

    fake = FakeElasticsearch()
    try:
        with override_settings(
            ELASTICSEARCH_URL=fake.url,
            SEARCH_BACKEND="backend.search.backends.elasticsearch.ElasticsearchBackend",
            ELASTICSEARCH_TIMEOUT=30,
        ):
            backend = get_search_backend()
            backend.reset()
            visible = list(storefront_products().order_by("pk").values_list("pk", flat=True))
            started = time.perf_counter()
            backend.rebuild(visible[start : start + 500] for start in range(0, len(visible), 500))
            rates["Elasticsearch documents built and bulk-sent (loopback stand-in)"] = len(visible) / (
                time.perf_counter() - started
            )
    finally:
        fake.close()
    return rates


def main() -> None:
    args = parse_args()
    data.configure_environment()
    import django

    django.setup()
    from django.db import connection

    original_name = connection.settings_dict["NAME"]
    url = data.use_own_database(args.name, keep=args.keep)
    try:
        storefront_bench.seed(args.products, reseed=args.reseed, progress=not args.no_progress)
        from backend.catalog.selectors import storefront_products

        visible = storefront_products().count()
        results = measure(args.requests)
        rates = {} if args.no_rebuild else reindex_rates()
        database = connection.vendor + ("" if connection.vendor == "sqlite" else f" {connection.pg_version // 10000}")
        print()
        print(f"Database: {database} ({url.split('@')[-1]}); listings: {args.products} seeded, {visible} on the storefront")
        print("| scenario | matches | SQL queries / request | p50 ms | p95 ms |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, values in results.items():
            print(f"| {name} | {values['total']} | {values['queries']} | {values['p50']:.0f} | {values['p95']:.0f} |")
        if rates:
            print()
            print("| rebuild | listings per second |")
            print("| --- | ---: |")
            for name, rate in rates.items():
                print(f"| {name} | {rate:.0f} |")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(original_name, verbosity=0)


if __name__ == "__main__":
    main()
