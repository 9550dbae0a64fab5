"""Generate a large marketplace into a database of its own, with progress bars and timings.

    .venv/bin/python bench/make_data.py                      # 1,000 stores, 100,000 listings,
                                                             # 300,000 variants, 1,000,000 orders
    .venv/bin/python bench/make_data.py --listings 20000 --orders 100000 --keep
    DATABASE_URL=postgres://marketplace:marketplace@127.0.0.1:5432/marketplace .venv/bin/python bench/make_data.py

The database is `bench_large` beside the configured one (SQLite: bench/results/large.sqlite3),
created and migrated first; with --keep it stays for the benchmarks (storefront_bench.py
--database large) and a later run adds only what is missing. See bench/data.py for what the
rows hold.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vendors", type=int, default=1000)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=3, help="variants per listing")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=0, help="of the orders, shipped ones due for release")
    parser.add_argument("--name", default="large", help="the database: bench_<name>")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    data.configure_environment()
    import django

    django.setup()
    from django.db import connection

    from backend.catalog.models import Product, ProductVariant
    from backend.finance.ledger import ledger_problems
    from backend.orders.models import Order, OrderLine
    from backend.vendors.models import Vendor

    original = connection.settings_dict["NAME"]
    url = data.use_own_database(args.name, keep=args.keep)
    sizes = data.Sizes(
        vendors=args.vendors, suspended=max(args.vendors // 10, 0), listings=args.listings,
        variants_per_listing=args.variants, orders=args.orders, due=args.due,
    )
    try:
        timings = {}
        started = time.perf_counter()
        data.seed_listings(sizes, progress=not args.no_progress)
        timings["stores, listings, variants, images, search index"] = time.perf_counter() - started
        mark = time.perf_counter()
        data.seed_orders(sizes, progress=not args.no_progress)
        timings["shoppers and orders (with their lines and escrow)"] = time.perf_counter() - mark
        mark = time.perf_counter()
        data.analyze()
        timings["planner statistics"] = time.perf_counter() - mark
        total = time.perf_counter() - started
        problems = ledger_problems()
        print(f"\nDatabase: {connection.vendor} ({url.split('@')[-1]})")
        print(
            f"Rows: {Vendor.objects.count():,} stores, {Product.objects.count():,} listings, "
            f"{ProductVariant.objects.count():,} variants, {Order.objects.count():,} orders, "
            f"{OrderLine.objects.count():,} order lines; ledger problems: {len(problems)}"
        )
        print("| step | seconds |\n| --- | ---: |")
        for step, seconds in timings.items():
            print(f"| {step} | {seconds:.1f} |")
        print(f"| total | {total:.1f} |")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
